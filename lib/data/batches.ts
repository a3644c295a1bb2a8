/**
 * Mini-batches over an ImageDataset: each batch tensor is built from one
 * copy of a slice of the flat array (never one tensor per image).
 */
import seedrandom from 'seedrandom';
import { tf } from '../backend';
import { ImageDataset } from './types';
import { AugmentOptions, cropFlip, drawCropFlip } from './augment';

export interface BatchOptions {
  batchSize: number;
  /** Shuffle the order (Fisher-Yates with `seed`). Default false. */
  shuffle?: boolean;
  /** Seed for shuffling and augmentation; use e.g. seed + epoch for a new order each epoch. Default 0. */
  seed?: number | string;
  /** true = CIFAR crop(pad 4) + flip; or options for it. Default none. */
  augment?: boolean | AugmentOptions;
  /** Iterate over these dataset indices only (in this order unless shuffled). */
  indices?: ArrayLike<number>;
  /** Drop a last batch smaller than batchSize. Default false. */
  dropLast?: boolean;
}

export interface Batch {
  /** [b, H, W, C] pixels in [0, 1]. The caller disposes it. */
  x: tf.Tensor4D;
  /** [b] int32 labels. The caller disposes it. */
  y: tf.Tensor1D;
  /** Dataset indices of the batch's images. */
  indices: Int32Array;
}

/** Deterministic Fisher-Yates shuffle (in place) driven by `rng`. */
export function shuffleInPlace(a: Int32Array, rng: () => number): Int32Array {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/** Copy images `idx` of a dataset into one flat array (and their labels). */
export function gather(ds: ImageDataset, idx: ArrayLike<number>): { images: Float32Array; labels: Int32Array } {
  const d = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const images = new Float32Array(idx.length * d);
  const labels = new Int32Array(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k];
    if (!Number.isInteger(i) || i < 0 || i >= ds.n) throw new Error(`index ${i} is out of range for ${ds.name} with ${ds.n} images`);
    images.set(ds.images.subarray(i * d, (i + 1) * d), k * d);
    labels[k] = ds.labels[i];
  }
  return { images, labels };
}

/** Iterate over mini-batches. Shuffle and augmentation draw from separate streams of `seed`. */
export function* batches(ds: ImageDataset, options: BatchOptions): Generator<Batch> {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batches: batchSize must be a positive integer, got ${batchSize}`);
  const seed = String(options.seed ?? 0);
  const order = options.indices ? Int32Array.from(options.indices) : Int32Array.from({ length: ds.n }, (_, i) => i);
  if (options.shuffle) shuffleInPlace(order, seedrandom(`${seed}/shuffle`));
  const augRng = seedrandom(`${seed}/augment`);
  const augOpts: AugmentOptions | undefined = options.augment === true ? {} : options.augment || undefined;
  const [h, w, c] = ds.shape;
  for (let start = 0; start < order.length; start += batchSize) {
    const idx = order.subarray(start, Math.min(start + batchSize, order.length));
    if (options.dropLast && idx.length < batchSize) break;
    const g = gather(ds, idx);
    const images = augOpts ? cropFlip(g.images, idx.length, ds.shape, drawCropFlip(idx.length, augRng, augOpts)) : g.images;
    yield {
      x: tf.tensor4d(images, [idx.length, h, w, c]),
      y: tf.tensor1d(g.labels, 'int32'),
      indices: Int32Array.from(idx),
    };
  }
}

/** Number of batches `batches` yields. */
export function numBatches(n: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/** A new dataset holding copies of images `indices` (e.g. a fixed test subset). */
export function subset(ds: ImageDataset, indices: ArrayLike<number>, name?: string): ImageDataset {
  const g = gather(ds, indices);
  return { ...ds, name: name ?? ds.name, shape: [...ds.shape], classes: [...ds.classes], images: g.images, labels: Uint8Array.from(g.labels), n: indices.length };
}

/** Indices 0, k, 2k, ... below n: the fixed "every k-th test image" subsets of the literature. */
export function everyKth(n: number, k: number): Int32Array {
  if (!Number.isInteger(k) || k < 1) throw new Error(`everyKth: k must be a positive integer, got ${k}`);
  return Int32Array.from({ length: Math.ceil(n / k) }, (_, j) => j * k);
}
