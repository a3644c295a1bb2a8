/**
 * SPLITZ training (Algorithm 2): the loss of eq. 17
 *
 *   loss = (1 - lambda) * mean_i (1/Q) sum_q CE(f_R(f_L(x_i) + delta_q), y_i)
 *        + lambda * mean_i max(theta_lip, L(x_i, gamma_train)),
 *
 * delta_q ~ N(0, sigma^2 I) in the split space, L the `paper` local bound of
 * eq. 18 (float32 intervals for the varying masks I^v, power iteration with
 * per-sample warm-started vectors, differentiable w.r.t. f_L's weights with
 * the vectors held constant: lib/lipschitz localLipschitzTensor). Gradients
 * of both parts reach the weights. Plain randomized smoothing (RS) is split 0
 * with lambda = 0: the noise lands on the input and there is no L term.
 *
 * Randomness, all seeded so that a run resumed at epoch e repeats exactly what
 * an uninterrupted run does from e on:
 *  - training noise of step j of epoch e, draw q: GaussianStream(deriveSeed(seed, e, PHASE_TRAIN + q, j));
 *  - held-out noise of image i: deriveSeed(seed, i, PHASE_HOLDOUT, 0) (the same every epoch);
 *  - first power-iteration vector of image i, layer k: deriveSeed(seed, i, PHASE_WARM, k).
 * The batch order is lib/data's `batches` shuffle with seed `${seed}/epoch/${e}`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { SplitModel, splitModel } from '../models/split';
import { rightModel } from '../models/graph';
import { localLipschitzTensor } from '../lipschitz/local';
import { GaussianStream, deriveSeed } from '../smoothing/noise';
import { PHASE_HOLDOUT, PHASE_WARM } from './noise';
import { ImageDataset } from '../data/types';
import { gather } from '../data/batches';
import { SplitzOptimizer } from './optim';
import { trainableVariables } from './basic';

export { PHASE_HOLDOUT, PHASE_TRAIN, PHASE_WARM, trainingNoise } from './noise';
export { TrainingNoiseFeed } from './noise-feed';

/**
 * A split model with f_L / f_R in TRAINING mode (batch norm in f_R uses batch
 * statistics and updates its moving averages), next to the SplitModel whose
 * fL / fR run in inference mode.
 */
export interface TrainNet {
  split: SplitModel;
  fLTrain(x: tf.Tensor): tf.Tensor;
  fRTrain(u: tf.Tensor): tf.Tensor;
  /** Number of affine layers in f_L (0 = RS, no L term). */
  s: number;
  /** Split-space shape of one sample (where delta is added). */
  splitShape: number[];
  /** Elements of one split-space sample. */
  D: number;
}

export function trainNet(model: tfl.LayersModel, s: number): TrainNet {
  const split = splitModel(model, s);
  const applyAll = (layers: tfl.layers.Layer[], x: tf.Tensor) => {
    let h = x;
    for (const l of layers) h = l.apply(h, { training: true }) as tf.Tensor;
    return h;
  };
  let fRTrain: (u: tf.Tensor) => tf.Tensor;
  if (model instanceof tfl.Sequential) fRTrain = (u) => applyAll(split.rightLayers, u);
  else {
    const right = split.splitIndex === 0 ? model : rightModel(model, split.splitIndex);
    fRTrain = (u) => right.apply(u, { training: true }) as tf.Tensor;
  }
  return {
    split,
    fLTrain: (x) => (split.leftLayers.length ? applyAll(split.leftLayers, x) : x),
    fRTrain,
    s,
    splitShape: split.splitShape,
    D: split.splitShape.reduce((a, b) => a * b, 1),
  };
}

export interface SplitzLossOptions {
  /** Weight of the Lipschitz term (1 - lambda weighs the smoothing loss). */
  lambda: number;
  /** theta_lip: a number, or a trainable scalar variable (the learnable variant). */
  thetaLip: number | tf.Variable;
  /** Radius of the ball of L(x, gamma_train). */
  gammaTrain: number;
  /** Power-iteration steps per spectral norm. */
  powerIterations: number;
  /** Start vectors of the power iteration, one tensor [B, ...] per affine layer of f_L. */
  warmStart?: tf.Tensor[];
  /** Noise draws per input (the noise tensor holds Q * B samples, draw-major). */
  Q: number;
}

export interface SplitzLossParts {
  /** The eq. 17 loss (differentiable). */
  loss: tf.Scalar;
  /** mean_i (1/Q) sum_q CE(...): the smoothing loss. */
  ce: tf.Scalar;
  /** mean_i max(theta_lip, L(x_i)): the Lipschitz term (max(theta_lip, 1) for RS, a constant). */
  lip: tf.Scalar;
  /** L(x_i, gamma_train) per input (ones for RS). */
  L: tf.Tensor1D;
  /** Number of the Q * B noisy predictions equal to the label. */
  correct: tf.Scalar;
  /** Final power-iteration vectors (warm start of the next epoch); empty for RS. */
  vectors: tf.Tensor[];
}

/**
 * The parts of eq. 17 on one batch. `noise` is delta: [Q * B, ...splitShape]
 * (sigma already applied), draw-major (row q * B + i is draw q of input i).
 * Call inside tf.variableGrads to differentiate `loss`; the caller disposes
 * everything returned.
 */
export function splitzLoss(net: TrainNet, x: tf.Tensor, y: tf.Tensor1D, noise: tf.Tensor, options: SplitzLossOptions): SplitzLossParts {
  const B = x.shape[0];
  const Q = options.Q;
  if (noise.shape[0] !== Q * B) throw new Error(`splitzLoss: noise has ${noise.shape[0]} rows, expected Q * B = ${Q} * ${B}`);
  const { lambda } = options;
  if (!(lambda >= 0 && lambda <= 1)) throw new Error(`splitzLoss: lambda must be in [0, 1], got ${lambda}`);
  const hasL = net.split.leftOps.some((o) => o.kind === 'conv' || o.kind === 'dense');
  let Lres: { L: tf.Tensor1D; perLayer: tf.Tensor1D[]; vectors: tf.Tensor[] } | undefined;
  if (hasL) {
    Lres = localLipschitzTensor(net.split, x, options.gammaTrain, { iterations: options.powerIterations, warmStart: options.warmStart });
  }
  const parts = tf.tidy(() => {
    const u = net.fLTrain(x);
    const uq = Q === 1 ? u : tf.tile(u, [Q, ...u.shape.slice(1).map(() => 1)]);
    const logits = net.fRTrain(tf.add(uq, noise));
    const k = logits.shape[logits.shape.length - 1];
    const yq = Q === 1 ? y : tf.tile(y, [Q]);
    // mean over the Q * B rows = mean_i (1/Q) sum_q.
    const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.cast(yq, 'int32'), k), logits) as tf.Scalar;
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), tf.cast(yq, 'int32')), 'float32')) as tf.Scalar;
    const L = Lres ? Lres.L : (tf.ones([B]) as tf.Tensor1D);
    // theta broadcast to [B] by an add (Maximum's gradient does not reduce a broadcast scalar input).
    const theta = tf.add(tf.zerosLike(L), typeof options.thetaLip === 'number' ? tf.scalar(options.thetaLip) : options.thetaLip);
    const lip = tf.mean(tf.maximum(theta, L)) as tf.Scalar;
    // RS has no L term at all (lambda is 0 there; the config checks it).
    const loss = (hasL ? tf.add(tf.mul(ce, 1 - lambda), tf.mul(lip, lambda)) : tf.mul(ce, 1 - lambda)) as tf.Scalar;
    return { loss, ce, lip, correct, L: Lres ? tf.clone(L) : L };
  });
  if (Lres) tf.dispose([Lres.L, ...Lres.perLayer]);
  return { ...parts, vectors: Lres?.vectors ?? [] };
}

/**
 * Per-sample power-iteration vectors, kept across epochs (Huang et al. 2021,
 * as the paper trains): one Float32Array per affine layer of f_L, indexed by
 * the sample's position in the training set. A sample seen for the first time
 * starts from a seeded random vector.
 */
export class WarmStartStore {
  readonly sizes: number[];
  readonly data: Float32Array[];
  /** 1 once a sample has a vector from a previous step. */
  readonly has: Uint8Array;

  constructor(
    /** Input shape (no batch) of each affine layer of f_L. */
    readonly shapes: number[][],
    /** Training-set size. */
    readonly n: number,
    readonly seed: number,
  ) {
    this.sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
    this.data = this.sizes.map((d) => new Float32Array(n * d));
    this.has = new Uint8Array(n);
  }

  /** The seeded first vector of dataset image `idx` for layer k, unit norm. */
  initial(idx: number, k: number, out: Float32Array, offset: number): void {
    const d = this.sizes[k];
    new GaussianStream(deriveSeed(this.seed, idx, PHASE_WARM, k)).fill(out, offset, d, 1);
    let s = 0;
    for (let j = 0; j < d; j++) s += out[offset + j] ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < d; j++) out[offset + j] *= inv;
  }

  /**
   * Start vectors of a batch: positions in the training set and the images'
   * dataset indices (the key of their first vectors). For layers after the
   * first, a small multiple of the first vector is added, so that a stored
   * vector whose support the new input mask P_{k-1} removes entirely does not
   * start the iteration at zero (which would report L = 0).
   */
  gather(positions: ArrayLike<number>, datasetIdx: ArrayLike<number>): tf.Tensor[] {
    const B = positions.length;
    return this.shapes.map((shape, k) => {
      const d = this.sizes[k];
      const out = new Float32Array(B * d);
      const tmp = new Float32Array(d);
      for (let b = 0; b < B; b++) {
        const p = positions[b];
        if (!this.has[p]) this.initial(datasetIdx[b], k, out, b * d);
        else {
          out.set(this.data[k].subarray(p * d, (p + 1) * d), b * d);
          if (k > 0) {
            this.initial(datasetIdx[b], k, tmp, 0);
            for (let j = 0; j < d; j++) out[b * d + j] += 1e-3 * tmp[j];
          }
        }
      }
      return tf.tensor(out, [B, ...shape]);
    });
  }

  /** Store a batch's final vectors. */
  scatter(positions: ArrayLike<number>, vectors: tf.Tensor[]): void {
    vectors.forEach((v, k) => {
      const d = this.sizes[k];
      const vals = v.dataSync() as Float32Array;
      for (let b = 0; b < positions.length; b++) this.data[k].set(vals.subarray(b * d, (b + 1) * d), positions[b] * d);
    });
    for (let b = 0; b < positions.length; b++) this.has[positions[b]] = 1;
  }

  /** Bytes for a checkpoint: the `has` flags, then each layer's vectors (little-endian float32). */
  toBytes(): Buffer {
    return Buffer.concat([Buffer.from(this.has.buffer, this.has.byteOffset, this.has.byteLength), ...this.data.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))]);
  }

  /** Restores what toBytes wrote; the layout must match. */
  loadBytes(buf: Buffer): void {
    const expected = this.n + this.sizes.reduce((a, d) => a + 4 * this.n * d, 0);
    if (buf.length !== expected) throw new Error(`warm-start vectors: file has ${buf.length} bytes, expected ${expected} for ${this.n} samples and layer sizes [${this.sizes}]`);
    this.has.set(buf.subarray(0, this.n));
    let off = this.n;
    for (let k = 0; k < this.data.length; k++) {
      const bytes = 4 * this.n * this.sizes[k];
      const copy = new Uint8Array(bytes);
      copy.set(buf.subarray(off, off + bytes));
      this.data[k].set(new Float32Array(copy.buffer));
      off += bytes;
    }
  }
}

/** Input shapes (no batch) of f_L's affine layers, in order: the shapes of the power-iteration vectors. */
export function affineInputShapes(split: SplitModel): number[][] {
  return split.leftOps.filter((o) => o.kind === 'conv' || o.kind === 'dense').map((o) => (o.kind === 'conv' ? o.inShape.slice() : o.kind === 'dense' ? [o.inSize] : []));
}

export interface StepResult {
  loss: number;
  ce: number;
  lip: number;
  correct: number;
  /** Q * B predictions counted in `correct`. */
  count: number;
  /** sum_i L(x_i) over the batch (before the step). */
  sumL: number;
  B: number;
}

/**
 * One optimizer step on the eq. 17 loss. `vars` is the optimizer's variable
 * list (the model's trainable weights, then theta_lip when learnable).
 * Updates the warm-start vectors of the batch.
 */
export function splitzStep(
  net: TrainNet,
  optimizer: SplitzOptimizer,
  batch: { x: tf.Tensor4D; y: tf.Tensor1D; positions: ArrayLike<number>; indices: ArrayLike<number> },
  noise: Float32Array,
  options: Omit<SplitzLossOptions, 'warmStart'>,
  warm?: WarmStartStore,
): StepResult {
  const B = batch.x.shape[0];
  const noiseT = tf.tensor(noise, [options.Q * B, ...net.splitShape]);
  const warmStart = warm && net.s > 0 ? warm.gather(batch.positions, batch.indices) : undefined;
  let kept: Omit<SplitzLossParts, 'loss'> | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const p = splitzLoss(net, batch.x, batch.y, noiseT, { ...options, warmStart });
    kept = { ce: tf.keep(p.ce), lip: tf.keep(p.lip), L: tf.keep(p.L), correct: tf.keep(p.correct), vectors: p.vectors.map((v) => tf.keep(v)) };
    return p.loss;
  }, optimizer.vars);
  optimizer.applyGradients(grads);
  const k = kept!;
  // One readback for all loss parts (each dataSync waits for the backend).
  const parts = tf.tidy(() => tf.concat([tf.stack([value, k.ce, k.lip, k.correct]), k.L]).dataSync() as Float32Array);
  const out: StepResult = {
    loss: parts[0],
    ce: parts[1],
    lip: parts[2],
    correct: parts[3],
    count: options.Q * B,
    sumL: parts.subarray(4).reduce((a, b) => a + b, 0),
    B,
  };
  if (warm && k.vectors.length) warm.scatter(batch.positions, k.vectors);
  tf.dispose([value, noiseT, ...Object.values(grads), k.ce, k.lip, k.L, k.correct, ...k.vectors, ...(warmStart ?? [])]);
  return out;
}

/**
 * Accuracy on held-out images: with one fixed noise draw per image in the
 * split space (the smoothed classifier's base prediction, the quantity the
 * best checkpoint is chosen on) and without noise. Inference mode.
 */
export function evaluateHoldout(
  net: TrainNet,
  data: ImageDataset,
  indices: ArrayLike<number>,
  sigma: number,
  seed: number,
  batchSize: number,
): { noisy: number; clean: number } {
  let noisy = 0;
  let clean = 0;
  const D = net.D;
  for (let start = 0; start < indices.length; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, indices.length - start) }, (_, j) => indices[start + j]);
    const g = gather(data, idx);
    const B = idx.length;
    const delta = new Float32Array(B * D);
    idx.forEach((i, b) => new GaussianStream(deriveSeed(seed, i, PHASE_HOLDOUT, 0)).fill(delta, b * D, D, sigma));
    const [n, c] = tf.tidy(() => {
      const x = tf.tensor4d(g.images, [B, ...data.shape]);
      const y = tf.tensor1d(g.labels, 'int32');
      const u = net.split.fL(x);
      const hit = (logits: tf.Tensor) => tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), y), 'int32'));
      const a = hit(net.split.fR(tf.add(u, tf.tensor(delta, [B, ...net.splitShape]))));
      const b = hit(net.split.fR(u));
      return [a.dataSync()[0], b.dataSync()[0]];
    });
    noisy += n;
    clean += c;
  }
  const N = indices.length || 1;
  return { noisy: noisy / N, clean: clean / N };
}

/** The optimizer's variable list: the model's trainable weights, then theta_lip when it is learned. */
export function optimizerVariables(model: tfl.LayersModel, thetaLip?: tf.Variable): tf.Variable[] {
  const vars = trainableVariables(model);
  return thetaLip ? [...vars, thetaLip] : vars;
}
