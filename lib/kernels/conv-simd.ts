/**
 * Conv2DBackpropFilter on wasm by the SIMD kernel of ./simd.c
 * (conv_filter_grad): dW[di,dj,c,o] = sum_{b,i,j} x[b, i*sh+di-top, j*sw+dj-left, c] dy[b,i,j,o]
 * accumulated in registers (4 input x 8 output channels at a time) over the
 * pixels of one image, straight from x and dy: no transposes, no im2col, no
 * packing of a fresh "weights" operand. x is first copied into a zero-padded
 * buffer (so every tap of every output pixel is in range) whose channel count
 * is rounded up to a multiple of 4; the extra channels' rows of dW are
 * dropped at the end.
 *
 * Measured on ResNet-20's shapes at batch 128 (bench/README.md): 3-4x faster
 * than the dilated-conv formulation (two full transposes plus an XNNPACK conv
 * with a 32x32x128 "filter" packed anew on every call).
 */
import * as tf from '@tensorflow/tfjs-core';
import { simdFor } from './simd';

type Info = tf.TensorInfo;
type Shape4 = [number, number, number, number];

/** Whether the SIMD kernel handles this filter gradient (output channels in blocks of 8). */
export function simdFilterGradApplies(filterShape: number[]): boolean {
  return filterShape[3] % 8 === 0;
}

/** dW by conv_filter_grad, or undefined when it does not apply (see simdFilterGradApplies) or the heap is unreachable. */
export function conv2DBackpropFilterSimd({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): Info | undefined {
  const a = attrs ?? {};
  const { x, dy } = inputs as { x: Info; dy: Info };
  const fShape = a.filterShape as Shape4;
  if (!simdFilterGradApplies(fShape) || x.dtype !== 'float32' || dy.dtype !== 'float32') return undefined;
  const s = simdFor(backend);
  if (!s) return undefined;
  const ci = tf.backend_util.computeConv2DInfo(x.shape as Shape4, fShape, a.strides as number | [number, number], 1, a.pad as 'same' | 'valid' | number, a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined, false, 'channelsLast');
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: oH, outWidth: oW, outChannels: O, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = ci;
  const { top, left } = ci.padInfo;
  const Cp = Math.ceil(C / 4) * 4;
  // Rows / columns of the padded input the taps reach: (o-1)*s + f.
  const Hp = Math.max(top + H, (oH - 1) * sh + fh);
  const Wp = Math.max(left + W, (oW - 1) * sw + fw);
  const b = s.backend;
  const direct = top === 0 && left === 0 && Cp === C && Hp === H && Wp === W;
  const xp = direct ? x : b.makeOutput([B, Hp, Wp, Cp], 'float32');
  // Winograd only from 64x64 channels: clearly faster there; at 16 and 32
  // channels single calls favoured it by ~11% but whole ResNet-20 steps did
  // not show it (bench/README.md), so the direct kernel stays.
  if (useWinograd && fh === 3 && fw === 3 && sh === 1 && sw === 1 && oH % 2 === 0 && oW % 2 === 0 && Cp * O >= WINO_DW_MIN_CHANNELS) {
    return winogradFilterGrad(s, x, xp, direct, dy, fShape, { B, H, W, C, Cp, Hp, Wp, oH, oW, O, top, left });
  }
  const dw = Cp === C ? b.makeOutput(fShape, 'float32') : b.makeOutput([fh * fw * Cp * O], 'float32');
  try {
    if (!direct) s.k.pad_nhwc(s.ptr(x), s.ptr(xp), B, H, W, C, Hp, Wp, Cp, top, left);
    s.f32(s.ptr(dw), fh * fw * Cp * O).fill(0);
    s.k.conv_filter_grad(s.ptr(xp), s.ptr(dy), s.ptr(dw), B, Hp, Wp, Cp, oH, oW, O, fh, fw, sh, sw);
    if (Cp === C) return dw;
    const out = b.makeOutput(fShape, 'float32');
    const src = s.f32(s.ptr(dw), fh * fw * Cp * O);
    const dst = s.f32(s.ptr(out), fh * fw * C * O);
    for (let t = 0; t < fh * fw; t++) dst.set(src.subarray(t * Cp * O, (t * Cp + C) * O), t * C * O);
    return out;
  } finally {
    if (!direct) b.disposeData(xp.dataId);
    if (Cp !== C) b.disposeData(dw.dataId);
  }
}

/** Smallest Cp * O for which the filter gradient goes through Winograd (see conv2DBackpropFilterSimd). */
let WINO_DW_MIN_CHANNELS = 64 * 64;

/** Tiles per chunk of simd.c's winograd_filter_grad (WINO_DW_T there). */
const WINO_DW_T = 32;

/**
 * dW of a 3x3 stride-1 conv by Winograd F(3x3, 2x2) (simd.c
 * winograd_filter_grad): the kernel sums the transformed products over all
 * tiles into M [16, Cp, O]; here dW[di, dj, c, o] = (G^T M[., ., c, o] G)[di, dj],
 * G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1], once per call.
 */
function winogradFilterGrad(
  s: NonNullable<ReturnType<typeof simdFor>>, x: Info, xp: Info, direct: boolean, dy: Info, fShape: Shape4,
  g: { B: number; H: number; W: number; C: number; Cp: number; Hp: number; Wp: number; oH: number; oW: number; O: number; top: number; left: number },
): Info {
  const { B, H, W, C, Cp, Hp, Wp, oH, oW, O, top, left } = g;
  const b = s.backend;
  const M = b.makeOutput([16 * Cp * O], 'float32');
  try {
    if (!direct) s.k.pad_nhwc(s.ptr(x), s.ptr(xp), B, H, W, C, Hp, Wp, Cp, top, left);
    s.f32(s.ptr(M), 16 * Cp * O).fill(0);
    const V = s.scratch(4 * 16 * WINO_DW_T * (Cp + O));
    s.k.winograd_filter_grad(s.ptr(xp), s.ptr(dy), s.ptr(M), B, Hp, Wp, Cp, oH, oW, O, V, V + 4 * 16 * WINO_DW_T * Cp);
    const out = b.makeOutput(fShape, 'float32');
    const m = s.f32(s.ptr(M), 16 * Cp * O);
    const dw = s.f32(s.ptr(out), 9 * C * O);
    const GT = [[1, 0.5, 0.5, 0], [0, 0.5, -0.5, 0], [0, 0.5, 0.5, 1]];
    const t = new Float64Array(12);
    for (let c = 0; c < C; c++)
      for (let o = 0; o < O; o++) {
        // G^T M (3x4), then (G^T M) G (3x3)
        for (let i = 0; i < 3; i++)
          for (let q = 0; q < 4; q++) {
            let v = 0;
            for (let r = 0; r < 4; r++) v += GT[i][r] * m[((r * 4 + q) * Cp + c) * O + o];
            t[i * 4 + q] = v;
          }
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 3; j++) {
            let v = 0;
            for (let q = 0; q < 4; q++) v += t[i * 4 + q] * GT[j][q];
            dw[((i * 3 + j) * C + c) * O + o] = v;
          }
      }
    return out;
  } finally {
    if (!direct) b.disposeData(xp.dataId);
    b.disposeData(M.dataId);
  }
}

/** Geometry of a convolution as the SIMD kernels see it (NHWC, dilation 1). */
export interface SimdConvGeometry {
  B: number; H: number; W: number; C: number;
  oH: number; oW: number; O: number; fh: number; fw: number;
  sh: number; sw: number; top: number; left: number;
}

/** Whether conv_forward handles a conv producing O channels (blocks of 8). */
export function simdForwardApplies(O: number): boolean {
  return O % 8 === 0;
}

/** Tiles per chunk of simd.c's winograd_f2k3 (WINO_T there). */
const WINO_T = 16;

/** Winograd's filter transform U[xi = 4r + s][c][o] = (G g G^T)[r][s], g = w[:, :, c, o]; G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]. */
function winogradFilter(w: Float32Array, Cp: number, O: number): Float32Array {
  const U = new Float32Array(16 * Cp * O);
  const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
  const gg = new Float64Array(12);
  for (let c = 0; c < Cp; c++)
    for (let o = 0; o < O; o++) {
      // G g (4x3), then (G g) G^T (4x4)
      for (let r = 0; r < 4; r++)
        for (let j = 0; j < 3; j++) {
          let v = 0;
          for (let k = 0; k < 3; k++) v += G[r][k] * w[((k * 3 + j) * Cp + c) * O + o];
          gg[r * 3 + j] = v;
        }
      for (let r = 0; r < 4; r++)
        for (let q = 0; q < 4; q++) {
          let v = 0;
          for (let k = 0; k < 3; k++) v += gg[r * 3 + k] * G[q][k];
          U[((r * 4 + q) * Cp + c) * O + o] = v;
        }
    }
  return U;
}

/**
 * One SIMD correlation on the heap: from (padded input, [B, Hp, Wp, Cp] rows
 * and columns from this offset), w [fh, fw, Cp, O] (JS array), to (output
 * strides yImg / yRow / yPix). 3x3 stride-1 with even output sizes goes
 * through Winograd F(2x2, 3x3) (2.25x fewer multiplications), the rest
 * through the direct conv_forward.
 */
function correlate(
  s: NonNullable<ReturnType<typeof simdFor>>,
  from: number, w: Float32Array, to: number,
  d: { B: number; Hp: number; Wp: number; Cp: number; oH: number; oW: number; O: number; fh: number; fw: number; sh: number; sw: number; yImg: number; yRow: number; yPix: number },
): void {
  const b = s.backend;
  const wino = useWinograd && d.fh === 3 && d.fw === 3 && d.sh === 1 && d.sw === 1 && d.oH % 2 === 0 && d.oW % 2 === 0;
  const weights = wino ? winogradFilter(w, d.Cp, d.O) : w;
  const wt = b.makeOutput([weights.length], 'float32');
  try {
    s.f32(s.ptr(wt), weights.length).set(weights);
    if (wino) {
      const V = s.scratch(4 * 16 * WINO_T * (d.Cp + d.O));
      s.k.winograd_f2k3(from, s.ptr(wt), to, d.B, d.Hp, d.Wp, d.Cp, d.oH, d.oW, d.O, d.yImg, d.yRow, d.yPix, V, V + 4 * 16 * WINO_T * d.Cp);
    } else {
      s.k.conv_forward(from, s.ptr(wt), to, d.B, d.Hp, d.Wp, d.Cp, d.oH, d.oW, d.O, d.fh, d.fw, d.sh, d.sw, d.yImg, d.yRow, d.yPix);
    }
  } finally {
    b.disposeData(wt.dataId);
  }
}

let useWinograd = true;

/**
 * Turn the Winograd path of the SIMD convolutions on or off (tests and
 * benchmarks compare both); optionally set the smallest Cp * O for which the
 * filter gradient uses it.
 */
export function useSimdWinograd(on: boolean, filterGradMinChannels?: number): void {
  useWinograd = on;
  if (filterGradMinChannels !== undefined) WINO_DW_MIN_CHANNELS = filterGradMinChannels;
}

/**
 * y = conv(x, w) by the SIMD kernel conv_forward: x [B,H,W,C] copied into a
 * zero-padded buffer (channels rounded up to 4), w [fh,fw,C,O] given as a
 * Float32Array (it is small; the caller may have rearranged it, e.g. rotated
 * for an input gradient). Returns a new [B,oH,oW,O] tensor.
 */
export function convForwardSimd(backend: object, x: Info, w: Float32Array, g: SimdConvGeometry): Info {
  const s = simdFor(backend);
  if (!s) throw new Error('splitz SIMD conv: the wasm backend\'s memory is not reachable');
  const { B, H, W, C, oH, oW, O, fh, fw, sh, sw, top, left } = g;
  const Cp = Math.ceil(C / 4) * 4;
  const Hp = Math.max(top + H, (oH - 1) * sh + fh);
  const Wp = Math.max(left + W, (oW - 1) * sw + fw);
  const b = s.backend;
  const direct = top === 0 && left === 0 && Cp === C && Hp === H && Wp === W;
  const xp = direct ? x : b.makeOutput([B, Hp, Wp, Cp], 'float32');
  const y = b.makeOutput([B, oH, oW, O], 'float32');
  try {
    if (!direct) s.k.pad_nhwc(s.ptr(x), s.ptr(xp), B, H, W, C, Hp, Wp, Cp, top, left);
    let wp = w;
    if (Cp !== C) {
      wp = new Float32Array(fh * fw * Cp * O);
      for (let t = 0; t < fh * fw; t++) wp.set(w.subarray(t * C * O, (t + 1) * C * O), t * Cp * O);
    }
    correlate(s, s.ptr(xp), wp, s.ptr(y), { B, Hp, Wp, Cp, oH, oW, O, fh, fw, sh, sw, yImg: oH * oW * O, yRow: oW * O, yPix: O });
    return y;
  } catch (e) {
    b.disposeData(y.dataId);
    throw e;
  } finally {
    if (!direct) b.disposeData(xp.dataId);
  }
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap };

function dilationOne(d: unknown): boolean {
  const ds = d === undefined || d === null ? [1] : Array.isArray(d) ? d : [d];
  return ds.every((v) => v === 1);
}

function channelsLast(fmt: unknown): boolean {
  return fmt === undefined || fmt === 'NHWC' || fmt === 'channelsLast';
}

/** The filter's values, copied off the heap (later allocations may move the heap's buffer). */
function filterValues(backend: object, filter: Info): Float32Array {
  const s = simdFor(backend)!;
  return s.f32(s.ptr(filter), tf.util.sizeFromShape(filter.shape)).slice();
}

/**
 * Conv2D / FusedConv2D (without bias or activation) by conv_forward, or
 * undefined where it does not apply (dilation, layout, bias/activation, output
 * channels not in 8s) and the built-in XNNPACK kernel should run. Measured on
 * ResNet-20's 3x3 stride-1 convs at batch 128: 40-48 GFLOP/s vs XNNPACK's
 * 28-34 (bench/README.md).
 */
export function conv2DSimd({ inputs, backend, attrs }: KernelArgs): Info | undefined {
  const a = attrs ?? {};
  const { x, filter, bias, preluActivationWeights } = inputs as Record<string, Info | undefined>;
  if (!x || !filter || bias || preluActivationWeights) return undefined;
  if (a.activation !== undefined && a.activation !== 'linear') return undefined;
  if (!channelsLast(a.dataFormat) || !dilationOne(a.dilations) || x.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
  if (!simdForwardApplies(filter.shape[3]) || !simdFor(backend)) return undefined;
  const ci = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, a.strides as number | [number, number], 1, a.pad as 'same' | 'valid' | number, a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined);
  return convForwardSimd(backend, x, filterValues(backend, filter), {
    B: ci.batchSize, H: ci.inHeight, W: ci.inWidth, C: ci.inChannels, oH: ci.outHeight, oW: ci.outWidth, O: ci.outChannels,
    fh: ci.filterHeight, fw: ci.filterWidth, sh: ci.strideHeight, sw: ci.strideWidth, top: ci.padInfo.top, left: ci.padInfo.left,
  });
}

/** One residue class of input rows (or columns) for a strided input gradient; see conv2DBackpropInputSimd. */
interface InputClass {
  /** Rows p, p + s, p + 2s, ... of dx. */
  p: number;
  /** Their count. */
  M: number;
  /** Filter taps reaching them: d0, d0 + s, ..., K of them. */
  d0: number;
  K: number;
  /** dx row p + m*s reads dy rows m + shift .. m + shift + K - 1. */
  shift: number;
}

function inputClasses(s: number, pad: number, f: number, n: number): InputClass[] {
  const out: InputClass[] = [];
  for (let p = 0; p < s; p++) {
    const d0 = (p + pad) % s;
    const K = d0 < f ? Math.ceil((f - d0) / s) : 0;
    const e = (p + pad - d0) / s;
    out.push({ p, M: p < n ? Math.ceil((n - p) / s) : 0, d0, K, shift: e - (K - 1) });
  }
  return out;
}

/**
 * Conv2DBackpropInput by conv_forward, for any stride:
 *   dx[b, h, w, c] = sum over (i, di) with i*sh + di - top = h, (j, dj) likewise, and o, of dy[b, i, j, o] W[di, dj, c, o].
 * The rows h = p + m*sh of one residue class p are reached by the taps
 * di = d0, d0 + sh, ... only (d0 = (p + top) mod sh), each from dy row
 * m + const: a stride-1 correlation of dy with the sub-filter of those taps,
 * rotated by 180 degrees and with its channel axes swapped. So dx is sh*sw
 * small stride-1 convolutions of one zero-padded copy of dy, each writing
 * every sh-th row and sw-th column of dx, with exactly the multiply-adds of
 * the forward conv (the transposed-conv formulation multiplies the zeros it
 * inserts between dy's rows and columns: sh*sw times more work). Stride 1 is
 * the single class with the whole rotated filter. Input channels (this
 * kernel's output channels) not in 8s are computed as 8 when there are 3-7
 * of them; undefined otherwise (the caller's other paths).
 */
export function conv2DBackpropInputSimd({ inputs, backend, attrs }: KernelArgs): Info | undefined {
  const a = attrs ?? {};
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  if (!channelsLast(a.dataFormat) || !dilationOne(a.dilations) || dy.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
  const ci = tf.backend_util.computeConv2DInfo(a.inputShape as Shape4, filter.shape as Shape4, a.strides as number | [number, number], 1, a.pad as 'same' | 'valid' | number, a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: oH, outWidth: oW, outChannels: O, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = ci;
  const s = simdFor(backend);
  // A few input channels (ResNet's RGB stem: 3) are computed as 8 and
  // compacted: at most 8/3 of the true work, still ~2x faster than the
  // matmul + col2im path there. One channel (LeNet) keeps that path.
  const Cq = simdForwardApplies(C) ? C : 8;
  if (!s || (Cq !== C && !(C >= 3 && C < 8))) return undefined;
  const w = filterValues(backend, filter);
  const rows = inputClasses(sh, ci.padInfo.top, fh, H).filter((r) => r.M > 0);
  const cols = inputClasses(sw, ci.padInfo.left, fw, W).filter((q) => q.M > 0);
  const live = (k: InputClass) => k.K > 0;
  // Padding of dy so that every class reads in range from one buffer.
  const T = Math.max(0, ...rows.filter(live).map((r) => -r.shift));
  const L = Math.max(0, ...cols.filter(live).map((q) => -q.shift));
  const Hp = Math.max(T + oH, ...rows.filter(live).map((r) => T + r.shift + r.M - 1 + r.K));
  const Wp = Math.max(L + oW, ...cols.filter(live).map((q) => L + q.shift + q.M - 1 + q.K));
  const Op = Math.ceil(O / 4) * 4;
  const b = s.backend;
  const dyp = b.makeOutput([B, Hp, Wp, Op], 'float32');
  const dx = b.makeOutput([B, H, W, C], 'float32');
  const out = Cq === C ? dx : b.makeOutput([B, H, W, Cq], 'float32');
  const temps: Info[] = out === dx ? [dyp] : [dyp, out];
  try {
    s.k.pad_nhwc(s.ptr(dy), s.ptr(dyp), B, oH, oW, O, Hp, Wp, Op, T, L);
    // Rows or columns no tap reaches (e.g. 1x1 stride 2) get no gradient.
    if (!rows.every(live) || !cols.every(live)) s.f32(s.ptr(out), B * H * W * Cq).fill(0);
    for (const r of rows.filter(live)) {
      for (const q of cols.filter(live)) {
        const sub = new Float32Array(r.K * q.K * Op * Cq);
        for (let k = 0; k < r.K; k++) {
          const di = r.d0 + sh * (r.K - 1 - k);
          for (let l = 0; l < q.K; l++) {
            const dj = q.d0 + sw * (q.K - 1 - l);
            for (let c = 0; c < C; c++)
              for (let o = 0; o < O; o++) sub[((k * q.K + l) * Op + o) * Cq + c] = w[((di * fw + dj) * C + c) * O + o];
          }
        }
        const from = s.ptr(dyp) + 4 * (((T + r.shift) * Wp + (L + q.shift)) * Op);
        const to = s.ptr(out) + 4 * ((r.p * W + q.p) * Cq);
        correlate(s, from, sub, to, { B, Hp, Wp, Cp: Op, oH: r.M, oW: q.M, O: Cq, fh: r.K, fw: q.K, sh: 1, sw: 1, yImg: H * W * Cq, yRow: sh * W * Cq, yPix: sw * Cq });
      }
    }
    if (out !== dx) {
      const src = s.f32(s.ptr(out), B * H * W * Cq);
      const dst = s.f32(s.ptr(dx), B * H * W * C);
      for (let i = 0, n = B * H * W; i < n; i++) for (let c = 0; c < C; c++) dst[i * C + c] = src[i * Cq + c];
    }
    return dx;
  } catch (e) {
    b.disposeData(dx.dataId);
    throw e;
  } finally {
    for (const t of temps) b.disposeData(t.dataId);
  }
}
