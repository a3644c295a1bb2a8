/**
 * Monte Carlo sampling at the split (Cohen et al.'s Smooth._sample_noise,
 * moved from the input to the split space): count how often f_R picks each
 * class on the noisy copies f_L(x) + sigma * z.
 *
 * The logits never leave the device: argmax and a one-hot sum run there, and
 * only the per-class counts are downloaded per batch.
 */
import * as os from 'os';
import { tf } from '../backend';
import { NoisySampleStream, Phase, certifyNoiseKey } from './noise';
import { HeapNoise } from './philox';
import { NoiseWorker } from './noise-pipeline';

/** A function from a batch of tensors to a batch of logits (e.g. f_R). */
export type TensorFn = (x: tf.Tensor) => tf.Tensor;

export interface SampleOptions {
  /** Noise level sigma of the smoothing (in the split space). */
  sigma: number;
  /** Samples per forward pass of f_R. Default 1000. */
  batchSize?: number;
  /** Base seed of the noise (see lib/smoothing/noise.ts for the derivation). Default 0. */
  seed?: number;
  /** Image index, part of the noise key so every image gets its own draws. Default 0. */
  idx?: number;
  /** Which independent stream: 'selection' (n0), 'estimation' (n) or 'predict'. Default 'estimation'. */
  phase?: Phase;
  /** Number of classes; inferred from the logits when omitted. */
  numClasses?: number;
  /** Called after every batch with the number of samples done so far. */
  onBatch?: (done: number, total: number) => void;
  /**
   * Generate the noise on a worker thread, overlapped with f_R (same draws).
   * 'auto' (default): when the machine has 2+ cores, the run has 3+ batches
   * and at least PIPELINE_MIN_NORMALS normals to draw (so that starting the
   * worker, up to a second under ts-node, is worth it), unless SPLITZ_NOISE_WORKER=0.
   */
  pipeline?: boolean | 'auto';
  /**
   * Without the pipeline, on the wasm backend: generate each batch straight
   * into its tensor in the backend's heap (HeapNoise; same draws). Default
   * true; false takes the host-buffer path (for comparisons).
   */
  heapNoise?: boolean;
}

/** 'auto' pipelining threshold: about a third of a second of noise generation. */
export const PIPELINE_MIN_NORMALS = 2e7;

function usePipeline(option: SampleOptions['pipeline'], batches: number, normals: number): boolean {
  if (option === true || option === false) return option;
  if (process.env.SPLITZ_NOISE_WORKER === '0') return false;
  return batches >= 3 && normals >= PIPELINE_MIN_NORMALS && os.cpus().length >= 2;
}

/** A single input u = f_L(x): flat values and its shape without the batch dimension. */
export interface SplitPoint {
  values: Float32Array;
  shape: number[];
}

/** Download one input (a tensor with a leading batch dimension of 1, or none) for sampling. */
export async function toSplitPoint(u: tf.Tensor, hasBatchDim = true): Promise<SplitPoint> {
  if (hasBatchDim && u.shape[0] !== 1) {
    throw new Error(`sampling: expected ONE input with batch dimension 1, got shape [${u.shape.join(', ')}]`);
  }
  const shape = hasBatchDim ? u.shape.slice(1) : u.shape.slice();
  const values = (await u.data()) as Float32Array;
  return { values: values instanceof Float32Array ? values : Float32Array.from(values), shape };
}

/**
 * Counts of f_R's argmax over `num` noisy copies u + sigma * N(0, I) of one
 * split-space input u. Returns an Int32Array of per-class counts.
 */
export async function sampleCounts(f_R: TensorFn, u: SplitPoint, num: number, options: SampleOptions): Promise<Int32Array> {
  const batchSize = options.batchSize ?? 1000;
  if (!Number.isSafeInteger(num) || num < 0) throw new RangeError(`sampleCounts: num must be a non-negative integer, got ${num}`);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`sampleCounts: batchSize must be a positive integer, got ${options.batchSize}`);
  }
  const D = u.shape.reduce((a, b) => a * b, 1);
  if (D !== u.values.length) {
    throw new Error(`sampleCounts: shape [${u.shape.join(', ')}] holds ${D} values but ${u.values.length} were given`);
  }
  if (!(options.sigma >= 0 && Number.isFinite(options.sigma))) throw new RangeError(`sampleCounts: sigma must be a finite number >= 0, got ${options.sigma}`);
  const key = { seed: options.seed ?? 0, idx: options.idx ?? 0, phase: options.phase ?? 'estimation' };
  const sizes: number[] = [];
  for (let left = num; left > 0; left -= batchSize) sizes.push(Math.min(batchSize, left));

  let counts: Int32Array | undefined = options.numClasses ? new Int32Array(options.numClasses) : undefined;
  let done = 0;
  // x: a fresh batch of m noisy copies, owned (and disposed) here.
  const countBatch = async (makeBatch: () => tf.Tensor, m: number): Promise<void> => {
    const batchCounts = tf.tidy(() => {
      const logits = f_R(makeBatch());
      if (logits.rank !== 2) throw new Error(`sampleCounts: f_R must return logits of shape [batch, classes], got [${logits.shape.join(', ')}]`);
      const K: number = counts ? counts.length : (logits.shape[1] as number);
      if (logits.shape[1] !== K) throw new Error(`sampleCounts: f_R returned ${logits.shape[1]} classes, expected ${K}`);
      return tf.sum(tf.oneHot(tf.argMax(logits, 1), K), 0);
    });
    const c = (await batchCounts.data()) as Int32Array;
    batchCounts.dispose();
    if (!counts) counts = new Int32Array(c.length);
    for (let k = 0; k < c.length; k++) counts[k] += c[k];
    done += m;
    options.onBatch?.(done, num);
  };

  const pipelined = usePipeline(options.pipeline, sizes.length, num * D);
  const heap = !pipelined && options.heapNoise !== false ? HeapNoise.for(tf.backend()) : undefined;
  if (pipelined) {
    // Double buffering: the worker fills batch k + 1 while f_R runs on batch k.
    const worker = new NoiseWorker(u.values, options.sigma, key);
    try {
      let pending = worker.request(sizes[0]);
      let spare: Float32Array | undefined;
      for (let k = 0; k < sizes.length; k++) {
        const buf = await pending;
        if (k + 1 < sizes.length) {
          pending = worker.request(sizes[k + 1], spare && spare.length === sizes[k + 1] * D ? spare : undefined);
          spare = undefined;
        }
        await countBatch(() => tf.tensor(buf, [sizes[k], ...u.shape], 'float32'), sizes[k]);
        spare = buf; // the tensor made from it is disposed: reusable
      }
    } finally {
      await worker.close();
    }
  } else if (heap) {
    // The wasm backend: each batch is generated straight into its tensor (the same draws).
    const base = tf.tensor(u.values, u.shape, 'float32');
    const k = certifyNoiseKey(key);
    try {
      let j = 0;
      for (const m of sizes) {
        const j0 = j;
        await countBatch(() => heap.samples(k, base, j0, m, u.shape, options.sigma), m);
        j += m;
      }
    } finally {
      base.dispose();
    }
  } else {
    const stream = new NoisySampleStream(u.values, options.sigma, key);
    let buf: Float32Array | undefined;
    for (const m of sizes) {
      // Reuse the host buffer: the tensor made from it is disposed before the next fill.
      const b = (buf = stream.next(m, buf));
      await countBatch(() => tf.tensor(b, [m, ...u.shape], 'float32'), m);
    }
  }
  return counts ?? new Int32Array(options.numClasses ?? 0);
}

/** Index of the largest count, lowest index on ties (numpy's argmax). */
export function argmaxCount(counts: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < counts.length; k++) if (counts[k] > counts[best]) best = k;
  return best;
}
