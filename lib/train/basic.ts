/**
 * A minimal minibatch trainer: softmax cross-entropy, Adam, shuffled batches
 * (optionally crop + flip or Gaussian noise).
 * It is the smallest loop that exercises a backend's training kernels (the
 * wasm conformance and MNIST tests use it); the SPLITZ trainer (the loss of
 * eq. 17, noise, schedules) builds on `crossEntropyStep` / `batchTensors`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import seedrandom from 'seedrandom';
import { ImageDataset } from '../data/types';
import { gather, shuffleInPlace } from '../data/batches';
import { AugmentOptions, cropFlip, drawCropFlip } from '../data/augment';

/** The tf.Variables behind a tfjs-layers model's trainable weights. */
export function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  // LayerVariable.read() returns the underlying tf.Variable itself.
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * One optimizer step on a batch: mean softmax cross-entropy of the model's
 * logits (training mode, so batch norm uses batch statistics). Returns the
 * loss before the step.
 */
export function crossEntropyStep(model: tfl.LayersModel, optimizer: tf.Optimizer, images: tf.Tensor, labels: tf.Tensor1D): number {
  const vars = trainableVariables(model);
  const loss = optimizer.minimize(
    () => {
      const logits = model.apply(images, { training: true }) as tf.Tensor;
      const k = logits.shape[logits.shape.length - 1];
      return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.cast(labels, 'int32'), k), logits) as tf.Scalar;
    },
    true,
    vars,
  );
  if (!loss) throw new Error('crossEntropyStep: the optimizer returned no loss');
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}

/** Images [n, H, W, C] and labels [n] of the given dataset indices. */
export function batchTensors(data: ImageDataset, indices: ArrayLike<number>): { images: tf.Tensor4D; labels: tf.Tensor1D } {
  const g = gather(data, indices);
  return { images: tf.tensor4d(g.images, [indices.length, ...data.shape]), labels: tf.tensor1d(g.labels, 'int32') };
}

function augmentedBatch(data: ImageDataset, indices: ArrayLike<number>, augment: AugmentOptions, rng: () => number): { images: tf.Tensor4D; labels: tf.Tensor1D } {
  const g = gather(data, indices);
  const images = cropFlip(g.images, indices.length, data.shape, drawCropFlip(indices.length, rng, augment));
  return { images: tf.tensor4d(images, [indices.length, ...data.shape]), labels: tf.tensor1d(g.labels, 'int32') };
}

export interface BasicTrainOptions {
  steps: number;
  batchSize?: number;
  learningRate?: number;
  /** Seed of the batch order (and of the noise). */
  seed?: number;
  /**
   * Gaussian noise augmentation: train on x + noise * N(0, I) (raw pixels,
   * not clipped), as Cohen et al. train base classifiers for randomized
   * smoothing at that sigma. Default 0 (clean training).
   */
  noise?: number;
  /**
   * CIFAR-10 augmentation of each batch (lib/data/augment: crop with zero
   * padding 4, then a horizontal flip with probability 1/2): true, or its
   * options. Drawn from its own stream of `seed`, so the batch order is the
   * same with and without it. Default none.
   */
  augment?: boolean | AugmentOptions;
  /** Called after every step with its loss. */
  onStep?: (step: number, loss: number) => void;
}

/**
 * `steps` Adam steps over reshuffled epochs of `data`. Returns the losses.
 * The optimizer is created here and disposed at the end.
 */
export function trainBasic(model: tfl.LayersModel, data: ImageDataset, options: BasicTrainOptions): number[] {
  const { steps } = options;
  const batchSize = options.batchSize ?? 128;
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`trainBasic: steps must be a non-negative integer, got ${steps}`);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > data.n) {
    throw new Error(`trainBasic: batchSize must be an integer in 1..${data.n} (the dataset size), got ${options.batchSize}`);
  }
  const noise = options.noise ?? 0;
  if (!(noise >= 0 && Number.isFinite(noise))) throw new Error(`trainBasic: noise (the sigma of Gaussian augmentation) must be a finite number >= 0, got ${options.noise}`);
  const rng = seedrandom(String(options.seed ?? 0));
  // An independent seed per step for the noise, derived from the batch-order seed.
  const noiseSeed = (step: number) => ((options.seed ?? 0) * 1000003 + step * 7919 + 17) % 2147483647;
  const augment: AugmentOptions | undefined = options.augment === true ? {} : options.augment || undefined;
  const augRng = seedrandom(`${options.seed ?? 0}/augment`);
  const order = Int32Array.from({ length: data.n }, (_, i) => i);
  let pos = data.n; // forces a shuffle before the first batch
  const optimizer = tf.train.adam(options.learningRate ?? 1e-3);
  const losses: number[] = [];
  try {
    for (let step = 0; step < steps; step++) {
      if (pos + batchSize > data.n) {
        shuffleInPlace(order, rng);
        pos = 0;
      }
      const idx = order.subarray(pos, pos + batchSize);
      const clean = augment ? augmentedBatch(data, idx, augment, augRng) : batchTensors(data, idx);
      const labels = clean.labels;
      const images =
        noise > 0 ? tf.tidy(() => tf.add(clean.images, tf.mul(tf.randomNormal(clean.images.shape, 0, 1, 'float32', noiseSeed(step)), noise)) as tf.Tensor4D) : clean.images;
      if (images !== clean.images) clean.images.dispose();
      pos += batchSize;
      try {
        const loss = crossEntropyStep(model, optimizer, images, labels);
        losses.push(loss);
        options.onStep?.(step, loss);
      } finally {
        images.dispose();
        labels.dispose();
      }
    }
  } finally {
    optimizer.dispose();
  }
  return losses;
}

/** Top-1 accuracy of the model's logits on `data` (inference mode). */
export function accuracy(model: tfl.LayersModel, data: ImageDataset, batchSize = 1000): number {
  let correct = 0;
  for (let start = 0; start < data.n; start += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, data.n - start) }, (_, i) => start + i);
    const { images, labels } = batchTensors(data, idx);
    const hits = tf.tidy(() => {
      const pred = tf.argMax(model.predict(images) as tf.Tensor, -1);
      return tf.sum(tf.cast(tf.equal(pred, labels), 'int32')).dataSync()[0];
    });
    images.dispose();
    labels.dispose();
    correct += hits;
  }
  return correct / data.n;
}
