/**
 * Kernels the wasm backend lacks (or runs slowly) for training, registered by
 * initBackend().
 *
 * @tensorflow/tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter, so the
 * gradient of any conv layer fails on it, and its Conv2DBackpropInput is a
 * plain C loop (no XNNPACK), the slowest part of a LeNet training step.
 * Both gradients are correlations, so they are rewritten here as ONE forward
 * convolution each, over rearranged tensors, and run by the wasm backend's
 * own XNNPACK Conv2D kernel (never JavaScript loops over elements):
 *
 *   forward  y[b,i,j,o] = sum_{di,dj,c} x[b, i*s+di-pt, j*s+dj-pl, c] W[di,dj,c,o]
 *
 *   dW[di,dj,c,o] = sum_{b,i,j} x[b, i*s+di-pt, ...] dy[b,i,j,o]
 *     = conv2d(x^T : [C,H,W,B], dy^T : [oH,oW,B,O], stride 1, dilation s, pad pt)
 *       -- the batch plays the role of the input channel, dy the role of a
 *          (dilated) filter; the result [C,fh,fw,O] is transposed to [fh,fw,C,O].
 *
 *   dx[b,h,w,c] = sum_{di,dj,o} dyD[b, h+pt-di, w+pl-dj, o] W[di,dj,c,o]
 *     = conv2d(dyD, Wflip : [fh,fw,O,C], stride 1, pad fh-1-pt)
 *       -- dyD is dy with s-1 zeros inserted between rows and columns
 *          (the "transposed convolution"), Wflip the filter rotated by 180
 *          degrees with its channel axes swapped.
 *
 * Padding that a formula needs is passed to XNNPACK as explicit padding (free);
 * negative padding (input rows a 'valid' strided conv never reads) becomes a
 * crop. Only NHWC and dilation 1 are supported (what tfjs-core's conv
 * gradients themselves allow); anything else is a clear error.
 *
 * Depthwise conv gradients (DepthwiseConv2dNativeBackpropFilter/Input) are
 * registered too, as per-tap products and sums over strided slices, so
 * tfjs-layers depthwise/separable convs also train on wasm.
 *
 * Two built-in wasm kernels are replaced because training exposed them:
 * - BatchMatMul / _FusedMatMul with transposeA or transposeB leave XNNPACK
 *   for a slow loop (10x slower: 135-170 ms instead of 13 ms for a dense
 *   800x500 gradient at batch 256). The transpose is materialised first.
 * - MaxPoolGrad (and MaxPoolWithArgmax) of tfjs-backend-wasm 4.22 give wrong
 *   gradients for some shapes (e.g. [1,6,6,3], 2x2 pool: max error 0.86
 *   against the exact gradient) and send ties to the last maximum. The
 *   replacement follows TensorFlow's rule (the first maximum of a window in
 *   row-major order gets dy); see maxPoolGrad for why it is a JS loop.
 * - AvgPoolGrad (wasm AND cpu) is wrong at padded borders; see avgPoolGradFor.
 *
 * Speed (issue 5; measurements in bench/README.md):
 * - Conv2DBackpropInput picks, per shape, the transposed conv above or a
 *   matrix product + col2im (chooseBackpropInput); Conv2DBackpropFilter uses
 *   im2col + matmul for strided 1x1 convs (chooseBackpropFilter).
 * - Tile, Identity (zero-copy), Pow (exponents 2, 1, 0.5), Sum/Mean over
 *   leading axes, and ClipByValue's gradient are replaced by one-pass heap
 *   kernels (./heap.ts) where the built-in ones are many times slower.
 * - WebAssembly SIMD kernels of our own (./simd.c, loaded by ./simd.ts on the
 *   backend's heap) come first where they apply, the formulations above are
 *   the fallback: Conv2D/FusedConv2D without bias or activation, and
 *   Conv2DBackpropInput/Filter (./conv-simd.ts; direct convolutions, Winograd
 *   F(2x2,3x3) for 3x3 stride 1), training-mode batch norm as one kernel plus
 *   one gradient kernel (./batchnorm.ts), ReLU's gradient (./relu.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
// The wasm kernels this module composes (and the built-in one it replaces) must be registered first.
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import { WasmHeapBackend, clipByValueGradKernel, col2im, identityKernel, im2col, leadingAxesReduce, maxPoolGrad2x2, powFast, tileKernel } from './heap';
import { BN_TRAIN_GRAD_KERNEL, BN_TRAIN_KERNEL, batchNormInference, registerBatchNormTraining } from './batchnorm';
import { RELU_GRAD_KERNEL, registerReluGradient } from './relu';
import { overrideGradientOnWasm } from './gradient-override';
import { conv2DBackpropFilterSimd, conv2DBackpropInputSimd, conv2DSimd } from './conv-simd';
import { conv2DBackpropFilterPaddedOut } from './conv-pad';

type Info = tf.TensorInfo;
type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
type Shape4 = [number, number, number, number];

interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
}

/**
 * Which implementation answers Conv2DBackpropInput on wasm: 'splitz' (default)
 * picks 'matmul' or 'conv' per shape (see chooseBackpropInput); 'builtin' is
 * tfjs-backend-wasm's own loop.
 */
export type BackpropInputImpl = 'splitz' | 'conv' | 'matmul' | 'builtin' | 'simd';

let registered = false;
/** The wasm backend's own kernels that splitz replaced, by kernel name. */
const builtin = new Map<string, tf.KernelConfig>();
let backpropInputImpl: BackpropInputImpl = 'splitz';

/**
 * Runs wasm kernels on TensorInfos inside another kernel and frees every
 * intermediate it made, except the one result the caller keeps. Kernels are
 * called directly (as tfjs-backend-wasm's own kernels compose), not through
 * the engine, so nothing is taped or tracked twice.
 */
class KernelChain {
  private temps: Info[] = [];
  constructor(private readonly backend: WasmBackendLike) {}

  call(kernelName: string, inputs: tf.NamedTensorInfoMap | Info[], attrs: tf.NamedAttrMap = {}): Info {
    // A kernel splitz replaced is called in its built-in form, so a
    // replacement never calls itself.
    const kernel = builtin.get(kernelName) ?? tf.getKernel(kernelName, 'wasm');
    if (!kernel) throw new Error(`splitz wasm kernels: the wasm backend has no '${kernelName}' kernel, which the conv gradients need`);
    const out = kernel.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, backend: this.backend as unknown as object, attrs });
    if (Array.isArray(out)) throw new Error(`splitz wasm kernels: '${kernelName}' returned several tensors, expected one`);
    this.temps.push(out);
    return out;
  }

  /** Track a tensor made directly on the backend, to free it with the rest. */
  adopt(x: Info): Info {
    this.temps.push(x);
    return x;
  }

  scalar(value: number): Info {
    const b = this.backend as WasmBackendLike & { makeOutput(shape: number[], dtype: string, offset?: number, values?: Float32Array): Info };
    return this.adopt(b.makeOutput([], 'float32', undefined, new Float32Array([value])));
  }

  transpose(x: Info, perm: number[]): Info {
    return this.call(tf.Transpose, { x }, { perm });
  }

  reshape(x: Info, shape: number[]): Info {
    return this.call(tf.Reshape, { x }, { shape });
  }

  /** Keep rows [top, top+h) and columns [left, left+w) of an NHWC tensor. */
  crop(x: Info, top: number, h: number, left: number, w: number): Info {
    if (top === 0 && left === 0 && h === x.shape[1] && w === x.shape[2]) return x;
    return this.call(tf.Slice, { x }, { begin: [0, top, left, 0], size: [x.shape[0], h, w, x.shape[3]] });
  }

  /** Valid correlation with explicit non-negative padding, run by XNNPACK. */
  conv(x: Info, filter: Info, pads: [number, number, number, number], dilations: [number, number] = [1, 1]): Info {
    const [t, b, l, r] = pads;
    return this.call(
      tf.Conv2D,
      { x, filter },
      { strides: [1, 1], pad: [[0, 0], [t, b], [l, r], [0, 0]] as unknown as tf.NamedAttrMap[string], dataFormat: 'NHWC', dilations, dimRoundingMode: undefined as unknown as string },
    );
  }

  /**
   * Pad (positive amounts) or crop (negative amounts) rows and columns: the
   * positive parts are returned for the convolution's own padding, the
   * negative parts are applied here as a crop.
   */
  padOrCrop(x: Info, t: number, b: number, l: number, r: number): { x: Info; pads: [number, number, number, number] } {
    const [, h, w] = x.shape;
    const top = Math.max(0, -t);
    const left = Math.max(0, -l);
    const cropped = this.crop(x, top, h - top - Math.max(0, -b), left, w - left - Math.max(0, -r));
    return { x: cropped, pads: [Math.max(0, t), Math.max(0, b), Math.max(0, l), Math.max(0, r)] };
  }

  /** Detach `out` from the intermediates and free the rest. */
  finish(out: Info): Info {
    for (const t of this.temps) if (t !== out) this.backend.disposeData(t.dataId);
    this.temps = [];
    return out;
  }

  abort(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps = [];
  }
}

function chained(backend: object, body: (k: KernelChain) => Info): Info {
  const k = new KernelChain(backend as WasmBackendLike);
  try {
    return k.finish(body(k));
  } catch (e) {
    k.abort();
    throw e;
  }
}

function checkAttrs(kernel: string, attrs: tf.NamedAttrMap): void {
  const fmt = attrs.dataFormat as string | undefined;
  if (fmt !== undefined && fmt !== 'NHWC' && fmt !== 'channelsLast') {
    throw new Error(`${kernel} on wasm (splitz kernel): dataFormat '${fmt}' is not supported; use channels-last (NHWC) tensors.`);
  }
  const d = attrs.dilations as number | number[] | undefined;
  const ds = d === undefined ? [1] : Array.isArray(d) ? d : [d];
  if (ds.some((v) => v !== 1)) {
    throw new Error(`${kernel} on wasm (splitz kernel): dilations [${ds.join(', ')}] are not supported; only dilation 1 is.`);
  }
}

function convInfo(xShape: Shape4, filterShape: Shape4, attrs: tf.NamedAttrMap, depthwise = false): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides as number | [number, number],
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    depthwise,
    'channelsLast',
  );
}

/** dW as a dilated forward conv of x^T with dy^T (see the file comment). */
function conv2DBackpropFilter({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): Info {
  const a = attrs ?? {};
  checkAttrs('Conv2DBackpropFilter', a);
  const { x, dy } = inputs as { x: Info; dy: Info };
  const ci = convInfo(x.shape as Shape4, a.filterShape as Shape4, a);
  const { inHeight: H, inWidth: W, outHeight: oH, outWidth: oW, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = ci;
  const { top, left } = ci.padInfo;
  return chained(backend, (k) => {
    const xT = k.transpose(x, [3, 1, 2, 0]); // [C, H, W, B]
    const dyT = k.transpose(dy, [1, 2, 0, 3]); // [oH, oW, B, O]: a filter with B input channels
    // Rows the dilated "filter" spans: (oH-1)*sh + fh; whatever the input
    // (plus its top pad) lacks is bottom padding, whatever it has in excess
    // (never read by a 'valid' strided conv) is cropped.
    const p = k.padOrCrop(xT, top, (oH - 1) * sh + fh - top - H, left, (oW - 1) * sw + fw - left - W);
    const dWT = k.conv(p.x, dyT, p.pads, [sh, sw]); // [C, fh, fw, O]
    return k.transpose(dWT, [1, 2, 0, 3]);
  });
}

/**
 * dW as a matrix product: dW^T [O, fh*fw*C] = dy^T [O, N] . cols [N, fh*fw*C],
 * cols = im2col(x) built in one JS pass over the heap, N = B*oH*oW. Only dy
 * (and the small result) is transposed.
 */
function conv2DBackpropFilterMatMul({ inputs, backend, attrs }: KernelArgs): Info {
  const a = attrs ?? {};
  checkAttrs('Conv2DBackpropFilter', a);
  const { x, dy } = inputs as { x: Info; dy: Info };
  const fShape = a.filterShape as Shape4;
  const ci = convInfo(x.shape as Shape4, fShape, a);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: oH, outWidth: oW, outChannels: O, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = ci;
  const K = fh * fw * C;
  const N = B * oH * oW;
  const b = backend as WasmHeapBackend;
  const cols = b.makeOutput([1, N, K], 'float32');
  im2col(b.typedArrayFromHeap(x) as Float32Array, b.typedArrayFromHeap(cols) as Float32Array, { B, H, W, C, oH, oW, fh, fw, sh, sw, top: ci.padInfo.top, left: ci.padInfo.left });
  return chained(backend, (k) => {
    k.adopt(cols);
    const dyT = k.reshape(k.transpose(k.reshape(dy, [N, O]), [1, 0]), [1, O, N]);
    const dWT = k.call(tf.BatchMatMul, { a: dyT, b: cols }, { transposeA: false, transposeB: false }); // [1, O, K]
    return k.reshape(k.transpose(k.reshape(dWT, [O, K]), [1, 0]), fShape);
  });
}

/** Which implementation answers Conv2DBackpropFilter on wasm ('splitz': per shape, see chooseBackpropFilter). */
export type BackpropFilterImpl = 'splitz' | 'conv' | 'matmul' | 'simd';
let backpropFilterImpl: BackpropFilterImpl = 'splitz';

/** Choose the Conv2DBackpropFilter formulation on wasm (tests and benchmarks). */
export function useWasmConv2DBackpropFilter(impl: BackpropFilterImpl): void {
  if (!['splitz', 'conv', 'matmul', 'simd'].includes(impl)) throw new Error(`useWasmConv2DBackpropFilter: impl must be 'splitz', 'conv', 'matmul' or 'simd', got '${impl}'`);
  registerWasmTrainingKernels();
  backpropFilterImpl = impl;
}

/** Per-shape choice of the dW formulation; measured in bench/README.md. */
export function chooseBackpropFilter(inShape: Shape4, filterShape: Shape4, strides: number | [number, number], pad: Pad): 'conv' | 'matmul' {
  // The dilated-conv formulation wins on every LeNet / ResNet-20 shape measured
  // except strided 1x1 convs (ResNet's downsampling shortcuts), where im2col is
  // a plain strided gather and the matmul is small.
  const ci = tf.backend_util.computeConv2DInfo(inShape, filterShape, strides, 1, pad as 'same' | 'valid' | number);
  return ci.filterHeight * ci.filterWidth === 1 && (ci.strideHeight > 1 || ci.strideWidth > 1) ? 'matmul' : 'conv';
}

function conv2DBackpropFilterDispatch(args: KernelArgs): Info {
  const a = args.attrs ?? {};
  // The SIMD kernel (./conv-simd.ts) first, where it applies (output channels
  // in blocks of 8); 'simd' falls back like 'splitz' where it does not.
  if (backpropFilterImpl === 'splitz' || backpropFilterImpl === 'simd') {
    checkAttrs('Conv2DBackpropFilter', a);
    const fast = conv2DBackpropFilterSimd(args) ?? conv2DBackpropFilterPaddedOut(args);
    if (fast) return fast;
  }
  const impl =
    backpropFilterImpl === 'splitz' || backpropFilterImpl === 'simd'
      ? chooseBackpropFilter((args.inputs.x as Info).shape as Shape4, a.filterShape as Shape4, a.strides as number | [number, number], a.pad as Pad)
      : backpropFilterImpl;
  return impl === 'matmul' ? conv2DBackpropFilterMatMul(args) : conv2DBackpropFilter(args);
}

/** dx as a forward conv of the zero-dilated dy with the rotated filter. */
function conv2DBackpropInput({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): Info {
  const a = attrs ?? {};
  checkAttrs('Conv2DBackpropInput', a);
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  const ci = convInfo(a.inputShape as Shape4, filter.shape as Shape4, a);
  const { batchSize: B, inHeight: H, inWidth: W, outHeight: oH, outWidth: oW, outChannels: O, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = ci;
  const { top, left } = ci.padInfo;
  return chained(backend, (k) => {
    // Wflip[i,j,o,c] = W[fh-1-i, fw-1-j, c, o]
    const wFlip = k.transpose(k.call(tf.Reverse, { x: filter }, { dims: [0, 1] }), [0, 1, 3, 2]);
    let dyD = dy;
    if (sh > 1 || sw > 1) {
      // Insert s-1 zeros after every row / column: [B,oH,1,oW,1,O] padded to
      // [B,oH,sh,oW,sw,O]. The trailing zeros are cropped or padded below.
      const d6 = k.reshape(dy, [B, oH, 1, oW, 1, O]);
      const p6 = k.call(tf.PadV2, { x: d6 }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
      dyD = k.reshape(p6, [B, oH * sh, oW * sw, O]);
    }
    const Dh = dyD.shape[1];
    const Dw = dyD.shape[2];
    const pt = fh - 1 - top;
    const pl = fw - 1 - left;
    const p = k.padOrCrop(dyD, pt, H + fh - 1 - pt - Dh, pl, W + fw - 1 - pl - Dw);
    return k.conv(p.x, wFlip, p.pads); // [B, H, W, C]
  });
}

/**
 * Depthwise filter gradient: dW[di,dj,c,m] = sum_{b,i,j} x[b, i*s+di-pt, j*s+dj-pl, c] dy[b,i,j,c*M+m],
 * one strided slice, product and sum per filter tap (fh*fw wasm kernel calls).
 */
function depthwiseBackpropFilter({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): Info {
  const a = attrs ?? {};
  checkAttrs('DepthwiseConv2dNativeBackpropFilter', a);
  const { x, dy } = inputs as { x: Info; dy: Info };
  const fShape = a.filterShape as Shape4;
  const ci = convInfo(x.shape as Shape4, fShape, a, true);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: oH, outWidth: oW, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = ci;
  const M = fShape[3];
  const { top, left } = ci.padInfo;
  return chained(backend, (k) => {
    const xp = k.call(tf.PadV2, { x }, { paddings: [[0, 0], [top, Math.max(0, (oH - 1) * sh + fh - top - H)], [left, Math.max(0, (oW - 1) * sw + fw - left - W)], [0, 0]], constantValue: 0 });
    const dy3 = k.reshape(dy, [B * oH * oW, C, M]);
    const taps: Info[] = [];
    for (let di = 0; di < fh; di++) {
      for (let dj = 0; dj < fw; dj++) {
        const xs = k.call(tf.StridedSlice, { x: xp }, {
          begin: [0, di, dj, 0], end: [B, di + (oH - 1) * sh + 1, dj + (oW - 1) * sw + 1, C], strides: [1, sh, sw, 1],
          beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
        });
        const prod = k.call(tf.Multiply, { a: k.reshape(xs, [B * oH * oW, C, 1]), b: dy3 });
        taps.push(k.call(tf.Sum, { x: prod }, { axis: [0], keepDims: false }));
      }
    }
    const stacked = k.call(tf.Pack, taps, { axis: 0 });
    return k.reshape(stacked, [fh, fw, C, M]);
  });
}

/**
 * Depthwise input gradient: the forward depthwise conv (channel multiplier 1)
 * of the zero-dilated, padded dy over C*M channels with the rotated filter,
 * then a sum over the M outputs that came from each input channel.
 */
function depthwiseBackpropInput({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): Info {
  const a = attrs ?? {};
  checkAttrs('DepthwiseConv2dNativeBackpropInput', a);
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  const ci = convInfo(a.inputShape as Shape4, filter.shape as Shape4, a, true);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: oH, outWidth: oW, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = ci;
  const M = filter.shape[3];
  const CM = C * M;
  const { top, left } = ci.padInfo;
  return chained(backend, (k) => {
    const wFlip = k.reshape(k.call(tf.Reverse, { x: filter }, { dims: [0, 1] }), [fh, fw, CM, 1]);
    let dyD = dy;
    if (sh > 1 || sw > 1) {
      const d6 = k.reshape(dy, [B, oH, 1, oW, 1, CM]);
      const p6 = k.call(tf.PadV2, { x: d6 }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
      dyD = k.reshape(p6, [B, oH * sh, oW * sw, CM]);
    }
    const pt = fh - 1 - top;
    const pl = fw - 1 - left;
    const p = k.padOrCrop(dyD, pt, H + fh - 1 - pt - dyD.shape[1], pl, W + fw - 1 - pl - dyD.shape[2]);
    const [t, b, l, r] = p.pads;
    const dxCM = k.call(tf.DepthwiseConv2dNative, { x: p.x, filter: wFlip }, {
      strides: [1, 1], pad: [[0, 0], [t, b], [l, r], [0, 0]] as unknown as tf.NamedAttrMap[string], dataFormat: 'NHWC', dilations: [1, 1],
    });
    if (M === 1) return dxCM;
    return k.call(tf.Sum, { x: k.reshape(dxCM, [B, H, W, C, M]) }, { axis: [4], keepDims: false });
  });
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap };

/**
 * dx as a matrix product and a scatter-add: cols = dy [B*oH*oW, O] . W^T [O, fh*fw*C]
 * (XNNPACK), then col2im adds each row of cols into the input window it came
 * from (one JS pass over the heap). It does exactly the forward conv's
 * multiply-adds, where the transposed-conv formulation multiplies the zeros
 * of the padding and of the stride dilation too.
 */
function conv2DBackpropInputMatMul({ inputs, backend, attrs }: KernelArgs): Info {
  const a = attrs ?? {};
  checkAttrs('Conv2DBackpropInput', a);
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  const ci = convInfo(a.inputShape as Shape4, filter.shape as Shape4, a);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: oH, outWidth: oW, outChannels: O, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = ci;
  const K = fh * fw * C;
  const N = B * oH * oW;
  const b = backend as WasmHeapBackend;
  let cols: Info | undefined;
  chained(backend, (k) => {
    const wT = k.reshape(k.transpose(k.reshape(filter, [K, O]), [1, 0]), [1, O, K]);
    cols = k.call(tf.BatchMatMul, { a: k.reshape(dy, [1, N, O]), b: wT }, { transposeA: false, transposeB: false });
    return cols;
  });
  try {
    const out = b.makeOutput([B, H, W, C], 'float32');
    // Views after the allocation: growing the heap detaches older views.
    col2im(b.typedArrayFromHeap(cols!) as Float32Array, b.typedArrayFromHeap(out) as Float32Array, { B, H, W, C, oH, oW, fh, fw, sh, sw, top: ci.padInfo.top, left: ci.padInfo.left });
    return out;
  } finally {
    b.disposeData(cols!.dataId);
  }
}

/**
 * The transposed-conv formulation costs H*W / (oH*oW) times the true
 * multiply-adds (about s^2 for stride s, more for 'valid' padding), and
 * XNNPACK is inefficient with very few output channels (C); the matmul one
 * costs the true count plus a JS scatter pass of N*K adds. Measured on
 * LeNet's and ResNet-20's shapes (bench/README.md): matmul wins from a
 * ratio of ~1.5 or for C < 4.
 */
export function chooseBackpropInput(inShape: Shape4, filterShape: Shape4, strides: number | [number, number], pad: Pad): 'conv' | 'matmul' {
  const ci = tf.backend_util.computeConv2DInfo(inShape, filterShape, strides, 1, pad as 'same' | 'valid' | number);
  const waste = (ci.inHeight * ci.inWidth) / (ci.outHeight * ci.outWidth);
  return waste >= 1.5 || ci.inChannels < 4 ? 'matmul' : 'conv';
}

/** Conv2DBackpropInput: the chosen XNNPACK formulation, or the built-in loop when chosen. */
function conv2DBackpropInputDispatch(args: KernelArgs): Info {
  const own = builtin.get(tf.Conv2DBackpropInput);
  if (backpropInputImpl === 'builtin' && own) return own.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
  const a = args.attrs ?? {};
  // The SIMD kernel (./conv-simd.ts) first where it applies (stride 1, input channels in 8s).
  if (backpropInputImpl === 'splitz' || backpropInputImpl === 'simd') {
    checkAttrs('Conv2DBackpropInput', a);
    const fast = conv2DBackpropInputSimd(args);
    if (fast) return fast;
  }
  const impl =
    backpropInputImpl === 'splitz' || backpropInputImpl === 'simd'
      ? chooseBackpropInput(a.inputShape as Shape4, (args.inputs.filter as Info).shape as Shape4, a.strides as number | [number, number], a.pad as Pad)
      : backpropInputImpl;
  return impl === 'matmul' ? conv2DBackpropInputMatMul(args) : conv2DBackpropInput(args);
}

/** A SIMD kernel of ./conv-simd.ts where it applies (it returns undefined elsewhere), else the built-in one. */
function simdOrBuiltin(kernelName: string, fast: (args: KernelArgs) => Info | undefined) {
  return (args: KernelArgs): Info => {
    const out = fast(args);
    if (out) return out;
    const own = builtin.get(kernelName);
    if (!own) throw new Error(`splitz wasm kernels: no built-in '${kernelName}' kernel to fall back on`);
    return own.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
  };
}

/** Matrix products with the transposes materialised, so XNNPACK runs them. */
function matMulWithoutTransposes(kernelName: string) {
  return ({ inputs, backend, attrs }: KernelArgs): Info => {
    const a = attrs ?? {};
    const { a: A, b: B } = inputs as { a: Info; b: Info };
    if (!a.transposeA && !a.transposeB) return chained(backend, (k) => k.call(kernelName, inputs, a));
    return chained(backend, (k) => {
      const swapLast = (x: Info) => k.transpose(x, [...x.shape.keys()].map((d, _, all) => (d < all.length - 2 ? d : d === all.length - 2 ? d + 1 : d - 1)));
      const a2 = a.transposeA ? swapLast(A) : A;
      const b2 = a.transposeB ? swapLast(B) : B;
      return k.call(kernelName, { ...inputs, a: a2, b: b2 }, { ...a, transposeA: false, transposeB: false });
    });
  };
}

/**
 * MaxPoolGrad, exact and tie-breaking like TensorFlow and the cpu backend: in
 * each window the first maximum in row-major order receives dy.
 *
 * This one IS a JavaScript loop, over typed-array views of the wasm heap (no
 * copies): measured on LeNet's first pool ([256,24,24,20], 2x2), the built-in
 * kernel takes ~90 ms and is wrong for some shapes, while compositions of
 * wasm kernels cost 250-350 ms because Equal/Cast/Maximum/DepthToSpace/
 * StridedSlice are scalar loops there; one pass in JS reads each input once.
 */
function maxPoolGrad({ inputs, backend, attrs }: KernelArgs): Info {
  const a = attrs ?? {};
  const { dy, input } = inputs as { dy: Info; input: Info };
  const pi = tf.backend_util.computePool2DInfo(
    input.shape as Shape4,
    a.filterSize as [number, number] | number,
    a.strides as [number, number] | number,
    1,
    a.pad as Pad,
    a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: oH, outWidth: oW, strideHeight: sh, strideWidth: sw } = pi;
  const fh = pi.effectiveFilterHeight;
  const fw = pi.effectiveFilterWidth;
  const { top, left } = pi.padInfo;
  const wasm = backend as WasmBackendLike & {
    makeOutput(shape: number[], dtype: string): Info;
    typedArrayFromHeap(t: Info): Float32Array;
  };
  const out = wasm.makeOutput(input.shape, 'float32');
  // Views are taken after the allocation: growing the heap detaches old views.
  const x = wasm.typedArrayFromHeap(input);
  const g = wasm.typedArrayFromHeap(dy);
  const dx = wasm.typedArrayFromHeap(out);
  if (fh === 2 && fw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && 2 * oH <= H && 2 * oW <= W) {
    maxPoolGrad2x2(x, g, dx, B, H, W, C, oH, oW);
    return out;
  }
  dx.fill(0);
  const best = new Float32Array(C);
  const at = new Int32Array(C);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < oH; i++) {
      const r0 = i * sh - top;
      for (let j = 0; j < oW; j++) {
        const c0 = j * sw - left;
        best.fill(-Infinity);
        at.fill(-1);
        for (let r = Math.max(0, r0); r < Math.min(H, r0 + fh); r++) {
          for (let cc = Math.max(0, c0); cc < Math.min(W, c0 + fw); cc++) {
            const base = ((b * H + r) * W + cc) * C;
            for (let c = 0; c < C; c++) {
              const v = x[base + c];
              if (v > best[c] || (at[c] < 0 && Number.isNaN(v))) {
                best[c] = v;
                at[c] = base + c;
              }
            }
          }
        }
        const gBase = ((b * oH + i) * oW + j) * C;
        for (let c = 0; c < C; c++) if (at[c] >= 0) dx[at[c]] += g[gBase + c];
      }
    }
  }
  return out;
}

/**
 * AvgPoolGrad with padding. AvgPool divides each window by the number of real
 * input positions in it (TensorFlow's rule), but the AvgPoolGrad of both the
 * cpu and the wasm backends of tfjs 4.22 divides by the full window size, so
 * gradients at padded borders are wrong (the conformance test checks this
 * against finite differences). dy is rescaled by (window size / real count)
 * per output before the built-in kernel runs.
 */
function avgPoolGradFor(backendName: string, own: tf.KernelConfig) {
  return ({ inputs, backend, attrs }: KernelArgs): Info => {
    const a = attrs ?? {};
    const { dy, input } = inputs as { dy: Info; input: Info };
    const pi = tf.backend_util.computePool2DInfo(input.shape as Shape4, a.filterSize as [number, number] | number, a.strides as [number, number] | number, 1, a.pad as Pad, a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined);
    const { inHeight: H, inWidth: W, outHeight: oH, outWidth: oW, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = pi;
    const { top, left } = pi.padInfo;
    const run = (name: string, ins: tf.NamedTensorInfoMap, at: tf.NamedAttrMap): Info => {
      const k = name === tf.AvgPoolGrad ? own : tf.getKernel(name, backendName);
      if (!k) throw new Error(`splitz AvgPoolGrad: backend '${backendName}' has no '${name}' kernel`);
      return k.kernelFunc({ inputs: ins, backend, attrs: at }) as Info;
    };
    const scale = new Float32Array(oH * oW);
    let padded = false;
    for (let i = 0; i < oH; i++) {
      const rows = Math.min(H, i * sh - top + fh) - Math.max(0, i * sh - top);
      for (let j = 0; j < oW; j++) {
        const cols = Math.min(W, j * sw - left + fw) - Math.max(0, j * sw - left);
        scale[i * oW + j] = (fh * fw) / (rows * cols);
        if (rows * cols !== fh * fw) padded = true;
      }
    }
    if (!padded) return run(tf.AvgPoolGrad, inputs, a);
    const b = backend as WasmBackendLike & {
      makeTensorInfo?: (shape: number[], dtype: string, values: Float32Array) => Info;
      makeOutput?: (shape: number[], dtype: string, offset?: number, values?: Float32Array) => Info;
    };
    const s = b.makeTensorInfo ? b.makeTensorInfo([1, oH, oW, 1], 'float32', scale) : b.makeOutput!([1, oH, oW, 1], 'float32', undefined, scale);
    const dyScaled = run(tf.Multiply, { a: dy, b: s }, {});
    try {
      return run(tf.AvgPoolGrad, { dy: dyScaled, input }, a);
    } finally {
      b.disposeData(s.dataId);
      b.disposeData(dyScaled.dataId);
    }
  };
}

function register(kernelName: string, kernelFunc: (args: KernelArgs) => Info): void {
  const own = tf.getKernel(kernelName, 'wasm');
  if (own) {
    builtin.set(kernelName, own);
    tf.unregisterKernel(kernelName, 'wasm');
  }
  // The built-in kernel's setup (its cwrap of the C function) still has to
  // run when the backend starts, since the replacement may call it.
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc, setupFunc: own?.setupFunc });
}

/**
 * Choose the Conv2DBackpropInput kernel on wasm: 'splitz' (the default: per
 * shape, 'matmul' or 'conv'), 'conv' (XNNPACK transposed conv), 'matmul'
 * (XNNPACK matrix product + col2im) or 'builtin' (tfjs-backend-wasm's own
 * loop; kept for benchmarks and as a fallback).
 */
export function useWasmConv2DBackpropInput(impl: BackpropInputImpl): void {
  if (!['splitz', 'conv', 'matmul', 'builtin', 'simd'].includes(impl)) throw new Error(`useWasmConv2DBackpropInput: impl must be 'splitz', 'conv', 'matmul', 'builtin' or 'simd', got '${impl}'`);
  registerWasmTrainingKernels();
  backpropInputImpl = impl;
}

/**
 * Sum / Mean over the leading axes (batch-norm statistics and gradients, bias
 * gradients): a JS pass with float64 accumulators (./heap.ts) when rows hold
 * >= 32 values, else the built-in kernel (which transposes first). Measured
 * with a fresh input per call, as in training (CPU ms, loaded machine):
 * [128,8,8,64] JS ~1.7 vs built-in ~3-4.5; [128,32,32,16] JS ~7.5 vs built-in
 * ~5. As one XNNPACK matrix product (ones . x) it is 0.5 ms when x is reused
 * but 8-12 ms on fresh tensors: the backend packs x as matmul weights anew
 * for every new tensor, so that formulation was dropped.
 */
const JS_REDUCE_MIN_ROW = 32;

/** Sum / Mean over leading axes (see above), anything else by the built-in kernel. */
function reduceLeading(kernelName: string, mean: boolean) {
  return (args: KernelArgs): Info => {
    const fast = leadingAxesReduce(args, mean, JS_REDUCE_MIN_ROW);
    if (fast) return fast;
    const own = builtin.get(kernelName);
    if (!own) throw new Error(`splitz wasm kernels: no built-in '${kernelName}' kernel to fall back on`);
    return own.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
  };
}

/** The wasm kernel behind ClipByValue's gradient on wasm (see registerClipGradKernel). */
export const CLIP_GRAD_KERNEL = 'SplitzClipByValueGrad';

/**
 * ClipByValue's gradient (ReLU_theta's, in every f_L): on wasm one heap loop
 * (clipByValueGradKernel); elsewhere tfjs-core's own composition. Same rule
 * on both: dy where min <= x <= max.
 */
function registerClipGradKernel(): void {
  overrideGradientOnWasm({ op: tf.ClipByValue, kernelName: CLIP_GRAD_KERNEL, kernelFunc: clipByValueGradKernel as unknown as tf.KernelFunc });
}

/** Names of the kernels this module registers for the 'wasm' backend (AvgPoolGrad also for 'cpu'). */
export const SPLITZ_WASM_KERNELS: readonly string[] = [
  tf.Conv2DBackpropFilter,
  tf.Conv2DBackpropInput,
  tf.DepthwiseConv2dNativeBackpropFilter,
  tf.DepthwiseConv2dNativeBackpropInput,
  tf.BatchMatMul,
  tf._FusedMatMul,
  tf.MaxPoolGrad,
  tf.AvgPoolGrad,
  tf.Tile,
  tf.Identity,
  tf.Pow,
  tf.Sum,
  tf.Mean,
  CLIP_GRAD_KERNEL,
  tf.Conv2D,
  tf.FusedConv2D,
  tf.FusedBatchNorm,
  BN_TRAIN_KERNEL,
  BN_TRAIN_GRAD_KERNEL,
  RELU_GRAD_KERNEL,
];

/**
 * Register the kernels above for 'wasm' (idempotent). Call before the wasm
 * backend is first set, as initBackend() does.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  register(tf.Conv2DBackpropFilter, conv2DBackpropFilterDispatch);
  register(tf.Conv2DBackpropInput, conv2DBackpropInputDispatch);
  register(tf.DepthwiseConv2dNativeBackpropFilter, depthwiseBackpropFilter);
  register(tf.DepthwiseConv2dNativeBackpropInput, depthwiseBackpropInput);
  register(tf.BatchMatMul, matMulWithoutTransposes(tf.BatchMatMul));
  register(tf._FusedMatMul, matMulWithoutTransposes(tf._FusedMatMul));
  register(tf.MaxPoolGrad, maxPoolGrad);
  register(tf.Tile, tileKernel);
  register(tf.Conv2D, simdOrBuiltin(tf.Conv2D, conv2DSimd));
  register(tf.FusedConv2D, simdOrBuiltin(tf.FusedConv2D, conv2DSimd));
  register(tf.FusedBatchNorm, simdOrBuiltin(tf.FusedBatchNorm, batchNormInference));
  register(tf.Identity, identityKernel as (args: KernelArgs) => Info);
  register(tf.Pow, (args) => powFast(args) ?? (builtin.get(tf.Pow)!.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as Info));
  register(tf.Sum, reduceLeading(tf.Sum, false));
  register(tf.Mean, reduceLeading(tf.Mean, true));
  registerClipGradKernel();
  registerBatchNormTraining();
  registerReluGradient();
  // The padded-border AvgPoolGrad error is in tfjs-backend-cpu too: fix both,
  // so cpu stays the reference the conformance test compares against.
  for (const backendName of ['wasm', 'cpu']) {
    const own = tf.getKernel(tf.AvgPoolGrad, backendName);
    if (!own) continue;
    tf.unregisterKernel(tf.AvgPoolGrad, backendName);
    tf.registerKernel({ ...own, kernelFunc: avgPoolGradFor(backendName, own) as unknown as tf.KernelFunc });
  }
}
