/**
 * The local Lipschitz bound of f_L around x (eq. 18 / Appendix B eq. 24):
 *
 *   L(x, gamma) = prod_k || I_k W'_k P_{k-1} ||_2
 *
 * where W'_1 includes the normalization, P_{k-1} keeps the inputs of W_k that
 * can vary over B(x, gamma) (the previous ReLU_theta's mask I^v_{k-1}, or
 * after a max-pool the pooled outputs that can vary; all ones for k = 1) and
 * I_k is the mask of the ReLU_theta after W_k (omitted when f_L ends with an
 * affine layer that is the model's last). Max-pools with disjoint windows
 * contribute a factor 1.
 *
 * Why it is an upper bound: on the ball, a non-varying ReLU_theta output is
 * constant, and |ReLU_theta(a) - ReLU_theta(b)| <= |a - b|, so for x, x' in
 * the ball the change after layer k is supported on I_k and bounded by
 * ||I_k W'_k P_{k-1} (change before layer k)||.
 *
 * Two ways to get each spectral norm:
 *  - `sound` (default): float64 intervals with rounding margins and a proven
 *    upper bound on each norm (./sound.ts). This is what a certified radius
 *    may use.
 *  - `paper`: float32 intervals and power iteration (as the paper and Huang
 *    et al. 2021), a LOWER estimate of each norm after finitely many steps.
 *
 * L = 0 is possible (every neuron of some layer constant on the ball): then
 * f_L is constant on B(x, gamma) and Theorem 1's radius is gamma itself.
 *
 * All functions here are synchronous (they read tensors with dataSync).
 */
import * as tf from '@tensorflow/tfjs-core';
import { SplitModel } from '../models/split';
import { Left64, inputsAsFloat64, left64 } from './ops64';
import { Intervals, intervalBounds64, maskCount } from './intervals';
import { soundSpectralNorm } from './sound';
import { AffineTf, affinesTf, detach, disposeAffines, intervalBoundsTf } from './tfops';
import { seededRandomNormal } from './seed';

export type BoundMode = 'sound' | 'paper';

export interface LocalLipschitzOptions {
  /** 'sound' (default): proven upper bound. 'paper': power iteration, a lower estimate of eq. 18. */
  mode?: BoundMode;
  /** Power-iteration steps in `paper` mode (default 20; the paper trains with 5 on MNIST, 2 on CIFAR-10). */
  iterations?: number;
  /** `paper` mode: start vectors, one tensor per affine layer of f_L, shape [batch, ...input shape of that layer]. */
  warmStart?: tf.Tensor[];
  /** `paper` mode: seed of the random start vectors. */
  seed?: number;
  /** `paper` mode: compute the masks in float32 with tf ('tf', default) or in float64 ('float64', the masks `sound` uses). */
  intervals?: 'tf' | 'float64';
}

export interface LocalLipschitzResult {
  mode: BoundMode;
  /** gamma used for each input. */
  gamma: Float64Array;
  /** L(x, gamma) for each input. */
  L: Float64Array;
  /** perLayer[k][b]: the factor ||I_k W'_k P_{k-1}|| of affine layer k+1 for input b. */
  perLayer: Float64Array[];
  /** varying[k][b]: |I^v_k|, the number of varying neurons after affine layer k+1 (its output size when no ReLU_theta follows). */
  varying: Int32Array[];
  /** `paper` mode: the final power-iteration vectors (warm start for the next call); the caller disposes them. */
  vectors?: tf.Tensor[];
}

function gammaArray(gamma: number | number[] | Float64Array, B: number): Float64Array {
  const g = typeof gamma === 'number' ? new Float64Array(B).fill(gamma) : Float64Array.from(gamma);
  if (g.length !== B) throw new Error(`localLipschitz: got ${g.length} gamma values for a batch of ${B} inputs (give one number or one per input)`);
  for (const v of g) if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`localLipschitz: gamma must be finite and >= 0, got ${v}`);
  return g;
}

/** The batch size of x, after checking that x is a batch of f_L's inputs; `caller` names the function in the error. */
export function checkBatch(split: SplitModel, x: tf.Tensor, caller = 'localLipschitz'): number {
  const per = split.inputShape.reduce((a, b) => a * b, 1);
  if (x.rank !== split.inputShape.length + 1 || x.size !== x.shape[0] * per) {
    throw new Error(`${caller}: x must be a batch of shape [batch, ${split.inputShape.join(', ')}], got [${x.shape.join(', ')}]`);
  }
  return x.shape[0];
}

/** Sound bound for one input from float64 intervals. */
export function soundFromIntervals(net: Left64, iv: Intervals): { L: number; perLayer: number[]; varying: number[] } {
  const perLayer: number[] = [];
  const varying: number[] = [];
  let L = 1;
  net.affines.forEach((a, k) => {
    const b = iv.layers[k];
    const n = soundSpectralNorm(a.W, b.outMask, k === 0 ? undefined : b.inMask).upper;
    perLayer.push(n);
    varying.push(b.outMask ? maskCount(b.outMask) : a.W.rows);
    L *= n;
  });
  // Round the product up: each multiplication has relative error <= 2^-53.
  if (net.affines.length > 1) L *= 1 + 4 * net.affines.length * 2 ** -53;
  return { L, perLayer, varying };
}

/**
 * Interval bounds of f_L over B(x, gamma) (float64, with rounding margins) for
 * every input of a batch: per affine layer the pre-activation bounds, its
 * input mask P_{k-1} and its varying mask I^v_k.
 */
export function intervalBounds(split: SplitModel, x: tf.Tensor, gamma: number | number[]): Intervals[] {
  const B = checkBatch(split, x);
  const g = gammaArray(gamma, B);
  const net = left64(split);
  return inputsAsFloat64(x, net.inputSize).map((xi, b) => intervalBounds64(net, xi, g[b]));
}

/** The varying masks I^v_k (one Uint8Array per affine layer followed by ReLU_theta) of each input. */
export function varyingMasks(split: SplitModel, x: tf.Tensor, gamma: number | number[]): Uint8Array[][] {
  return intervalBounds(split, x, gamma).map((iv) => iv.layers.filter((l) => l.outMask).map((l) => l.outMask!));
}

/**
 * Euclidean norm of each row (batch entry) of t: sqrt(sum(square(t))), the
 * same values as tf.norm(t, 2, 1), which squares through abs + pow. The
 * gradient is written out as t * (dy / norm): tfjs-core's chain (sqrt, then
 * Sum's gradient, which multiplies by a ones tensor built in JavaScript and
 * uploaded, then square) gives the same float32 values, since it only adds
 * exact factors 1/2 and 2, at the cost of ~10 ms and 12 MB of garbage per
 * [256, 11520] tensor.
 */
function rowNorms(t: tf.Tensor): tf.Tensor1D {
  const B = t.shape[0];
  const norms = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const n = tf.sqrt(tf.sum(tf.square(x), 1));
    save([x, n]);
    return {
      value: n,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(saved[0], tf.reshape(tf.div(dy, saved[1]), [B, 1])),
    };
  });
  return norms(tf.reshape(t, [B, -1])) as tf.Tensor1D;
}

/** Power iteration on A = I_out W' P_in for a batch; returns unit vectors (detached). */
function powerIterate(A: AffineTf, kernel: tf.Tensor, inMask: tf.Tensor, outMask: tf.Tensor | undefined, v0: tf.Tensor, iterations: number): tf.Tensor {
  return tf.tidy(() => {
    const B = v0.shape[0];
    const axes = v0.shape.slice(1).map((_, i) => i + 1);
    const unit = (v: tf.Tensor) => tf.div(v, tf.add(tf.reshape(rowNorms(v), [B, ...axes.map(() => 1)]), 1e-12));
    let v = unit(tf.mul(v0, inMask));
    for (let t = 0; t < iterations; t++) {
      let u = A.apply(v, kernel);
      if (outMask) u = tf.mul(u, outMask);
      v = unit(tf.mul(A.adjoint(u, kernel), inMask));
    }
    return v;
  });
}

export interface LocalLipschitzTensorResult {
  /** L(x, gamma) per input, differentiable w.r.t. f_L's weights (the power vectors are held constant). */
  L: tf.Tensor1D;
  perLayer: tf.Tensor1D[];
  /** Final unit power vectors per affine layer: pass them as `warmStart` next time. */
  vectors: tf.Tensor[];
}

/**
 * The `paper` bound as tensors, for training (eq. 17): masks from float32
 * intervals (not differentiated), power iteration with detached weights, then
 * sigma_k = ||I_k W'_k P_{k-1} v_k|| with the LIVE weights, so gradients flow
 * to the kernels through the estimate with v_k held constant (as Huang et al.
 * train). Call it inside tf.variableGrads / optimizer.minimize. The caller
 * disposes the returned tensors (or uses tf.tidy, keeping `vectors`).
 */
export function localLipschitzTensor(
  split: SplitModel,
  x: tf.Tensor,
  gamma: number | number[] | Float64Array,
  options: { iterations?: number; warmStart?: tf.Tensor[]; seed?: number; masks?: { inMask: tf.Tensor; outMask: tf.Tensor | undefined }[] } = {},
): LocalLipschitzTensorResult {
  const B = checkBatch(split, x);
  const g = gammaArray(gamma as number | number[], B);
  const iterations = options.iterations ?? 20;
  if (!Number.isInteger(iterations) || iterations < 0) throw new Error(`localLipschitz: iterations must be a non-negative integer, got ${options.iterations}`);
  const affines = affinesTf(split);
  if (affines.length === 0) {
    disposeAffines(affines);
    return { L: tf.ones([B]) as tf.Tensor1D, perLayer: [], vectors: [] };
  }
  if (options.warmStart && options.warmStart.length !== affines.length) {
    throw new Error(`localLipschitz: warmStart must hold one tensor per affine layer of f_L (${affines.length}), got ${options.warmStart.length}`);
  }
  let bounds = options.masks;
  if (!bounds) {
    const gT = tf.tensor1d(Array.from(g));
    bounds = intervalBoundsTf(split, x, gT).map((b) => {
      tf.dispose([b.lb, b.ub]);
      return { inMask: b.inMask, outMask: b.outMask };
    });
    gT.dispose();
  }
  const ownMasks = !options.masks;
  const vectors: tf.Tensor[] = [];
  const perLayer: tf.Tensor1D[] = [];
  affines.forEach((A, k) => {
    const live = A.op.layer.getWeights()[0];
    const kd = detach(live);
    const { inMask, outMask } = bounds![k];
    const v0 = options.warmStart?.[k] ?? seededRandomNormal([B, ...A.inShape], options.seed === undefined ? undefined : options.seed + k);
    if (v0.shape[0] !== B || v0.size !== B * A.inShape.reduce((a, b) => a * b, 1)) {
      throw new Error(`localLipschitz: warmStart[${k}] has shape [${v0.shape}], expected [${B}, ${A.inShape}]`);
    }
    const vIn = tf.reshape(v0, [B, ...A.inShape]);
    const v = powerIterate(A, kd, inMask, outMask, vIn, iterations);
    vIn.dispose();
    if (!options.warmStart?.[k]) v0.dispose();
    kd.dispose();
    vectors.push(v);
    perLayer.push(
      tf.tidy(() => {
        let u = A.apply(v, live);
        if (outMask) u = tf.mul(u, outMask);
        return rowNorms(u);
      }),
    );
  });
  if (ownMasks) for (const b of bounds) tf.dispose(b.outMask ? [b.inMask, b.outMask] : [b.inMask]);
  disposeAffines(affines);
  const L = tf.tidy(() => perLayer.reduce((a, b) => tf.mul(a, b) as tf.Tensor1D));
  return { L: perLayer.length === 1 ? (tf.clone(L) as tf.Tensor1D) : L, perLayer, vectors };
}

/**
 * L(x, gamma) of eq. 18 for a batch x (raw pixels, shape [batch, ...inputShape]).
 * gamma: one radius for all inputs or one per input. Synchronous.
 * s = 0 (f_L = identity) gives L = 1.
 */
export function localLipschitz(split: SplitModel, x: tf.Tensor, gamma: number | number[] | Float64Array, options: LocalLipschitzOptions = {}): LocalLipschitzResult {
  const B = checkBatch(split, x);
  const g = gammaArray(gamma as number | number[], B);
  const mode = options.mode ?? 'sound';
  if (mode !== 'sound' && mode !== 'paper') throw new Error(`localLipschitz: mode must be 'sound' or 'paper', got '${String(mode)}'`);
  const nAff = split.leftOps.filter((o) => o.kind === 'conv' || o.kind === 'dense').length;
  const perLayer = Array.from({ length: nAff }, () => new Float64Array(B));
  const varying = Array.from({ length: nAff }, () => new Int32Array(B));
  const L = new Float64Array(B).fill(1);
  if (nAff === 0) return { mode, gamma: g, L, perLayer, varying, vectors: mode === 'paper' ? [] : undefined };

  if (mode === 'sound') {
    const net = left64(split);
    inputsAsFloat64(x, net.inputSize).forEach((xi, b) => {
      const r = soundFromIntervals(net, intervalBounds64(net, xi, g[b]));
      L[b] = r.L;
      r.perLayer.forEach((v, k) => (perLayer[k][b] = v));
      r.varying.forEach((v, k) => (varying[k][b] = v));
    });
    return { mode, gamma: g, L, perLayer, varying };
  }

  const affOps = split.leftOps.filter((o) => o.kind === 'conv' || o.kind === 'dense');
  let masks: { inMask: tf.Tensor; outMask: tf.Tensor | undefined }[];
  if (options.intervals === 'float64') {
    const ivs = intervalBounds(split, x, Array.from(g));
    masks = affOps.map((op, k) => {
      const inShape = op.kind === 'conv' ? op.inShape : op.kind === 'dense' ? [op.inSize] : [];
      const outShape = op.kind === 'conv' ? op.outShape : op.kind === 'dense' ? [op.outSize] : [];
      const stack = (get: (iv: Intervals) => Uint8Array | undefined, shape: number[]) => {
        const arrs = ivs.map(get);
        if (arrs.some((a) => a === undefined)) return undefined;
        const flat = new Float32Array(B * arrs[0]!.length);
        arrs.forEach((a, b) => flat.set(a!, b * a!.length));
        return tf.tensor(flat, [B, ...shape]);
      };
      return { inMask: stack((iv) => iv.layers[k].inMask, inShape)!, outMask: stack((iv) => iv.layers[k].outMask, outShape) };
    });
  } else {
    const gT = tf.tensor1d(Array.from(g));
    const bounds = intervalBoundsTf(split, x, gT);
    gT.dispose();
    masks = bounds.map((b) => {
      tf.dispose([b.lb, b.ub]);
      return { inMask: b.inMask, outMask: b.outMask };
    });
  }
  const res = localLipschitzTensor(split, x, g, { iterations: options.iterations, warmStart: options.warmStart, seed: options.seed, masks });
  L.set(res.L.dataSync());
  res.perLayer.forEach((t, k) => perLayer[k].set(t.dataSync()));
  masks.forEach((m, k) => {
    if (m.outMask) {
      const count = tf.tidy(() => tf.sum(tf.reshape(m.outMask!, [B, -1]), 1));
      varying[k].set(count.dataSync());
      count.dispose();
    } else varying[k].fill(perLayerSize(split, k));
    tf.dispose(m.outMask ? [m.inMask, m.outMask] : [m.inMask]);
  });
  tf.dispose([res.L, ...res.perLayer]);
  return { mode, gamma: g, L, perLayer, varying, vectors: res.vectors };
}

function perLayerSize(split: SplitModel, k: number): number {
  const op = split.leftOps.filter((o) => o.kind === 'conv' || o.kind === 'dense')[k];
  return op.kind === 'conv' ? op.outShape[0] * op.outShape[1] * op.outShape[2] : op.kind === 'dense' ? op.outSize : 0;
}

/**
 * L(x, gamma) in `paper` mode for a batch, its power-iteration vectors
 * disposed: for callers that do not warm-start the next call.
 */
export function paperLipschitz(split: SplitModel, x: tf.Tensor, gamma: number | number[] | Float64Array, options: { iterations?: number; seed?: number; warmStart?: tf.Tensor[] } = {}): Float64Array {
  const r = localLipschitz(split, x, gamma, { ...options, mode: 'paper' });
  tf.dispose(r.vectors ?? []);
  return r.L;
}

/**
 * L(x, gamma) for ONE input as a function of gamma, for the radius search of
 * Theorem 1 (lib/smoothing). f_L's weights are read once; results are cached
 * per set of masks (many gammas share them), so calling it in a binary search
 * is cheap. In `sound` mode the function is non-decreasing in gamma (the
 * varying sets are nested as gamma grows).
 *
 * x: one input, shape inputShape or [1, ...inputShape].
 */
export function localLipschitzOf(split: SplitModel, x: tf.Tensor, options: { mode?: BoundMode; iterations?: number; seed?: number } = {}): (gamma: number) => number {
  const x1 = x.rank === split.inputShape.length ? tf.expandDims(x, 0) : x;
  checkBatch(split, x1);
  if (x1.shape[0] !== 1) throw new Error(`localLipschitzOf: expects one input, got a batch of ${x1.shape[0]}`);
  const mode = options.mode ?? 'sound';
  if (split.leftOps.every((o) => o.kind !== 'conv' && o.kind !== 'dense')) {
    if (x1 !== x) x1.dispose();
    return () => 1;
  }
  if (mode === 'paper') {
    const xs = tf.keep(tf.clone(x1));
    if (x1 !== x) x1.dispose();
    return (gamma: number) => paperLipschitz(split, xs, [gamma], { iterations: options.iterations, seed: options.seed ?? 0 })[0];
  }
  const net = left64(split);
  const x64 = inputsAsFloat64(x1, net.inputSize)[0];
  if (x1 !== x) x1.dispose();
  const cache = new Map<string, number>();
  return (gamma: number) => {
    const iv = intervalBounds64(net, x64, gammaArray(gamma, 1)[0]);
    const key = iv.layers.map((l) => Buffer.from((l.outMask ?? new Uint8Array(0)).buffer).toString('base64') + '|' + (l.inMask === undefined ? '' : Buffer.from(l.inMask.buffer).toString('base64'))).join('/');
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const L = soundFromIntervals(net, iv).L;
    cache.set(key, L);
    return L;
  };
}
