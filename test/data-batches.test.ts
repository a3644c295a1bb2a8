import { initBackend, tf } from '../lib/backend';
import { cropFlip, drawCropFlip, randomCropFlip } from '../lib/data/augment';
import { batches, everyKth, numBatches, subset } from '../lib/data/batches';
import { ImageDataset } from '../lib/data/types';
import seedrandom from 'seedrandom';

beforeAll(async () => {
  await initBackend({ force: 'cpu' });
});

/** A dataset whose pixel values encode (image, y, x, channel), so any misplacement shows. */
function synthetic(n: number, h = 6, w = 5, c = 3): ImageDataset {
  const d = h * w * c;
  const images = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) {
    images[i * d + (y * w + x) * c + ch] = (i * 1000 + y * 100 + x * 10 + ch + 1) / 1e5;
  }
  return { name: 'synthetic', images, labels: Uint8Array.from({ length: n }, (_, i) => i % 7), n, shape: [h, w, c], classes: ['0', '1', '2', '3', '4', '5', '6'] };
}
const at = (ds: ImageDataset, i: number, y: number, x: number, ch: number): number => {
  const [, w, c] = ds.shape;
  return ds.images[i * ds.shape[0] * w * c + (y * w + x) * c + ch];
};

describe('crop + flip augmentation', () => {
  const ds = synthetic(4, 32, 32, 3);
  const shape = ds.shape;

  test('forced flip twice is the identity; one flip mirrors columns', () => {
    const zeros = new Int8Array(4);
    const flip = { dy: zeros, dx: zeros, flip: new Uint8Array(4).fill(1) };
    const once = cropFlip(ds.images, 4, shape, flip);
    expect(once[(5 * 32 + 0) * 3 + 2]).toBe(at(ds, 0, 5, 31, 2));
    expect(Array.from(cropFlip(once, 4, shape, flip))).toEqual(Array.from(ds.images));
    // Drawn with flipProb 1 (forced), still zero shifts: the same check through the random path.
    const forced = randomCropFlip(ds.images, 4, shape, 1, { pad: 0, flipProb: 1 });
    expect(Array.from(forced.images)).toEqual(Array.from(once));
  });

  test('a shift moves pixels and fills the padding with zeros', () => {
    const p = { dy: Int8Array.from([2, -4, 0, 4]), dx: Int8Array.from([-3, 4, 0, 0]), flip: new Uint8Array(4) };
    const out = cropFlip(ds.images, 4, shape, p);
    const o = (i: number, y: number, x: number, ch: number) => out[i * 3072 + (y * 32 + x) * 3 + ch];
    // out(y, x) = in(y + dy, x + dx), zero where that falls in the padding.
    expect(o(0, 10, 10, 1)).toBe(at(ds, 0, 12, 7, 1));
    expect(o(0, 30, 10, 1)).toBe(0);
    expect(o(0, 10, 2, 1)).toBe(0);
    expect(o(1, 4, 27, 0)).toBe(at(ds, 1, 0, 31, 0));
    expect(o(1, 3, 5, 0)).toBe(0);
    expect(o(2, 17, 19, 2)).toBe(at(ds, 2, 17, 19, 2));
    expect(o(3, 27, 0, 0)).toBe(at(ds, 3, 31, 0, 0));
    expect(o(3, 28, 0, 0)).toBe(0);
  });

  test('offsets stay within [-4, 4], cover it, and flips are about half', () => {
    const p = drawCropFlip(20000, seedrandom('range'));
    const seen = new Set<number>([...p.dy, ...p.dx]);
    expect(Math.min(...seen)).toBe(-4);
    expect(Math.max(...seen)).toBe(4);
    expect(seen.size).toBe(9);
    const flips = p.flip.reduce((a, b) => a + b, 0);
    // Binomial(20000, 1/2): sd 71, so 10000 +- 400 fails with negligible probability.
    expect(Math.abs(flips - 10000)).toBeLessThan(400);
  });

  test('same seed gives the same batch, another seed a different one', () => {
    const a = randomCropFlip(ds.images, 4, shape, 42).images;
    const b = randomCropFlip(ds.images, 4, shape, 42).images;
    const c = randomCropFlip(ds.images, 4, shape, 43).images;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });
});

describe('batches', () => {
  test('unshuffled batches cover the dataset in order, with the right pixels and labels', () => {
    const ds = synthetic(10);
    const seen: number[] = [];
    let count = 0;
    for (const b of batches(ds, { batchSize: 4 })) {
      count++;
      expect(b.x.shape).toEqual([b.indices.length, 6, 5, 3]);
      expect(b.y.dtype).toBe('int32');
      const x = b.x.dataSync();
      const y = b.y.dataSync();
      b.indices.forEach((i, k) => {
        expect(y[k]).toBe(ds.labels[i]);
        expect(x[k * 90 + (2 * 5 + 3) * 3 + 1]).toBe(at(ds, i, 2, 3, 1));
      });
      seen.push(...b.indices);
      tf.dispose([b.x, b.y]);
    }
    expect(count).toBe(numBatches(10, 4));
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('shuffling is a permutation, deterministic by seed; dropLast and indices are honoured', () => {
    const ds = synthetic(23);
    const order = (seed: number) => {
      const out: number[] = [];
      for (const b of batches(ds, { batchSize: 5, shuffle: true, seed })) {
        out.push(...b.indices);
        tf.dispose([b.x, b.y]);
      }
      return out;
    };
    const a = order(7);
    expect([...a].sort((p, q) => p - q)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(order(7)).toEqual(a);
    expect(order(8)).not.toEqual(a);
    const sizes: number[] = [];
    for (const b of batches(ds, { batchSize: 5, dropLast: true, indices: [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8] })) {
      sizes.push(b.indices.length);
      if (sizes.length === 1) expect(Array.from(b.indices)).toEqual([3, 1, 4, 1, 5]);
      tf.dispose([b.x, b.y]);
    }
    expect(sizes).toEqual([5, 5]);
  });

  test('augmented batches are deterministic by seed and leave the dataset untouched', () => {
    const ds = synthetic(8, 32, 32, 3);
    const copy = Float32Array.from(ds.images);
    const run = () => {
      const xs: number[][] = [];
      for (const b of batches(ds, { batchSize: 3, shuffle: true, seed: 5, augment: true })) {
        xs.push(Array.from(b.x.dataSync()));
        tf.dispose([b.x, b.y]);
      }
      return xs;
    };
    const a = run();
    expect(run()).toEqual(a);
    expect(Array.from(ds.images)).toEqual(Array.from(copy));
    expect(tf.memory().numTensors).toBe(0);
  });

  test('subset and everyKth', () => {
    const ds = synthetic(45);
    expect(Array.from(everyKth(45, 20))).toEqual([0, 20, 40]);
    expect(Array.from(everyKth(40, 20))).toEqual([0, 20]);
    const s = subset(ds, everyKth(45, 20));
    expect(s.n).toBe(3);
    expect(Array.from(s.labels)).toEqual([0, 20 % 7, 40 % 7]);
    expect(s.images[2 * 90 + 7]).toBe(ds.images[40 * 90 + 7]);
    expect(() => subset(ds, [45])).toThrow(/index 45 is out of range/);
  });
});
