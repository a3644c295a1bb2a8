/**
 * f_L in float64, as explicit sparse matrices: the ground the `sound` bounds
 * stand on.
 *
 * Each affine layer (conv or dense) becomes a CSR matrix W (rows = output
 * neurons, columns = input coordinates in channels-last order, only the taps
 * that exist: zero padding contributes nothing), so one code path serves
 * interval propagation, masked Gram matrices and row norms for both kinds.
 * The normalization (x - mean) / std is folded into the first affine map:
 * W'_1 = W_1 diag(1/std), b'_1 = b_1 - W'_1 mean (padding taps are absent from
 * the row, so borders fold correctly). Values are the model's float32
 * parameters; std and mean are rounded to float32 as the Normalize layer
 * uses them, so the object bounded is the real-arithmetic function the
 * model's parameters define.
 */
import * as tf from '@tensorflow/tfjs-core';
import { LeftOp, SplitModel } from '../models/split';

/** Unit roundoff of float64. */
export const U64 = 2 ** -53;
/** gamma_n = n u / (1 - n u): the classical bound on the relative error of an n-term float64 sum of products. */
export function gammaN(n: number): number {
  const nu = n * U64;
  if (nu >= 0.5) throw new Error(`gammaN: n = ${n} too large for an a-priori error bound`);
  return nu / (1 - nu);
}

export interface Csr {
  rows: number;
  cols: number;
  rowStart: Int32Array;
  colIdx: Int32Array;
  vals: Float64Array;
  /** Largest number of nonzeros in a row. */
  maxRowNnz: number;
}

export interface Affine64 {
  kind: 'conv' | 'dense';
  name: string;
  /** 1-based index of this affine layer in f_L. */
  affineIndex: number;
  inShape: number[];
  outShape: number[];
  W: Csr;
  bias: Float64Array;
  /** Absolute size of the folded bias terms, for rounding margins. */
  biasMag: Float64Array;
}

/** f_L as the float64 code walks it. */
export type Step64 =
  | { kind: 'affine'; op: Affine64 }
  | { kind: 'relu_theta'; theta: number; size: number }
  | { kind: 'maxpool'; inShape: [number, number, number]; outShape: [number, number, number]; poolSize: [number, number]; strides: [number, number]; padTop: number; padLeft: number };

export interface Left64 {
  inputSize: number;
  steps: Step64[];
  /** The affine steps, in order. */
  affines: Affine64[];
}

function convCsr(op: Extract<LeftOp, { kind: 'conv' }>, kernel: Float32Array, colScale: Float64Array): Csr {
  const [H, Wd, C] = op.inShape;
  const [Ho, Wo, Co] = op.outShape;
  const [kh, kw] = op.kernelSize;
  const [sh, sw] = op.strides;
  const rows = Ho * Wo * Co;
  const rowStart = new Int32Array(rows + 1);
  const maxNnz = kh * kw * C;
  const colTmp = new Int32Array(rows * maxNnz);
  const valTmp = new Float64Array(rows * maxNnz);
  let nnz = 0;
  let maxRowNnz = 0;
  for (let oh = 0; oh < Ho; oh++) {
    for (let ow = 0; ow < Wo; ow++) {
      for (let co = 0; co < Co; co++) {
        const r = (oh * Wo + ow) * Co + co;
        rowStart[r] = nnz;
        // Taps in (kh, kw, ci) order give increasing column indices: rows come out sorted.
        for (let a = 0; a < kh; a++) {
          const h = oh * sh + a - op.padTop;
          if (h < 0 || h >= H) continue;
          for (let b = 0; b < kw; b++) {
            const w = ow * sw + b - op.padLeft;
            if (w < 0 || w >= Wd) continue;
            for (let ci = 0; ci < C; ci++) {
              const col = (h * Wd + w) * C + ci;
              colTmp[nnz] = col;
              valTmp[nnz] = kernel[((a * kw + b) * C + ci) * Co + co] * colScale[col];
              nnz++;
            }
          }
        }
        maxRowNnz = Math.max(maxRowNnz, nnz - rowStart[r]);
      }
    }
  }
  rowStart[rows] = nnz;
  return { rows, cols: H * Wd * C, rowStart, colIdx: colTmp.slice(0, nnz), vals: valTmp.slice(0, nnz), maxRowNnz };
}

function denseCsr(inSize: number, outSize: number, kernel: Float32Array, colScale: Float64Array): Csr {
  // tfjs dense kernel is [in, out]; row o of W is kernel[:, o].
  const rowStart = new Int32Array(outSize + 1);
  const colIdx = new Int32Array(inSize * outSize);
  const vals = new Float64Array(inSize * outSize);
  for (let o = 0; o < outSize; o++) {
    rowStart[o] = o * inSize;
    for (let i = 0; i < inSize; i++) {
      colIdx[o * inSize + i] = i;
      vals[o * inSize + i] = kernel[i * outSize + o] * colScale[i];
    }
  }
  rowStart[outSize] = inSize * outSize;
  return { rows: outSize, cols: inSize, rowStart, colIdx, vals, maxRowNnz: inSize };
}

/** Read f_L's parameters once (a snapshot: later weight updates are not seen). */
export function left64(split: SplitModel): Left64 {
  const ops = split.leftOps;
  const inputSize = split.inputShape.reduce((a, b) => a * b, 1);
  const steps: Step64[] = [];
  const affines: Affine64[] = [];
  let mean: Float64Array | undefined;
  let colScale: Float64Array | undefined;
  for (const op of ops) {
    if (op.kind === 'normalize') {
      const C = op.mean.length;
      const last = op.shape[op.shape.length - 1];
      if (last !== C) throw new Error(`left64: Normalize has ${C} channel statistics but its input has ${last} channels`);
      mean = new Float64Array(inputSize);
      colScale = new Float64Array(inputSize);
      for (let i = 0; i < inputSize; i++) {
        mean[i] = Math.fround(op.mean[i % C]);
        colScale[i] = 1 / Math.fround(op.std[i % C]);
      }
      continue;
    }
    if (op.kind === 'flatten') continue; // channels-last flatten keeps the memory order
    if (op.kind === 'relu_theta') {
      steps.push({ kind: 'relu_theta', theta: op.theta, size: op.shape.reduce((a, b) => a * b, 1) });
      continue;
    }
    if (op.kind === 'maxpool') {
      steps.push({ kind: 'maxpool', inShape: op.inShape, outShape: op.outShape, poolSize: op.poolSize, strides: op.strides, padTop: op.padTop, padLeft: op.padLeft });
      continue;
    }
    const weights = op.layer.getWeights();
    const kernel = weights[0].dataSync() as Float32Array;
    const biasRaw = op.useBias ? (weights[1].dataSync() as Float32Array) : undefined;
    const first = affines.length === 0;
    const inSize = op.kind === 'conv' ? op.inShape[0] * op.inShape[1] * op.inShape[2] : op.inSize;
    const scale = first && colScale ? colScale : new Float64Array(inSize).fill(1);
    const W = op.kind === 'conv' ? convCsr(op, kernel, scale) : denseCsr(op.inSize, op.outSize, kernel, scale);
    const Co = op.kind === 'conv' ? op.outShape[2] : op.outSize;
    const bias = new Float64Array(W.rows);
    const biasMag = new Float64Array(W.rows);
    for (let r = 0; r < W.rows; r++) {
      let b = biasRaw ? biasRaw[r % Co] : 0;
      let mag = Math.abs(b);
      if (first && mean) {
        // b'_r = b_r - sum_j W'_rj mean_j: the normalization's shift, row by row.
        for (let k = W.rowStart[r]; k < W.rowStart[r + 1]; k++) {
          const t = W.vals[k] * mean[W.colIdx[k]];
          b -= t;
          mag += Math.abs(t);
        }
      }
      bias[r] = b;
      biasMag[r] = mag;
    }
    const a: Affine64 = {
      kind: op.kind,
      name: op.layer.name,
      affineIndex: op.affineIndex,
      inShape: op.kind === 'conv' ? op.inShape.slice() : [op.inSize],
      outShape: op.kind === 'conv' ? op.outShape.slice() : [op.outSize],
      W,
      bias,
      biasMag,
    };
    affines.push(a);
    steps.push({ kind: 'affine', op: a });
  }
  return { inputSize, steps, affines };
}

/** y = W x (float64). */
export function csrApply(W: Csr, x: Float64Array, out = new Float64Array(W.rows)): Float64Array {
  for (let r = 0; r < W.rows; r++) {
    let s = 0;
    for (let k = W.rowStart[r]; k < W.rowStart[r + 1]; k++) s += W.vals[k] * x[W.colIdx[k]];
    out[r] = s;
  }
  return out;
}

/** y = |W| x for x >= 0. */
export function csrApplyAbs(W: Csr, x: Float64Array, out = new Float64Array(W.rows)): Float64Array {
  for (let r = 0; r < W.rows; r++) {
    let s = 0;
    for (let k = W.rowStart[r]; k < W.rowStart[r + 1]; k++) s += Math.abs(W.vals[k]) * x[W.colIdx[k]];
    out[r] = s;
  }
  return out;
}

/** x = W^T y (float64). */
export function csrApplyT(W: Csr, y: Float64Array, out = new Float64Array(W.cols)): Float64Array {
  out.fill(0);
  for (let r = 0; r < W.rows; r++) {
    const yr = y[r];
    if (yr === 0) continue;
    for (let k = W.rowStart[r]; k < W.rowStart[r + 1]; k++) out[W.colIdx[k]] += W.vals[k] * yr;
  }
  return out;
}

/** l2 norm of every row. */
export function csrRowNorms(W: Csr): Float64Array {
  const out = new Float64Array(W.rows);
  for (let r = 0; r < W.rows; r++) {
    let s = 0;
    for (let k = W.rowStart[r]; k < W.rowStart[r + 1]; k++) s += W.vals[k] * W.vals[k];
    out[r] = Math.sqrt(s);
  }
  return out;
}

/** One input of a batch as float64, checked against f_L's input size. */
export function inputsAsFloat64(x: tf.Tensor, inputSize: number): Float64Array[] {
  const per = x.size / x.shape[0];
  if (x.rank < 2 || per !== inputSize) {
    throw new Error(`expected a batch of inputs of ${inputSize} values each (shape [batch, ...inputShape]), got shape [${x.shape}]`);
  }
  const data = x.dataSync();
  const out: Float64Array[] = [];
  for (let b = 0; b < x.shape[0]; b++) out.push(Float64Array.from(data.subarray(b * per, (b + 1) * per)));
  return out;
}

/**
 * The affine part of one conv or dense layer as a float64 CSR matrix on its
 * actual input shape (padding, stride), optionally with its columns scaled
 * (the folded normalization 1/std).
 */
export function affineCsr(op: Extract<LeftOp, { kind: 'conv' } | { kind: 'dense' }>, colScale?: Float64Array): Csr {
  const kernel = op.layer.getWeights()[0].dataSync() as Float32Array;
  const inSize = op.kind === 'conv' ? op.inShape[0] * op.inShape[1] * op.inShape[2] : op.inSize;
  const scale = colScale ?? new Float64Array(inSize).fill(1);
  return op.kind === 'conv' ? convCsr(op, kernel, scale) : denseCsr(op.inSize, op.outSize, kernel, scale);
}
