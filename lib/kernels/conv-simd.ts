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
  const wp = b.makeOutput([fh * fw * Cp * O], 'float32');
  const y = b.makeOutput([B, oH, oW, O], 'float32');
  try {
    if (!direct) s.k.pad_nhwc(s.ptr(x), s.ptr(xp), B, H, W, C, Hp, Wp, Cp, top, left);
    const wv = s.f32(s.ptr(wp), fh * fw * Cp * O);
    if (Cp === C) wv.set(w);
    else {
      wv.fill(0);
      for (let t = 0; t < fh * fw; t++) wv.set(w.subarray(t * C * O, (t + 1) * C * O), t * Cp * O);
    }
    s.k.conv_forward(s.ptr(xp), s.ptr(wp), s.ptr(y), B, Hp, Wp, Cp, oH, oW, O, fh, fw, sh, sw);
    return y;
  } finally {
    if (!direct) b.disposeData(xp.dataId);
    b.disposeData(wp.dataId);
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

/**
 * Conv2DBackpropInput for stride 1 by conv_forward: dx is the correlation of
 * dy, padded by (fh-1-top, fw-1-left), with the filter rotated by 180 degrees
 * and its channel axes swapped, Wrot[a, b, o, c] = W[fh-1-a, fw-1-b, c, o].
 * Undefined for strides > 1 or input channels not in 8s.
 */
export function conv2DBackpropInputSimd({ inputs, backend, attrs }: KernelArgs): Info | undefined {
  const a = attrs ?? {};
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  if (!channelsLast(a.dataFormat) || !dilationOne(a.dilations) || dy.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
  const ci = tf.backend_util.computeConv2DInfo(a.inputShape as Shape4, filter.shape as Shape4, a.strides as number | [number, number], 1, a.pad as 'same' | 'valid' | number, a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: oH, outWidth: oW, outChannels: O, filterHeight: fh, filterWidth: fw } = ci;
  if (ci.strideHeight !== 1 || ci.strideWidth !== 1 || !simdForwardApplies(C) || !simdFor(backend)) return undefined;
  if (ci.padInfo.top > fh - 1 || ci.padInfo.left > fw - 1) return undefined; // padding wider than the filter
  const w = filterValues(backend, filter);
  const rot = new Float32Array(w.length);
  for (let di = 0; di < fh; di++)
    for (let dj = 0; dj < fw; dj++)
      for (let c = 0; c < C; c++)
        for (let o = 0; o < O; o++) rot[(((fh - 1 - di) * fw + (fw - 1 - dj)) * O + o) * C + c] = w[((di * fw + dj) * C + c) * O + o];
  return convForwardSimd(backend, dy, rot, { B, H: oH, W: oW, C: O, oH: H, oW: W, O: C, fh, fw, sh: 1, sw: 1, top: fh - 1 - ci.padInfo.top, left: fw - 1 - ci.padInfo.left });
}
