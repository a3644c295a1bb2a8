/**
 * f_L's affine maps and interval bounds with TensorFlow.js ops, batched: the
 * `paper` mode (power iteration, as Huang et al. 2021 and the paper train) and
 * the training-time bound. Float32, no rounding margins: fast and
 * differentiable, not a certificate (see ./sound.ts for that).
 */
import * as tf from '@tensorflow/tfjs-core';
import { LeftOp, SplitModel } from '../models/split';

type AffineOp = Extract<LeftOp, { kind: 'conv' } | { kind: 'dense' }>;

/** A copy of a tensor that no gradient tape connects to its source. */
export function detach<T extends tf.Tensor>(t: T): T {
  return tf.tensor(t.dataSync(), t.shape, t.dtype) as T;
}

/** One affine map of f_L as an operator on batches (bias excluded), with its adjoint. */
export interface AffineTf {
  op: AffineOp;
  /** Input shape of one sample (after any Flatten before it). */
  inShape: number[];
  outShape: number[];
  /** 1/std per input channel when the normalization is folded into this map (W'_1), else undefined. */
  scale: tf.Tensor | undefined;
  /** W' v for a batch v (kernel given explicitly so callers choose live or detached weights). */
  apply(v: tf.Tensor, kernel: tf.Tensor): tf.Tensor;
  /** W'^T u. */
  adjoint(u: tf.Tensor, kernel: tf.Tensor): tf.Tensor;
}

function opInShape(op: AffineOp): number[] {
  return op.kind === 'conv' ? op.inShape.slice() : [op.inSize];
}
function opOutShape(op: AffineOp): number[] {
  return op.kind === 'conv' ? op.outShape.slice() : [op.outSize];
}

/** The affine maps of f_L, the first one with the normalization folded in. Dispose with `disposeAffines`. */
export function affinesTf(split: SplitModel): AffineTf[] {
  const out: AffineTf[] = [];
  let std: number[] | undefined;
  for (const op of split.leftOps) {
    if (op.kind === 'normalize') std = op.std;
    if (op.kind !== 'conv' && op.kind !== 'dense') continue;
    const inShape = opInShape(op);
    const outShape = opOutShape(op);
    let scale: tf.Tensor | undefined;
    if (out.length === 0 && std) {
      const inv = std.map((s) => 1 / s);
      // Dense after Flatten: channels-last flatten repeats the channel pattern.
      scale = op.kind === 'conv' ? tf.tensor1d(inv) : tf.tensor1d(Array.from({ length: op.inSize }, (_, i) => inv[i % inv.length]));
    }
    const sc = scale;
    if (op.kind === 'conv') {
      const strides = op.strides;
      const pad = op.padding;
      out.push({
        op,
        inShape,
        outShape,
        scale: sc,
        apply: (v, k) => tf.conv2d((sc ? tf.mul(v, sc) : v) as tf.Tensor4D, k as tf.Tensor4D, strides, pad),
        adjoint: (u, k) => {
          const outShape: [number, number, number, number] = [u.shape[0], op.inShape[0], op.inShape[1], op.inShape[2]];
          const t = tf.conv2dTranspose(u as tf.Tensor4D, k as tf.Tensor4D, outShape, strides, pad);
          return sc ? tf.mul(t, sc) : t;
        },
      });
    } else {
      out.push({
        op,
        inShape,
        outShape,
        scale: sc,
        apply: (v, k) => tf.matMul((sc ? tf.mul(v, sc) : v) as tf.Tensor2D, k as tf.Tensor2D),
        adjoint: (u, k) => {
          const t = tf.matMul(u as tf.Tensor2D, k as tf.Tensor2D, false, true);
          return sc ? tf.mul(t, sc) : t;
        },
      });
    }
  }
  return out;
}

export function disposeAffines(a: AffineTf[]): void {
  for (const x of a) x.scale?.dispose();
}

/** Float32 interval bounds of one affine layer (tensors, batch first). */
export interface AffineBoundsTf {
  lb: tf.Tensor;
  ub: tf.Tensor;
  /** P_{k-1}: input coordinates of W_k that can vary (float 0/1, batch first). */
  inMask: tf.Tensor;
  /** I^v_k after W_k (float 0/1), undefined when no ReLU_theta follows. */
  outMask: tf.Tensor | undefined;
}

const NEG = -1e30;

/**
 * Interval bounds of f_L over B(x, gamma) with tf ops (float32, detached
 * weights: nothing here is differentiated). Same rules as the float64 version
 * in ./intervals.ts, without rounding margins. gamma: one value per input.
 * Caller disposes the returned tensors (or wraps the call in tf.tidy).
 */
export function intervalBoundsTf(split: SplitModel, x: tf.Tensor, gamma: tf.Tensor1D): AffineBoundsTf[] {
  const B = x.shape[0];
  const affines = affinesTf(split);
  const res: AffineBoundsTf[] = [];
  tf.tidy(() => {
    let lo: tf.Tensor | undefined;
    let hi: tf.Tensor | undefined;
    let mask: tf.Tensor = tf.onesLike(x);
    let center: tf.Tensor = x; // raw input until the first affine map
    let k = 0;
    const ops = split.leftOps;
    for (let idx = 0; idx < ops.length; idx++) {
      const op = ops[idx];
      if (op.kind === 'normalize') continue; // folded into W'_1
      if (op.kind === 'flatten') {
        if (lo) {
          lo = tf.reshape(lo, [B, -1]);
          hi = tf.reshape(hi!, [B, -1]);
        } else center = tf.reshape(center, [B, -1]);
        mask = tf.reshape(mask, [B, -1]);
        continue;
      }
      if (op.kind === 'conv' || op.kind === 'dense') {
        const A = affines[k++];
        const w = op.layer.getWeights();
        const kernel = detach(w[0]);
        const bias = op.useBias ? detach(w[1]) : undefined;
        let c: tf.Tensor;
        let r: tf.Tensor;
        const g = tf.reshape(gamma, [B, ...A.outShape.map(() => 1)]);
        if (lo === undefined) {
          // First map: l2 ball, exact per-row norms of W' (borders included).
          let shifted = center;
          if (split.normalize) shifted = tf.sub(center, tf.tensor1d(op.kind === 'conv' ? split.normalize.mean : Array.from({ length: op.inSize }, (_, i) => split.normalize!.mean[i % split.normalize!.mean.length])));
          c = A.apply(shifted, kernel);
          const ones = tf.ones([1, ...A.inShape]);
          const sq = tf.square(kernel);
          const s2 = A.scale ? tf.square(A.scale) : undefined;
          const rowSq =
            op.kind === 'conv'
              ? tf.conv2d((s2 ? tf.mul(ones, s2) : ones) as tf.Tensor4D, sq as tf.Tensor4D, op.strides, op.padding)
              : tf.matMul((s2 ? tf.mul(ones, s2) : ones) as tf.Tensor2D, sq as tf.Tensor2D);
          r = tf.mul(g, tf.sqrt(rowSq));
        } else {
          const cin = tf.div(tf.add(lo, hi!), 2);
          const rin = tf.div(tf.sub(hi!, lo), 2);
          c = A.apply(cin, kernel);
          const absK = tf.abs(kernel);
          r = op.kind === 'conv' ? tf.conv2d(rin as tf.Tensor4D, absK as tf.Tensor4D, op.strides, op.padding) : tf.matMul(rin as tf.Tensor2D, absK as tf.Tensor2D);
        }
        if (bias) c = tf.add(c, bias);
        lo = tf.sub(c, r);
        hi = tf.add(c, r);
        res.push({ lb: tf.keep(lo), ub: tf.keep(hi), inMask: tf.keep(mask), outMask: undefined });
        // Every output of an affine map can vary (a ReLU_theta after it narrows this).
        if (idx + 1 < ops.length && ops[idx + 1].kind !== 'relu_theta') mask = tf.onesLike(lo);
        continue;
      }
      if (op.kind === 'relu_theta') {
        // I^v = [hi > 0] * [lo < theta] as step(hi) * step(theta - lo): the same
        // 0/1 values as greater/less/logicalAnd (theta - lo > 0 exactly when
        // lo < theta in IEEE arithmetic), in two fast elementwise passes instead
        // of three slow comparison kernels (~30 ms at LeNet's batch 256 on wasm).
        // NaN bounds (only from NaN weights) give a NaN mask instead of 0.
        const m = tf.mul(tf.step(hi!), tf.step(tf.sub(op.theta, lo!)));
        res[res.length - 1].outMask = tf.keep(m);
        mask = m;
        // The clipped bounds feed the next layer; the last ReLU_theta of f_L needs none.
        if (idx + 1 < ops.length) {
          lo = tf.clipByValue(lo!, 0, op.theta);
          hi = tf.clipByValue(hi!, 0, op.theta);
        }
        continue;
      }
      // Max-pool with disjoint windows.
      const on = tf.greater(mask, 0);
      const pad = op.padding;
      const constMax = tf.maxPool(tf.where(on, tf.fill(lo!.shape as [number, number, number, number], NEG), lo!) as tf.Tensor4D, op.poolSize, op.strides, pad);
      const varMax = tf.maxPool(tf.where(on, hi!, tf.fill(hi!.shape as [number, number, number, number], NEG)) as tf.Tensor4D, op.poolSize, op.strides, pad);
      lo = tf.maxPool(lo! as tf.Tensor4D, op.poolSize, op.strides, pad);
      hi = tf.maxPool(hi! as tf.Tensor4D, op.poolSize, op.strides, pad);
      mask = tf.cast(tf.logicalAnd(tf.greater(varMax, NEG / 2), tf.greater(varMax, constMax)), 'float32');
    }
  });
  disposeAffines(affines);
  return res;
}
