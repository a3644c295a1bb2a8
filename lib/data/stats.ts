/**
 * Per-channel normalization constants, and the function that measures them.
 * The Normalize layer of f_L divides by std, which multiplies its Lipschitz
 * constant by 1/min(std): these numbers matter for certified radii.
 */
import { ImageDataset } from './types';
import { MNIST_MEAN, MNIST_STD } from '../models/lenet';

// One definition for MNIST (lenet.ts, where the model's default uses it).
export { MNIST_MEAN, MNIST_STD };

/** CIFAR-10 training-set per-channel mean and std (Cohen et al., locuslab/smoothing). */
export const CIFAR10_MEAN = [0.4914, 0.4822, 0.4465];
export const CIFAR10_STD = [0.247, 0.2435, 0.2616];

export interface ChannelStats {
  mean: number[];
  /** Population standard deviation over all pixels of all images. */
  std: number[];
}

/** Per-channel mean and std of a dataset's pixels (float64 accumulation). */
export function channelStats(ds: ImageDataset, indices?: ArrayLike<number>): ChannelStats {
  const [h, w, c] = ds.shape;
  const px = h * w;
  const sum = new Float64Array(c);
  const sumSq = new Float64Array(c);
  const count = indices ? indices.length : ds.n;
  if (count === 0) throw new Error('channelStats: the dataset (or index set) is empty');
  for (let k = 0; k < count; k++) {
    const i = indices ? indices[k] : k;
    const base = i * px * c;
    // Per-image partial sums keep float64 rounding small across 47M pixels.
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      let s2 = 0;
      for (let p = 0; p < px; p++) {
        const v = ds.images[base + p * c + ch];
        s += v;
        s2 += v * v;
      }
      sum[ch] += s;
      sumSq[ch] += s2;
    }
  }
  const n = count * px;
  const mean = Array.from(sum, (s) => s / n);
  const std = Array.from(sumSq, (s2, ch) => Math.sqrt(Math.max(0, s2 / n - mean[ch] * mean[ch])));
  return { mean, std };
}
