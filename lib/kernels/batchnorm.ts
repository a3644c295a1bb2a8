/**
 * Batch normalisation in training mode as ONE kernel with ONE gradient kernel
 * on wasm (SIMD, ./simd.c), instead of tfjs' composition tf.moments +
 * tf.batchNorm, whose forward and backward run ~50 scalar wasm kernels per
 * layer (Mean, SquaredDifference, FusedBatchNorm, Tile, Sum, Multiply, Sub,
 * ...; 1.4 s of a ResNet-20 step at batch 128, bench/README.md).
 *
 * Kernel `SplitzBatchNormTrain` (channels-last, normalised over every axis but
 * the last): inputs x [..., C], scale (gamma) [C], offset (beta) [C]; attr
 * varianceEpsilon; outputs
 *   y        = (x - mean) * scale / sqrt(variance + eps) + offset
 *   mean     = mean of x over all rows                      (tf.moments' mean)
 *   variance = mean of (x - mean)^2 over all rows           (tf.moments' variance, biased)
 *
 * Its gradient is exact for all three outputs (the engine passes zeros for
 * outputs the loss does not use). With N rows, s = 1/sqrt(variance + eps),
 * xhat = (x - mean) s, g = scale:
 *   dscale  = sum dy * xhat,   doffset = sum dy
 *   dx      = g s dy - g s doffset / N - (x - mean) g s^2 dscale / N      (through y, mean and variance)
 *           + dmean / N + 2 dvariance (x - mean) / N                      (through the mean/variance outputs)
 * i.e. dx = a dy + b x + k per channel, one pass after one reduction pass
 * (kernel `SplitzBatchNormTrainGrad`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { simdFor } from './simd';

type Info = tf.TensorInfo;

export const BN_TRAIN_KERNEL = 'SplitzBatchNormTrain';
export const BN_TRAIN_GRAD_KERNEL = 'SplitzBatchNormTrainGrad';

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}

function rowsAndChannels(x: Info): { N: number; C: number } {
  const C = x.shape[x.shape.length - 1];
  return { N: C > 0 ? tf.util.sizeFromShape(x.shape) / C : 0, C };
}

function checkFloat(kernel: string, ts: Record<string, Info>): void {
  for (const [name, t] of Object.entries(ts)) {
    if (t.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${t.dtype}`);
  }
}

function bnTrainKernel({ inputs, backend, attrs }: KernelArgs): Info[] {
  const { x, scale, offset } = inputs as { x: Info; scale: Info; offset: Info };
  checkFloat(BN_TRAIN_KERNEL, { x, scale, offset });
  const { N, C } = rowsAndChannels(x);
  if (x.shape.length < 2 || scale.shape.length !== 1 || scale.shape[0] !== C || offset.shape.length !== 1 || offset.shape[0] !== C) {
    throw new Error(`${BN_TRAIN_KERNEL}: x [${x.shape}] needs rank >= 2 and scale/offset of shape [${C}], got [${scale.shape}] / [${offset.shape}]`);
  }
  if (N === 0) throw new Error(`${BN_TRAIN_KERNEL}: empty batch (x [${x.shape}])`);
  const s = simd(backend);
  const b = s.backend;
  const y = b.makeOutput(x.shape, 'float32');
  const mean = b.makeOutput([C], 'float32');
  const variance = b.makeOutput([C], 'float32');
  const scratch = s.scratch(2 * C * 4 + 2 * C * 8);
  const eps = Number(attrs?.varianceEpsilon ?? 1e-3);
  s.k.bn_forward(s.ptr(x), s.ptr(y), N, C, s.ptr(scale), s.ptr(offset), eps, s.ptr(mean), s.ptr(variance), scratch);
  return [y, mean, variance];
}

function bnTrainGradKernel({ inputs, backend, attrs }: KernelArgs): Info[] {
  const { dy, x, scale, mean, variance, dmean, dvariance } = inputs as Record<string, Info>;
  checkFloat(BN_TRAIN_GRAD_KERNEL, { dy, x, scale, mean, variance, dmean, dvariance });
  const { N, C } = rowsAndChannels(x);
  const s = simd(backend);
  const b = s.backend;
  const eps = Number(attrs?.varianceEpsilon ?? 1e-3);
  const dx = b.makeOutput(x.shape, 'float32');
  const dscale = b.makeOutput([C], 'float32');
  const doffset = b.makeOutput([C], 'float32');
  // Scratch: 2C float64 sums, then 2C float32 (the kernel's partial sums, later a, b, k).
  const scratch = s.scratch(2 * C * 8 + 3 * C * 4);
  const fScratch = scratch + 2 * C * 8;
  s.k.bn_backward_sums(s.ptr(dy), s.ptr(x), N, C, s.ptr(mean), scratch, fScratch);
  const sums = s.f64(scratch, 2 * C).slice();
  const g = s.f32(s.ptr(scale), C);
  const m = s.f32(s.ptr(mean), C);
  const v = s.f32(s.ptr(variance), C);
  const dm = s.f32(s.ptr(dmean), C);
  const dv = s.f32(s.ptr(dvariance), C);
  const ds = s.f32(s.ptr(dscale), C);
  const dof = s.f32(s.ptr(doffset), C);
  const coef = s.f32(fScratch, 3 * C);
  for (let c = 0; c < C; c++) {
    const inv = 1 / Math.sqrt(v[c] + eps);
    const sumDy = sums[c];
    const sumDyXhat = sums[C + c] * inv;
    ds[c] = sumDyXhat;
    dof[c] = sumDy;
    const a = g[c] * inv;
    const bc = (-g[c] * inv * inv * sumDyXhat + 2 * dv[c]) / N;
    const k = (-a * sumDy + dm[c]) / N;
    coef[c] = a;
    coef[C + c] = bc;
    coef[2 * C + c] = k - bc * m[c];
  }
  s.k.bn_backward_dx(s.ptr(dy), s.ptr(x), s.ptr(dx), N, C, fScratch, fScratch + 4 * C, fScratch + 8 * C);
  return [dx, dscale, doffset];
}

/**
 * FusedBatchNorm (inference-mode batch norm with given statistics) as one
 * SIMD pass, y = x * s + t with s = scale / sqrt(variance + eps) and
 * t = offset - mean * s folded per channel; undefined (the built-in scalar
 * kernel runs) unless every statistic is a float32 vector over the last axis.
 * ~30 ms per ResNet-20 layer at 500 samples built in, ~2 ms here.
 */
export function batchNormInference({ inputs, backend, attrs }: KernelArgs): Info | undefined {
  const { x, mean, variance, offset, scale } = inputs as Record<string, Info | undefined>;
  if (!x || !mean || !variance || x.dtype !== 'float32' || x.shape.length < 1) return undefined;
  const { N, C } = rowsAndChannels(x);
  const perChannel = (t: Info | undefined) => t === undefined || t === null || (t.dtype === 'float32' && tf.util.sizeFromShape(t.shape) === C && t.shape[t.shape.length - 1] === C);
  if (![mean, variance, offset, scale].every(perChannel)) return undefined;
  const s = simdFor(backend);
  if (!s) return undefined;
  const eps = Number(attrs?.varianceEpsilon ?? 1e-3);
  const y = s.backend.makeOutput(x.shape, 'float32');
  const scratch = s.scratch(8 * C);
  const m = s.f32(s.ptr(mean), C);
  const v = s.f32(s.ptr(variance), C);
  const g = scale ? s.f32(s.ptr(scale), C) : undefined;
  const o = offset ? s.f32(s.ptr(offset), C) : undefined;
  const st = s.f32(scratch, 2 * C);
  for (let c = 0; c < C; c++) {
    const k = (g ? g[c] : 1) / Math.sqrt(v[c] + eps);
    st[c] = k;
    st[C + c] = (o ? o[c] : 0) - m[c] * k;
  }
  s.k.scale_shift(s.ptr(x), s.ptr(y), N, C, scratch, scratch + 4 * C);
  return y;
}

function simd(backend: object) {
  const s = simdFor(backend);
  if (!s) throw new Error('splitz batch-norm kernels: the wasm backend\'s memory is not reachable (unexpected tfjs-backend-wasm build)');
  return s;
}

let registered = false;

/** Register both kernels for 'wasm' and the gradient (idempotent). */
export function registerBatchNormTraining(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: BN_TRAIN_KERNEL, backendName: 'wasm', kernelFunc: bnTrainKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: BN_TRAIN_GRAD_KERNEL, backendName: 'wasm', kernelFunc: bnTrainGradKernel as unknown as tf.KernelFunc });
  tf.registerGradient({
    kernelName: BN_TRAIN_KERNEL,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy, dmean, dvariance] = dys as tf.Tensor[];
      const [x, scale, mean, variance] = saved;
      // Computed once here; each closure below runs in its own tidy.
      const [dx, dscale, doffset] = tf.engine().runKernel(BN_TRAIN_GRAD_KERNEL, { dy, x, scale, mean, variance, dmean, dvariance }, attrs) as tf.Tensor[];
      return { x: () => dx, scale: () => dscale, offset: () => doffset };
    },
  });
}

/** Whether batchNormTraining runs as one kernel on the current backend. */
export function hasFusedBatchNormTraining(): boolean {
  return tf.getKernel(BN_TRAIN_KERNEL, tf.getBackend()) !== undefined;
}

/**
 * Training-mode batch norm over all axes but the last: { y, mean, variance },
 * the same values (up to float32 rounding) and gradients as tf.moments followed
 * by tf.batchNorm. One kernel where registered (wasm), that composition elsewhere.
 */
export function batchNormTraining(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, varianceEpsilon: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  if (hasFusedBatchNormTraining() && x.dtype === 'float32') {
    const [y, mean, variance] = tf.engine().runKernel(BN_TRAIN_KERNEL, { x, scale, offset }, { varianceEpsilon }) as tf.Tensor[];
    return { y, mean, variance };
  }
  return tf.tidy(() => {
    const axes = [...Array(x.rank - 1).keys()];
    const { mean, variance } = tf.moments(x, axes);
    const y = tf.batchNorm(x, mean, variance, offset, scale, varianceEpsilon);
    return { y, mean, variance };
  });
}
