import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import * as crypto from 'crypto';
import { AddressInfo } from 'net';
import { CIFAR10_CLASSES, loadCifar10Binary } from '../lib/data/cifar10';
import { clearCifar10Memo, loadCifar10, loadImageFolder, sharedCifar10Tarball } from '../lib/data/cifar10-load';
import { classOrder } from '../lib/data/imagefolder';
import { downloadCifar10 } from '../lib/data/download';
import { CIFAR10_MEAN, CIFAR10_STD, channelStats } from '../lib/data/stats';
import { encodePng, makeTarGz, tmpDir } from './data-helpers';

/** Pixel byte of image i, channel c, row y, column x in the fixtures: an independent formula. */
const px = (i: number, c: number, y: number, x: number): number => (i * 7 + c * 50 + y * 3 + x * 5) % 256;

/** One official-format record per image: label byte, then R, G, B planes of 32x32, row-major. */
function cifarBatch(first: number, n: number): Buffer {
  const buf = Buffer.alloc(n * 3073);
  for (let k = 0; k < n; k++) {
    const i = first + k;
    const r = k * 3073;
    buf[r] = i % 10;
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) buf[r + 1 + c * 1024 + y * 32 + x] = px(i, c, y, x);
  }
  return buf;
}

/** Files of a tiny official release: 2 records per training batch, 3 in the test batch. */
function officialFiles(): { name: string; data: Buffer }[] {
  const files = [1, 2, 3, 4, 5].map((b) => ({ name: `data_batch_${b}.bin`, data: cifarBatch((b - 1) * 2, 2) }));
  files.push({ name: 'test_batch.bin', data: cifarBatch(100, 3) });
  files.push({ name: 'batches.meta.txt', data: Buffer.from(CIFAR10_CLASSES.join('\n') + '\n') });
  return files;
}

function writeOfficialDir(): string {
  const dir = path.join(tmpDir('cifarbin'), 'cifar-10-batches-bin');
  fs.mkdirSync(dir);
  for (const f of officialFiles()) fs.writeFileSync(path.join(dir, f.name), f.data);
  return dir;
}

const savedEnv = process.env.SPLITZ_CIFAR10;
beforeAll(() => {
  delete process.env.SPLITZ_CIFAR10;
});
afterAll(() => {
  if (savedEnv !== undefined) process.env.SPLITZ_CIFAR10 = savedEnv;
});

describe('official CIFAR-10 binary format', () => {
  test('CHW records become channels-last floats with the right labels', async () => {
    const dir = writeOfficialDir();
    const train = await loadCifar10Binary(dir, 'train');
    const test = await loadCifar10Binary(path.dirname(dir), 'test'); // parent dir holding cifar-10-batches-bin/
    expect(train.name).toBe('cifar10');
    expect(train.n).toBe(10);
    expect(test.n).toBe(3);
    expect(train.shape).toEqual([32, 32, 3]);
    expect(train.classes).toEqual(CIFAR10_CLASSES);
    expect(Array.from(train.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(test.labels)).toEqual([0, 1, 2]);
    for (const [i, c, y, x] of [[0, 0, 0, 0], [3, 1, 5, 17], [9, 2, 31, 31], [7, 2, 0, 31]]) {
      expect(train.images[i * 3072 + (y * 32 + x) * 3 + c]).toBe(Math.fround(px(i, c, y, x) / 255));
    }
    expect(test.images[2 * 3072 + (4 * 32 + 9) * 3 + 1]).toBe(Math.fround(px(102, 1, 4, 9) / 255));
  });

  test('a file whose size is not a multiple of 3073 is an error naming it and the layout', async () => {
    const dir = writeOfficialDir();
    fs.writeFileSync(path.join(dir, 'test_batch.bin'), cifarBatch(0, 2).subarray(0, 3073 + 3072));
    await expect(loadCifar10Binary(dir, 'test')).rejects.toThrow(/test_batch\.bin: 6145 bytes is not a positive multiple of 3073.*1 label byte/);
  });

  test('a label above 9 is an error naming the file', async () => {
    const dir = writeOfficialDir();
    const buf = cifarBatch(0, 2);
    buf[3073] = 10;
    fs.writeFileSync(path.join(dir, 'data_batch_3.bin'), buf);
    await expect(loadCifar10Binary(dir, 'train')).rejects.toThrow(/data_batch_3\.bin: record 1 has label 10/);
  });

  test('a missing batch file is an error naming it', async () => {
    const dir = writeOfficialDir();
    fs.rmSync(path.join(dir, 'data_batch_4.bin'));
    await expect(loadCifar10Binary(dir, 'train')).rejects.toThrow(/data_batch_4\.bin: missing/);
  });

  test('the official tar.gz loads identically to the directory, and the cache reloads it exactly', async () => {
    const dir = writeOfficialDir();
    const tgz = path.join(tmpDir('cifartgz'), 'cifar-10-binary.tar.gz');
    await makeTarGz(tgz, officialFiles().map((f) => ({ name: `cifar-10-batches-bin/${f.name}`, data: f.data })));
    const cacheDir = tmpDir('cache');
    for (const split of ['train', 'test'] as const) {
      const fromDir = await loadCifar10Binary(dir, split);
      const fromTar = await loadCifar10(split, { source: tgz, cacheDir });
      expect(fromTar.name).toBe('cifar10');
      expect(fromTar.n).toBe(fromDir.n);
      expect(Buffer.from(fromTar.images.buffer).equals(Buffer.from(fromDir.images.buffer))).toBe(true);
      expect(Array.from(fromTar.labels)).toEqual(Array.from(fromDir.labels));
      clearCifar10Memo();
      const cached = await loadCifar10(split, { source: tgz, cacheDir });
      expect(Buffer.from(cached.images.buffer).equals(Buffer.from(fromDir.images.buffer))).toBe(true);
    }
    expect(fs.readdirSync(path.join(cacheDir, 'datasets')).length).toBe(2);
  });
});

describe("loadCifar10 source 'auto'", () => {
  test('SPLITZ_CIFAR10 points it at another copy', async () => {
    const dir = writeOfficialDir();
    process.env.SPLITZ_CIFAR10 = dir;
    try {
      const ds = await loadCifar10('test', { cacheDir: tmpDir('envcache') });
      expect(ds.name).toBe('cifar10');
      expect(ds.source).toBe(dir);
      expect(ds.n).toBe(3);
      process.env.SPLITZ_CIFAR10 = path.join(dir, 'nowhere');
      await expect(loadCifar10('test', { cacheDir: tmpDir('envcache') })).rejects.toThrow(/SPLITZ_CIFAR10=.*nowhere does not exist/);
    } finally {
      delete process.env.SPLITZ_CIFAR10;
    }
  });
});

describe('image-folder trees', () => {
  const h = 4;
  const w = 5;
  const classes = ['zebra', 'apple', 'mango'];
  /** Per image its exact bytes, keyed by class and file. */
  function folderEntries(prefix: string): { name: string; data: Buffer; rgb: Uint8Array; cls: string; file: string }[] {
    const out = [];
    let seed = 1;
    for (const cls of classes) {
      // Files deliberately listed out of name order.
      for (const file of ['b.png', 'a.png', 'c10.png']) {
        const rgb = new Uint8Array(h * w * 3).map(() => (seed = (seed * 1103515245 + 12345) % 2147483648) % 256);
        out.push({ name: `${prefix}test/${cls}/${file}`, data: encodePng(rgb, h, w), rgb, cls, file });
      }
    }
    return out;
  }

  test('a PNG image-folder tar.gz (with a top-level folder) round-trips pixels exactly, classes sorted, files by name', async () => {
    const entries = folderEntries('top/');
    const tgz = path.join(tmpDir('folder'), 'tiny.tar.gz');
    await makeTarGz(tgz, entries);
    const ds = await loadImageFolder(tgz, 'test', { cache: false });
    expect(ds.classes).toEqual(['apple', 'mango', 'zebra']);
    expect(ds.shape).toEqual([h, w, 3]);
    expect(ds.n).toBe(9);
    const expected = [...entries].sort((a, b) => (a.cls + '/' + a.file < b.cls + '/' + b.file ? -1 : 1));
    expected.forEach((e, k) => {
      expect(ds.labels[k]).toBe(ds.classes.indexOf(e.cls));
      for (let j = 0; j < h * w * 3; j++) expect(ds.images[k * h * w * 3 + j]).toBe(Math.fround(e.rgb[j] / 255));
    });
    // The same tree as a directory loads identically.
    const root = tmpDir('folderdir');
    for (const e of folderEntries('')) {
      fs.mkdirSync(path.join(root, path.dirname(e.name)), { recursive: true });
      fs.writeFileSync(path.join(root, e.name), e.data);
    }
    const fromDir = await loadImageFolder(root, 'test', { cache: false });
    expect(Buffer.from(fromDir.images.buffer).equals(Buffer.from(ds.images.buffer))).toBe(true);
  });

  test('an image of the wrong size, or an undecodable one, is an error naming the entry', async () => {
    const entries = folderEntries('');
    entries.push({ name: 'test/apple/z.png', data: encodePng(new Uint8Array(3 * 3 * 3), 3, 3), rgb: new Uint8Array(0), cls: 'apple', file: 'z.png' });
    const tgz = path.join(tmpDir('badsize'), 'bad.tar.gz');
    await makeTarGz(tgz, entries);
    await expect(loadImageFolder(tgz, 'test', { cache: false })).rejects.toThrow(/test\/apple\/z\.png: image is 3x3 \(WxH\), expected 5x4/);
    const broken = folderEntries('');
    broken.push({ name: 'test/mango/x.jpg', data: Buffer.from('not a jpeg at all'), rgb: new Uint8Array(0), cls: 'mango', file: 'x.jpg' });
    const tgz2 = path.join(tmpDir('broken'), 'broken.tar.gz');
    await makeTarGz(tgz2, broken);
    await expect(loadImageFolder(tgz2, 'test', { cache: false })).rejects.toThrow(/test\/mango\/x\.jpg: could not decode JPEG/);
  });

  test('CIFAR-10 class names take the official label order, others are sorted', () => {
    expect(classOrder([...CIFAR10_CLASSES].reverse())).toEqual(CIFAR10_CLASSES);
    expect(classOrder(['dog', 'cat', 'bird'])).toEqual(['bird', 'cat', 'dog']);
  });
});

describe('downloadCifar10 against a local server', () => {
  let server: http.Server;
  let base = '';
  let body = Buffer.alloc(0);
  let hits = 0;
  beforeAll(async () => {
    const tgz = path.join(tmpDir('dl'), 'src.tar.gz');
    await makeTarGz(tgz, officialFiles().map((f) => ({ name: `cifar-10-batches-bin/${f.name}`, data: f.data })));
    body = fs.readFileSync(tgz);
    server = http.createServer((req, res) => {
      hits++;
      if (req.url !== '/cifar-10-binary.tar.gz') {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/gzip' });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test('downloads, checks md5, caches, and loadCifar10 auto finds it', async () => {
    const md5 = crypto.createHash('md5').update(body).digest('hex');
    const cacheDir = tmpDir('dlcache');
    const url = `${base}/cifar-10-binary.tar.gz`;
    const before = hits;
    const file = await downloadCifar10(cacheDir, { url, md5, progress: false });
    expect(file).toBe(path.join(cacheDir, 'cifar-10-binary.tar.gz'));
    expect(fs.readFileSync(file).equals(body)).toBe(true);
    expect(fs.readdirSync(cacheDir)).toEqual(['cifar-10-binary.tar.gz']); // no temp file left
    await downloadCifar10(cacheDir, { url, md5, progress: false });
    expect(hits - before).toBe(1); // second call used the cached file
    const ds = await loadCifar10('test', { source: 'auto', cacheDir });
    expect(ds.name).toBe('cifar10');
    expect(Array.from(ds.labels)).toEqual([0, 1, 2]);
  });

  test('a checksum mismatch is an error and leaves nothing behind', async () => {
    const cacheDir = tmpDir('dlbad');
    await expect(
      downloadCifar10(cacheDir, { url: `${base}/cifar-10-binary.tar.gz`, md5: '0'.repeat(32), progress: false }),
    ).rejects.toThrow(/md5 [0-9a-f]{32} does not match the expected 0{32}/);
    expect(fs.readdirSync(cacheDir)).toEqual([]);
  });

  test('an HTTP error is reported with the status', async () => {
    await expect(downloadCifar10(tmpDir('dl404'), { url: `${base}/nope`, progress: false })).rejects.toThrow(/HTTP 404/);
  });
});

describe('the shared CIFAR-10 JPEG re-encoding', () => {
  const tarball = sharedCifar10Tarball();
  const run = fs.existsSync(tarball) ? test : test.skip;
  run('test split: 10000 images, 1000 per class, statistics near the official ones', async () => {
    const t0 = Date.now();
    const ds = await loadCifar10('test', { source: tarball });
    const t1 = Date.now();
    clearCifar10Memo();
    const again = await loadCifar10('test', { source: tarball });
    const t2 = Date.now();
    console.log(`CIFAR-10 JPEG test split: first load ${t1 - t0} ms (decoded unless cached), cached reload ${t2 - t1} ms`);
    expect(ds.name).toBe('cifar10-jpeg');
    expect(ds.n).toBe(10000);
    expect(ds.shape).toEqual([32, 32, 3]);
    expect(ds.classes).toEqual(CIFAR10_CLASSES);
    const hist = new Array(10).fill(0);
    for (const l of ds.labels) hist[l]++;
    expect(hist).toEqual(new Array(10).fill(1000));
    expect(Buffer.from(again.images.buffer).equals(Buffer.from(ds.images.buffer))).toBe(true);
    // Test-set statistics are close to the training-set constants (JPEG and split shift them slightly).
    const s = channelStats(ds);
    for (let c = 0; c < 3; c++) {
      expect(Math.abs(s.mean[c] - CIFAR10_MEAN[c])).toBeLessThan(0.01);
      expect(Math.abs(s.std[c] - CIFAR10_STD[c])).toBeLessThan(0.01);
    }
  });
});
