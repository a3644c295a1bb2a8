/**
 * Conv2DBackpropFilter for output-channel counts that are not multiples of 8
 * (LeNet: 20 and 50) through the SIMD filter gradient of ./conv-simd.ts,
 * which takes output channels 8 at a time: dy's channels are zero-padded to
 * the next multiple of 8 (one copy of dy), the kernel computes dW for the
 * padded count (the extra columns come out zero, as their dy is zero), and
 * the real columns are copied out.
 *
 * Used where the padding adds at most a quarter to the work (O8 <= 1.25 O:
 * 20 -> 24, 50 -> 56). Measured at batch 256 (CPU ms per call): LeNet conv1
 * [5,5,1,20] 34 -> 17, conv2 [5,5,20,50] 44 -> 21, against the dilated-conv
 * formulation used before. Sums run in another order than there: float32
 * rounding differences (~1e-6 relative).
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterSimd, simdFilterGradApplies } from './conv-simd';
import { simdFor } from './simd';

type Info = tf.TensorInfo;
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap };

/** The output-channel count the padded path computes, or undefined where it does not apply. */
export function paddedOutChannels(O: number): number | undefined {
  const O8 = Math.ceil(O / 8) * 8;
  return O8 !== O && O8 <= 1.25 * O ? O8 : undefined;
}

/** dW with dy's channels padded to a multiple of 8, or undefined (no SIMD module, not float32, or see paddedOutChannels). */
export function conv2DBackpropFilterPaddedOut({ inputs, backend, attrs }: KernelArgs): Info | undefined {
  const a = attrs ?? {};
  const { x, dy } = inputs as { x: Info; dy: Info };
  const [fh, fw, C, O] = a.filterShape as [number, number, number, number];
  const O8 = paddedOutChannels(O);
  if (O8 === undefined || !simdFilterGradApplies([fh, fw, C, O8]) || x.dtype !== 'float32' || dy.dtype !== 'float32' || dy.shape.length !== 4) return undefined;
  const s = simdFor(backend);
  if (!s) return undefined;
  const [B, oH, oW] = dy.shape;
  const b = s.backend;
  const dyp = b.makeOutput([B, oH, oW, O8], 'float32');
  try {
    // pad_nhwc zero-fills the copy and writes dy's O channels into each row of O8.
    s.k.pad_nhwc(s.ptr(dy), s.ptr(dyp), B, oH, oW, O, oH, oW, O8, 0, 0);
    const dw8 = conv2DBackpropFilterSimd({ inputs: { x, dy: dyp }, backend, attrs: { ...a, filterShape: [fh, fw, C, O8] } });
    if (!dw8) return undefined;
    try {
      const out = b.makeOutput([fh, fw, C, O], 'float32');
      // Views after the allocation: growing the heap detaches older ones.
      const src = s.f32(s.ptr(dw8), fh * fw * C * O8);
      const dst = s.f32(s.ptr(out), fh * fw * C * O);
      for (let r = 0; r < fh * fw * C; r++) dst.set(src.subarray(r * O8, r * O8 + O), r * O);
      return out;
    } finally {
      b.disposeData(dw8.dataId);
    }
  } finally {
    b.disposeData(dyp.dataId);
  }
}
