/**
 * Kernels written as JavaScript loops over typed-array views of the wasm heap
 * (no copies), for operations that tfjs-backend-wasm 4.22 runs as slow
 * scalar C loops or composes from many kernels. Each is one pass over memory.
 * Measured on this machine (load ~6, 2 cores), see bench/README.md:
 *  - Tile [1,1,1,16] -> [128,32,32,16]: 143 ms built in (it is what the batch
 *    norm gradient uses, 21 times per ResNet-20 step), a few ms here with
 *    block copies (copyWithin doubling).
 *  - ClipByValue's gradient, composed as where(logicalAnd(greaterEqual,
 *    lessEqual), dy, zerosLike(dy)): ~150 ms for LeNet's first activation at
 *    batch 256 (GreaterEqual against a scalar and Select are slow there); one
 *    loop here.
 *  - col2im, the scatter-add half of Conv2DBackpropInput as a matrix product
 *    (see ./index.ts).
 */
import * as tf from '@tensorflow/tfjs-core';

type Info = tf.TensorInfo;

export interface WasmHeapBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: string, memoryOffset?: number, values?: ArrayLike<number>): Info;
  typedArrayFromHeap(t: Info): Float32Array | Int32Array | Uint8Array;
}

/** Tile by block copies: row of the innermost dim written once, then each level replicated with copyWithin. */
export function tileKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): Info {
  const { x } = inputs as { x: Info };
  const reps = (attrs?.reps ?? []) as number[];
  const b = backend as WasmHeapBackend;
  const r = x.shape.length;
  if (reps.length !== r) throw new Error(`Tile (splitz wasm kernel): reps [${reps}] must have one entry per dimension of x [${x.shape}]`);
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = b.makeOutput(outShape, x.dtype);
  const src = b.typedArrayFromHeap(x);
  const dst = b.typedArrayFromHeap(out);
  if (r === 0) {
    dst[0] = src[0];
    return out;
  }
  if (dst.length === 0) return out;
  const inStride = new Array<number>(r);
  const outStride = new Array<number>(r);
  inStride[r - 1] = 1;
  outStride[r - 1] = 1;
  for (let i = r - 2; i >= 0; i--) {
    inStride[i] = inStride[i + 1] * x.shape[i + 1];
    outStride[i] = outStride[i + 1] * outShape[i + 1];
  }
  const fill = (dim: number, inOff: number, outOff: number): void => {
    const n = x.shape[dim];
    if (dim === r - 1) {
      dst.set(src.subarray(inOff, inOff + n), outOff);
    } else {
      for (let i = 0; i < n; i++) fill(dim + 1, inOff + i * inStride[dim], outOff + i * outStride[dim]);
    }
    // The block of this level (n entries of the next level's size) repeats reps[dim] times.
    const block = n * outStride[dim];
    let have = 1;
    const want = reps[dim];
    while (have < want) {
      const k = Math.min(have, want - have);
      dst.copyWithin(outOff + have * block, outOff, outOff + k * block);
      have += k;
    }
  };
  fill(0, 0, 0);
  return out;
}

/** The same heap bytes seen as int32 (for bit masks). */
function int32View(a: Float32Array | Int32Array | Uint8Array): Int32Array {
  return new Int32Array(a.buffer, a.byteOffset, a.byteLength >> 2);
}

/** Gradient of ClipByValue: dy where clipValueMin <= x <= clipValueMax, else 0 (TensorFlow's rule, as tfjs-core's own gradient). */
export function clipByValueGradKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): Info {
  const { dy, x } = inputs as { dy: Info; x: Info };
  const lo = attrs?.clipValueMin as number;
  const hi = attrs?.clipValueMax as number;
  const b = backend as WasmHeapBackend;
  if (dy.dtype !== 'float32' || x.dtype !== 'float32') throw new Error(`ClipByValue gradient (splitz wasm kernel): expected float32 tensors, got dy ${dy.dtype}, x ${x.dtype}`);
  const out = b.makeOutput(dy.shape, 'float32');
  const xs = b.typedArrayFromHeap(x) as Float32Array;
  // dy's bits AND-ed with an all-ones / all-zeros mask: no branch, whose
  // misprediction on noisy activations cost 3-4x the loop (~25 ms -> ~8 ms
  // for LeNet's [256, 24, 24, 20]). Same values (NaN x gives 0, as before).
  const g = int32View(b.typedArrayFromHeap(dy));
  const o = int32View(b.typedArrayFromHeap(out));
  for (let i = 0; i < o.length; i++) {
    const v = xs[i];
    o[i] = g[i] & -(+(v >= lo) & +(v <= hi));
  }
  return out;
}

/** Shape of a 2-D convolution as im2col/col2im see it: input B x H x W x C, output oH x oW, filter fh x fw, strides, leading padding. */
export interface ConvGeometry {
  B: number; H: number; W: number; C: number;
  oH: number; oW: number; fh: number; fw: number;
  sh: number; sw: number; top: number; left: number;
}

/**
 * col2im: dx[b, i*sh - top + di, j*sw - left + dj, c] += cols[((b*oH + i)*oW + j), (di*fw + dj)*C + c],
 * positions outside the input (padding) dropped. `cols` is [B*oH*oW, fh*fw*C].
 */
export function col2im(
  cols: Float32Array,
  dx: Float32Array,
  g: ConvGeometry,
): void {
  const { B, H, W, C, oH, oW, fh, fw, sh, sw, top, left } = g;
  const K = fh * fw * C;
  dx.fill(0);
  if (C === 1 && fw === 5 && sw === 1 && left === 0 && oW + fw - 1 <= W) {
    col2imOneChannel5(cols, dx, g);
    return;
  }
  if (C === 1) {
    // One channel (LeNet's input, the adjoint of f_L's first conv in the power
    // iteration): no channel loop, and a window row's taps are consecutive.
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < oH; i++) {
        const r0 = i * sh - top;
        for (let j = 0; j < oW; j++) {
          const c0 = j * sw - left;
          const row = ((b * oH + i) * oW + j) * K;
          const djLo = Math.max(0, -c0);
          const djHi = Math.min(fw, W - c0);
          for (let di = 0; di < fh; di++) {
            const r = r0 + di;
            if (r < 0 || r >= H) continue;
            const o = (b * H + r) * W + c0;
            const s = row + di * fw;
            for (let dj = djLo; dj < djHi; dj++) dx[o + dj] += cols[s + dj];
          }
        }
      }
    }
    return;
  }
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < oH; i++) {
      const r0 = i * sh - top;
      for (let j = 0; j < oW; j++) {
        const c0 = j * sw - left;
        const row = ((b * oH + i) * oW + j) * K;
        for (let di = 0; di < fh; di++) {
          const r = r0 + di;
          if (r < 0 || r >= H) continue;
          for (let dj = 0; dj < fw; dj++) {
            const cc = c0 + dj;
            if (cc < 0 || cc >= W) continue;
            const o = ((b * H + r) * W + cc) * C;
            const s = row + (di * fw + dj) * C;
            for (let c = 0; c < C; c++) dx[o + c] += cols[s + c];
          }
        }
      }
    }
  }
}

/**
 * col2im for one channel, filter width 5, horizontal stride 1, no horizontal
 * padding (LeNet's first conv: its input gradient, and the adjoint of f_L's
 * first map in every power-iteration step). For each sample, output row i
 * and filter row di, the windows j = 0, 1, ... of input row i*sh - top + di
 * overlap in 4 columns; the partial sums of those 4 columns are carried in
 * locals from one window to the next instead of being read and written in
 * memory five times each. Every dx value receives the same additions in the
 * same order as the loop over (i, j, di, dj) above (rounded to float32 after
 * each, Math.fround), so the result is bit-identical; ~4x faster.
 */
function col2imOneChannel5(cols: Float32Array, dx: Float32Array, g: ConvGeometry): void {
  const { B, H, W, oH, oW, fh, sh, top } = g;
  const K = fh * 5;
  const f = Math.fround;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < oH; i++) {
      for (let di = 0; di < fh; di++) {
        const r = i * sh - top + di;
        if (r < 0 || r >= H) continue;
        const o = (b * H + r) * W;
        let s = (b * oH + i) * oW * K + di * 5;
        // a0..a3: columns j..j+3 of this row, with the windows before j added.
        let a0 = dx[o];
        let a1 = dx[o + 1];
        let a2 = dx[o + 2];
        let a3 = dx[o + 3];
        for (let j = 0; j < oW; j++, s += K) {
          dx[o + j] = f(a0 + cols[s]);
          a0 = f(a1 + cols[s + 1]);
          a1 = f(a2 + cols[s + 2]);
          a2 = f(a3 + cols[s + 3]);
          a3 = f(dx[o + j + 4] + cols[s + 4]);
        }
        dx[o + oW] = a0;
        dx[o + oW + 1] = a1;
        dx[o + oW + 2] = a2;
        dx[o + oW + 3] = a3;
      }
    }
  }
}

/**
 * MaxPoolGrad for 2x2 windows with stride 2 that all lie inside the input
 * (LeNet's pools, 'valid' padding): dx = dy at the FIRST maximum of each
 * window in row-major order, 0 elsewhere (TensorFlow's rule, as the general
 * loop in ./index.ts). The windows are disjoint, so each dx value is written
 * once; the first maximum is found with comparisons combined into 0/1 flags
 * and dy's bits masked by them, without branches (a branch per comparison
 * mispredicts about half the time on noisy activations: ~3x slower). Windows
 * holding a NaN, or only -Infinity, take the general rule (`slow`).
 */
export function maxPoolGrad2x2(x: Float32Array, dy: Float32Array, dx: Float32Array, B: number, H: number, W: number, C: number, oH: number, oW: number): void {
  const g = int32View(dy);
  const d = int32View(dx);
  dx.fill(0);
  const rowStride = W * C;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < oH; i++) {
      for (let j = 0; j < oW; j++) {
        const p0 = ((b * H + 2 * i) * W + 2 * j) * C;
        const p1 = p0 + C;
        const p2 = p0 + rowStride;
        const p3 = p2 + C;
        const gBase = ((b * oH + i) * oW + j) * C;
        for (let c = 0; c < C; c++) {
          const a0 = x[p0 + c];
          const a1 = x[p1 + c];
          const a2 = x[p2 + c];
          const a3 = x[p3 + c];
          const m01 = a1 > a0 ? a1 : a0;
          const m23 = a3 > a2 ? a3 : a2;
          const plain = +(a0 === a0) & +(a1 === a1) & +(a2 === a2) & +(a3 === a3) & (+(m01 > -Infinity) | +(m23 > -Infinity));
          if (!plain) {
            slowWindow(x, dx, [p0 + c, p1 + c, p2 + c, p3 + c], dy[gBase + c]);
            continue;
          }
          // e_t = 1 for the first t whose value is the window's maximum.
          const e0 = +(a0 >= a1) & +(a0 >= m23);
          const e1 = +(a1 > a0) & +(a1 >= m23);
          const e2 = +(a2 > m01) & +(a2 >= a3);
          const e3 = +(a3 > m01) & +(a3 > a2);
          const gv = g[gBase + c];
          d[p0 + c] = gv & -e0;
          d[p1 + c] = gv & -e1;
          d[p2 + c] = gv & -e2;
          d[p3 + c] = gv & -e3;
        }
      }
    }
  }
}

/** The general rule for one window (positions in row-major order): the first value above all before it, or a NaN before any value is taken. */
function slowWindow(x: Float32Array, dx: Float32Array, positions: number[], g: number): void {
  let best = -Infinity;
  let at = -1;
  for (const p of positions) {
    const v = x[p];
    if (v > best || (at < 0 && Number.isNaN(v))) {
      best = v;
      at = p;
    }
  }
  if (at >= 0) dx[at] = g;
}

/**
 * Sum or mean over the LEADING axes of a float32 tensor (e.g. axes [0, 1, 2]
 * of an NHWC tensor: per-channel reductions of batch norm and of bias
 * gradients). tfjs-backend-wasm's Sum/Mean transposes the input so that the
 * reduced axes are innermost (a full copy) before reducing; here one pass adds
 * each row into float64 accumulators. Returns undefined for any other axis
 * pattern or dtype, and the caller runs the built-in kernel.
 */
export function leadingAxesReduce(
  { inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap },
  mean: boolean,
  /** Smallest row (product of the kept dims) handled here. */
  minRow = 1,
): Info | undefined {
  const { x } = inputs as { x: Info };
  if (x.dtype !== 'float32' || x.shape.length < 2) return undefined;
  const axes = tf.util.parseAxisParam(attrs?.axis as number | number[], x.shape).sort((a, b) => a - b);
  if (axes.length === 0 || axes.length === x.shape.length || axes.some((a, i) => a !== i)) return undefined;
  const outer = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
  const innerShape = x.shape.slice(axes.length);
  const inner = innerShape.reduce((a, b) => a * b, 1);
  if (outer === 0 || inner === 0 || inner < minRow) return undefined;
  const b = backend as WasmHeapBackend;
  const outShape = attrs?.keepDims ? [...axes.map(() => 1), ...innerShape] : innerShape;
  const out = b.makeOutput(outShape, 'float32');
  const src = b.typedArrayFromHeap(x) as Float32Array;
  const dst = b.typedArrayFromHeap(out) as Float32Array;
  const acc = new Float64Array(inner);
  for (let i = 0, o = 0; i < outer; i++, o += inner) for (let j = 0; j < inner; j++) acc[j] += src[o + j];
  const f = mean ? 1 / outer : 1;
  for (let j = 0; j < inner; j++) dst[j] = acc[j] * f;
  return out;
}

/**
 * im2col: cols[((b*oH + i)*oW + j), (di*fw + dj)*C + c] = x[b, i*sh - top + di, j*sw - left + dj, c],
 * 0 where the window leaves the input (padding). Rows are copied C values at a time.
 */
export function im2col(
  x: Float32Array,
  cols: Float32Array,
  g: ConvGeometry,
): void {
  const { B, H, W, C, oH, oW, fh, fw, sh, sw, top, left } = g;
  const K = fh * fw * C;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < oH; i++) {
      const r0 = i * sh - top;
      for (let j = 0; j < oW; j++) {
        const c0 = j * sw - left;
        const row = ((b * oH + i) * oW + j) * K;
        for (let di = 0; di < fh; di++) {
          const r = r0 + di;
          const d = row + di * fw * C;
          if (r < 0 || r >= H) {
            cols.fill(0, d, d + fw * C);
            continue;
          }
          for (let dj = 0; dj < fw; dj++) {
            const cc = c0 + dj;
            const o = d + dj * C;
            if (cc < 0 || cc >= W) {
              cols.fill(0, o, o + C);
              continue;
            }
            const s = ((b * H + r) * W + cc) * C;
            if (C >= 16) cols.set(x.subarray(s, s + C), o);
            else for (let c = 0; c < C; c++) cols[o + c] = x[s + c];
          }
        }
      }
    }
  }
}

/**
 * Identity without a copy, as the cpu backend does: tensors are immutable
 * and the backend counts references per data id (Reshape relies on the same).
 * The built-in wasm Identity copies; tfjs-core calls it tens of times per
 * training step on activation-sized tensors (gradient bookkeeping).
 */
export function identityKernel({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: object }): Info {
  const { x } = inputs as { x: Info };
  (backend as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * Pow with a scalar exponent of 2 (tf.norm's square), 1 (in its gradient) or 0.5 in one heap loop;
 * undefined otherwise (the built-in kernel runs). The built-in kernel
 * broadcasts the scalar through a generic per-element pow(): ~55 ms for a
 * [256, 11520] tensor, ~1 ms here.
 */
export function powFast({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: object }): Info | undefined {
  const { a, b: e } = inputs as { a: Info; b: Info };
  if (a.dtype !== 'float32' || (e.dtype !== 'float32' && e.dtype !== 'int32') || e.shape.length > 0) return undefined;
  const wb = backend as WasmHeapBackend;
  const p = wb.typedArrayFromHeap(e)[0];
  if (p !== 2 && p !== 0.5 && p !== 1) return undefined;
  const out = wb.makeOutput(a.shape, 'float32');
  const x = wb.typedArrayFromHeap(a) as Float32Array;
  const o = wb.typedArrayFromHeap(out) as Float32Array;
  if (p === 1) o.set(x); // the gradient of x^2 asks for x^1
  else if (p === 2) for (let i = 0; i < o.length; i++) o[i] = x[i] * x[i];
  else for (let i = 0; i < o.length; i++) o[i] = Math.sqrt(x[i]);
  return out;
}
