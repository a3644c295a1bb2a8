/**
 * Interval bounds of f_L over the l2 ball B(x, gamma), and the varying masks
 * I^v (Appendix B, eqs. 21-22), in float64.
 *
 * - First affine map z = W' x + b' (normalization folded in): exact l2
 *   handling, z_i in [W'_i x + b'_i - gamma ||W'_i||_2, W'_i x + b'_i + gamma ||W'_i||_2].
 *   For a conv, W'_i is the row of output neuron i: the taps that fall inside
 *   the image (scaled by 1/std of their channel), so border rows are exact too.
 * - Later affine maps: center/radius form, c' = W c + b, r' = |W| r.
 * - ReLU_theta: clip both bounds to [0, theta]; neuron i varies iff
 *   UB_i > 0 and LB_i < theta (eq. 22). A non-varying neuron is constant on
 *   the ball (0 or theta).
 * - Max-pool (disjoint windows): [max LB, max UB]. A pooled output can vary
 *   unless every input of its window is non-varying, or a non-varying input's
 *   constant value is >= the UB of every varying input of the window.
 *
 * Rounding: every float64 operation has relative error <= u = 2^-53. Each
 * bound is widened by twice the classical a-priori error bound of the sums
 * that produced it (gamma_n times the sum of absolute terms), so the
 * intervals contain the exact real-arithmetic intervals; a mask computed
 * from them can only mark more neurons as varying, never fewer. That is what
 * makes the `sound` local bound sound.
 */
import { Left64, Step64, U64, csrApply, csrApplyAbs, csrRowNorms, gammaN, Affine64 } from './ops64';

export interface AffineBounds {
  /** Layer name in the model. */
  name: string;
  /** 1-based index k of W_k in f_L. */
  affineIndex: number;
  /** Bounds of the pre-activation z_k = W_k(...) + b_k over the ball. */
  lb: Float64Array;
  ub: Float64Array;
  /** Coordinates of W_k's input that can vary over the ball (P_{k-1}; all ones for k = 1). */
  inMask: Uint8Array;
  /** I^v_k of the ReLU_theta after W_k; undefined when no ReLU_theta follows (model-final layer). */
  outMask: Uint8Array | undefined;
}

export interface Intervals {
  gamma: number;
  layers: AffineBounds[];
  /** Bounds of f_L(x') over the ball. */
  output: { lb: Float64Array; ub: Float64Array };
}

/** Widen [c - r, c + r] so that it contains the exact interval despite the final roundings. */
function toBounds(c: Float64Array, r: Float64Array): { lb: Float64Array; ub: Float64Array } {
  const lb = new Float64Array(c.length);
  const ub = new Float64Array(c.length);
  for (let i = 0; i < c.length; i++) {
    const rr = r[i] * (1 + 4 * U64) + (Math.abs(c[i]) + r[i]) * 4 * U64 + 1e-300;
    lb[i] = c[i] - rr;
    ub[i] = c[i] + rr;
  }
  return { lb, ub };
}

function affineStep(op: Affine64, lo: Float64Array | undefined, hi: Float64Array | undefined, x: Float64Array | undefined, gamma: number) {
  const W = op.W;
  const n = W.rows;
  const g = 2 * gammaN(W.maxRowNnz + 6);
  const c = new Float64Array(n);
  const r = new Float64Array(n);
  if (x !== undefined) {
    // First affine map: the ball is still an l2 ball, so each row's l2 norm is exact.
    csrApply(W, x, c);
    const absX = x.map(Math.abs);
    const mag = csrApplyAbs(W, absX);
    const norms = csrRowNorms(W);
    for (let i = 0; i < n; i++) {
      c[i] += op.bias[i];
      r[i] = gamma * norms[i] * (1 + g) + g * (mag[i] + op.biasMag[i]);
    }
  } else {
    const m = lo!.length;
    const cin = new Float64Array(m);
    const rin = new Float64Array(m);
    for (let j = 0; j < m; j++) {
      cin[j] = 0.5 * lo![j] + 0.5 * hi![j];
      rin[j] = (0.5 * hi![j] - 0.5 * lo![j]) * (1 + 4 * U64) + Math.abs(cin[j]) * 4 * U64;
    }
    csrApply(W, cin, c);
    const absC = cin.map(Math.abs);
    const mag = csrApplyAbs(W, absC);
    const wr = csrApplyAbs(W, rin);
    for (let i = 0; i < n; i++) {
      c[i] += op.bias[i];
      r[i] = wr[i] * (1 + g) + g * (mag[i] + op.biasMag[i]);
    }
  }
  return toBounds(c, r);
}

function poolStep(step: Extract<Step64, { kind: 'maxpool' }>, lo: Float64Array, hi: Float64Array, mask: Uint8Array) {
  const [H, W, C] = step.inShape;
  const [Ho, Wo] = step.outShape;
  const n = Ho * Wo * C;
  const olo = new Float64Array(n);
  const ohi = new Float64Array(n);
  const omask = new Uint8Array(n);
  for (let oh = 0; oh < Ho; oh++) {
    for (let ow = 0; ow < Wo; ow++) {
      for (let c = 0; c < C; c++) {
        let l = -Infinity;
        let u = -Infinity;
        let constMax = -Infinity; // largest constant (non-varying) input
        let varMax = -Infinity; // largest upper bound of a varying input
        for (let a = 0; a < step.poolSize[0]; a++) {
          const h = oh * step.strides[0] + a - step.padTop;
          if (h < 0 || h >= H) continue;
          for (let b = 0; b < step.poolSize[1]; b++) {
            const w = ow * step.strides[1] + b - step.padLeft;
            if (w < 0 || w >= W) continue;
            const j = (h * W + w) * C + c;
            if (lo[j] > l) l = lo[j];
            if (hi[j] > u) u = hi[j];
            if (mask[j]) varMax = Math.max(varMax, hi[j]);
            else constMax = Math.max(constMax, lo[j]);
          }
        }
        const o = (oh * Wo + ow) * C + c;
        olo[o] = l;
        ohi[o] = u;
        omask[o] = varMax === -Infinity || constMax >= varMax ? 0 : 1;
      }
    }
  }
  return { lo: olo, hi: ohi, mask: omask };
}

/**
 * Interval bounds of f_L over B(x, gamma) for one input x (raw pixels, flat,
 * channels last) given f_L in float64 (see `left64`).
 */
export function intervalBounds64(net: Left64, x: Float64Array, gamma: number): Intervals {
  if (!(gamma >= 0) || !Number.isFinite(gamma)) throw new Error(`intervalBounds: gamma must be a finite number >= 0, got ${gamma}`);
  if (x.length !== net.inputSize) throw new Error(`intervalBounds: input has ${x.length} values, f_L expects ${net.inputSize}`);
  const layers: AffineBounds[] = [];
  let lo: Float64Array | undefined;
  let hi: Float64Array | undefined;
  let mask: Uint8Array = new Uint8Array(net.inputSize).fill(1);
  let first = true;
  for (const step of net.steps) {
    if (step.kind === 'affine') {
      const { lb, ub } = affineStep(step.op, lo, hi, first ? x : undefined, gamma);
      layers.push({ name: step.op.name, affineIndex: step.op.affineIndex, lb, ub, inMask: mask, outMask: undefined });
      lo = lb;
      hi = ub;
      mask = new Uint8Array(lb.length).fill(1);
      first = false;
    } else if (step.kind === 'relu_theta') {
      const n = lo!.length;
      const m = new Uint8Array(n);
      const l2 = new Float64Array(n);
      const h2 = new Float64Array(n);
      const t = step.theta;
      for (let i = 0; i < n; i++) {
        m[i] = hi![i] > 0 && lo![i] < t ? 1 : 0;
        l2[i] = Math.min(Math.max(lo![i], 0), t);
        h2[i] = Math.min(Math.max(hi![i], 0), t);
      }
      layers[layers.length - 1].outMask = m;
      lo = l2;
      hi = h2;
      mask = m;
    } else {
      const p = poolStep(step, lo!, hi!, mask);
      lo = p.lo;
      hi = p.hi;
      mask = p.mask;
    }
  }
  if (first) {
    // f_L without affine layers (s = 0): the identity.
    lo = x.map((v) => v - gamma);
    hi = x.map((v) => v + gamma);
  }
  return { gamma, layers, output: { lb: lo!, ub: hi! } };
}

/** Count of ones in a mask. */
export function maskCount(m: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < m.length; i++) s += m[i];
  return s;
}
