/**
 * Global Lipschitz constants: the spectral norm of every conv/dense layer as
 * an operator on its actual input shape (padding, stride), for Fig. 1a /
 * Fig. 5 and the global-vs-local ablation; and the global bound of f_L
 * (product over its affine layers, normalization folded into the first).
 *
 * Each layer gets
 *  - `powerIteration`: power iteration on the true operator (conv and its
 *    adjoint conv2dTranspose, or matMul), `iterations` steps from a seeded
 *    random start: a lower estimate of the norm;
 *  - `upper`: a proven upper bound. 'gram-cholesky' (./sound.ts on the whole
 *    operator) when the banded Gram matrix is small enough; otherwise, for a
 *    conv, the patch bound
 *        ||conv|| <= sqrt(ceil(kh/sh) ceil(kw/sw)) ||K||_2,
 *    K = the Cout x (kh kw Cin) kernel matrix: ||conv x||^2 = sum over output
 *    positions p of ||K patch_p(x)||^2 <= ||K||^2 sum_p ||patch_p(x)||^2, and
 *    each input coordinate lies in at most ceil(kh/sh) ceil(kw/sw) patches
 *    (padding adds zeros only). ||K|| itself is certified by ./sound.ts. For a
 *    dense layer too large for the Gram route, sqrt(||W||_1 ||W||_inf).
 */
import * as tf from '@tensorflow/tfjs-core';
import { seededRandomNormal } from './seed';
import * as tfl from '@tensorflow/tfjs-layers';
import { LeftOp, SplitModel, describeLayer } from '../models/split';
import { Csr, U64, affineCsr, gammaN } from './ops64';
import { soundSpectralNorm } from './sound';
import { BoundMode } from './local';

type AffineOp = Extract<LeftOp, { kind: 'conv' } | { kind: 'dense' }>;

export interface LayerNorm {
  /** Index in the model's layer list (InputLayer excluded). */
  index: number;
  name: string;
  kind: 'conv' | 'dense';
  inShape: number[];
  outShape: number[];
  /** Power-iteration estimate (lower) of the spectral norm; NaN when mode is 'sound' only. */
  powerIteration: number;
  iterations: number;
  /** Proven upper bound; NaN when mode is 'paper'. */
  upper: number;
  upperMethod: 'gram-cholesky' | 'patch' | 'l1-linf' | 'none';
}

export interface GlobalOptions {
  /** 'paper': power iteration only; 'sound': upper bound only; 'both' (default for globalLayerLipschitz). */
  mode?: BoundMode | 'both';
  /** Power-iteration steps (default 100). */
  iterations?: number;
  seed?: number;
  /** Largest envelope Cholesky (multiply-adds) to attempt before falling back to the patch bound (default 4e8). */
  maxCholeskyCost?: number;
}

/**
 * Power iteration on W' (all masks ones) for one layer; returns ||W' v|| for
 * the final unit v. `std`: fold the normalization (W' = W diag(1/std)).
 */
export function powerIterationNorm(op: AffineOp, iterations: number, seed = 0, std?: number[]): number {
  const colScale = std?.map((s) => 1 / s);
  return tf.tidy(() => {
    const kernel = op.layer.getWeights()[0];
    const inShape = op.kind === 'conv' ? op.inShape : [op.inSize];
    const sc = colScale ? tf.tensor1d(op.kind === 'conv' ? colScale : Array.from({ length: op.inSize }, (_, i) => colScale[i % colScale.length])) : undefined;
    const apply = (v: tf.Tensor) => {
      const vs = sc ? tf.mul(v, sc) : v;
      return op.kind === 'conv' ? tf.conv2d(vs as tf.Tensor4D, kernel as tf.Tensor4D, op.strides, op.padding) : tf.matMul(vs as tf.Tensor2D, kernel as tf.Tensor2D);
    };
    const adjoint = (u: tf.Tensor) => {
      const t =
        op.kind === 'conv'
          ? tf.conv2dTranspose(u as tf.Tensor4D, kernel as tf.Tensor4D, [1, op.inShape[0], op.inShape[1], op.inShape[2]], op.strides, op.padding)
          : tf.matMul(u as tf.Tensor2D, kernel as tf.Tensor2D, false, true);
      return sc ? tf.mul(t, sc) : t;
    };
    let v = seededRandomNormal([1, ...inShape], seed);
    v = tf.div(v, tf.norm(v));
    for (let t = 0; t < iterations; t++) {
      const w = adjoint(apply(v));
      v = tf.div(w, tf.add(tf.norm(w), 1e-30));
    }
    return tf.norm(apply(v)).dataSync()[0];
  });
}

function kernelMatrixCsr(op: Extract<AffineOp, { kind: 'conv' }>, colScale?: number[]): Csr {
  const k = op.layer.getWeights()[0].dataSync() as Float32Array;
  const [kh, kw] = op.kernelSize;
  const C = op.inShape[2];
  const Co = op.outShape[2];
  const cols = kh * kw * C;
  const rowStart = new Int32Array(Co + 1);
  const colIdx = new Int32Array(Co * cols);
  const vals = new Float64Array(Co * cols);
  for (let co = 0; co < Co; co++) {
    rowStart[co] = co * cols;
    for (let j = 0; j < cols; j++) {
      colIdx[co * cols + j] = j;
      vals[co * cols + j] = k[j * Co + co] * (colScale ? 1 / Math.fround(colScale[j % C]) : 1);
    }
  }
  rowStart[Co] = Co * cols;
  return { rows: Co, cols, rowStart, colIdx, vals, maxRowNnz: cols };
}

/** A proven upper bound on the spectral norm of one affine layer (columns scaled by 1/std when `std` is given). */
export function soundLayerNorm(op: AffineOp, options: { std?: number[]; maxCholeskyCost?: number } = {}): { upper: number; method: LayerNorm['upperMethod'] } {
  const maxCost = options.maxCholeskyCost ?? 4e8;
  const inSize = op.kind === 'conv' ? op.inShape[0] * op.inShape[1] * op.inShape[2] : op.inSize;
  let colScale: Float64Array | undefined;
  if (options.std) {
    const std = options.std;
    colScale = new Float64Array(inSize);
    for (let i = 0; i < inSize; i++) colScale[i] = 1 / Math.fround(std[i % std.length]);
  }
  // Cheap pre-check of the Gram size before building it.
  const outSize = op.kind === 'conv' ? op.outShape[0] * op.outShape[1] * op.outShape[2] : op.outSize;
  const n = Math.min(inSize, outSize);
  const band = op.kind === 'conv' ? Math.min(n, (op.kernelSize[0] + 1) * op.inShape[1] * op.inShape[2]) : n;
  if ((n * band * band) / 2 <= maxCost) {
    const r = soundSpectralNorm(affineCsr(op, colScale), undefined, undefined, { maxCholeskyCost: maxCost });
    if (r.method !== 'too-large') return { upper: r.upper, method: 'gram-cholesky' };
  }
  if (op.kind === 'conv') {
    const K = kernelMatrixCsr(op, options.std);
    const overlap = Math.ceil(op.kernelSize[0] / op.strides[0]) * Math.ceil(op.kernelSize[1] / op.strides[1]);
    return { upper: soundSpectralNorm(K).upper * Math.sqrt(overlap) * (1 + 4 * U64), method: 'patch' };
  }
  const W = affineCsr(op, colScale);
  const rowSum = new Float64Array(W.rows);
  const colSum = new Float64Array(W.cols);
  for (let r = 0; r < W.rows; r++) {
    for (let k = W.rowStart[r]; k < W.rowStart[r + 1]; k++) {
      rowSum[r] += Math.abs(W.vals[k]);
      colSum[W.colIdx[k]] += Math.abs(W.vals[k]);
    }
  }
  const g = 1 + gammaN(Math.max(W.rows, W.cols) + 2);
  return { upper: Math.sqrt(Math.max(...rowSum) * g * Math.max(...colSum) * g) * (1 + 4 * U64), method: 'l1-linf' };
}

/** Spectral norm of every conv/dense layer of a model on its actual input shape. */
export function globalLayerLipschitz(model: tfl.LayersModel, options: GlobalOptions = {}): LayerNorm[] {
  const mode = options.mode ?? 'both';
  const iterations = options.iterations ?? 100;
  const out: LayerNorm[] = [];
  const layers = model instanceof tfl.Sequential ? model.layers : model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  layers.forEach((l, index) => {
    const cls = l.getClassName();
    if (cls !== 'Conv2D' && cls !== 'Dense') return;
    const op = describeLayer(l, index, 0, true) as AffineOp;
    const pi = mode === 'sound' ? NaN : powerIterationNorm(op, iterations, options.seed ?? 0);
    const up = mode === 'paper' ? { upper: NaN, method: 'none' as const } : soundLayerNorm(op, { maxCholeskyCost: options.maxCholeskyCost });
    out.push({
      index,
      name: l.name,
      kind: op.kind,
      inShape: op.kind === 'conv' ? op.inShape.slice() : [op.inSize],
      outShape: op.kind === 'conv' ? op.outShape.slice() : [op.outSize],
      powerIteration: pi,
      iterations: mode === 'sound' ? 0 : iterations,
      upper: up.upper,
      upperMethod: up.method,
    });
  });
  return out;
}

export interface GlobalSplitBound {
  mode: BoundMode;
  /** Product of the per-layer norms of f_L: the global bound (no masks). */
  L: number;
  perLayer: { name: string; norm: number; method: string }[];
}

/**
 * The global bound of f_L: prod_k ||W'_k|| (normalization folded into W'_1;
 * max-pools with disjoint windows count 1). `sound` (default): proven upper
 * bounds; `paper`: power iteration. s = 0 gives 1.
 */
export function globalLipschitzOfSplit(split: SplitModel, options: { mode?: BoundMode; iterations?: number; seed?: number; maxCholeskyCost?: number } = {}): GlobalSplitBound {
  const mode = options.mode ?? 'sound';
  const std = split.normalize?.std;
  const perLayer: GlobalSplitBound['perLayer'] = [];
  let L = 1;
  let first = true;
  for (const op of split.leftOps) {
    if (op.kind !== 'conv' && op.kind !== 'dense') continue;
    const s = first ? std : undefined;
    first = false;
    if (mode === 'sound') {
      const r = soundLayerNorm(op, { std: s, maxCholeskyCost: options.maxCholeskyCost });
      perLayer.push({ name: op.layer.name, norm: r.upper, method: r.method });
      L *= r.upper;
    } else {
      const n = powerIterationNorm(op, options.iterations ?? 100, options.seed ?? 0, s);
      perLayer.push({ name: op.layer.name, norm: n, method: 'power-iteration' });
      L *= n;
    }
  }
  if (mode === 'sound' && perLayer.length > 1) L *= 1 + 4 * perLayer.length * U64;
  return { mode, L, perLayer };
}
