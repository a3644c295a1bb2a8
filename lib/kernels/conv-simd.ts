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
