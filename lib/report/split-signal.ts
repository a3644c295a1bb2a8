/**
 * How much signal f_L hands to f_R, measured against the noise delta that is
 * added after it (the split's signal-to-noise ratio).
 *
 * f_R sees u = f_L(x) + delta with delta ~ N(0, sigma^2 I). What lets it tell
 * images apart is how far f_L(x) moves from image to image compared with
 * sigma. `spread` is that distance: the root mean square distance of f_L(x)
 * from the mean of f_L over the images (sqrt of the summed per-coordinate
 * variances). The noise has standard deviation sigma along any one direction,
 * so `snr` = spread / sigma counts noise standard deviations, the same measure
 * for RS (s = 0: f_L is the identity, the pixels' own spread) and for SPLITZ
 * (at the split, whatever its dimension). `coordinate_std` is the same spread
 * per coordinate (spread / sqrt(D)).
 *
 * Why it matters: the Lipschitz term of eq. 17 makes L(x) small, and the
 * cheapest way to do that is to scale f_L's weights down, which scales the
 * spread down with L. A ReLU_theta unit lowers the bound only while it is
 * outside its linear region (its mask is 0 there), so `linear_fraction`
 * (pre-activations in (0, theta), where the unit passes the signal and counts
 * in L) says how much of f_L's output is plain scaling. Measured at the last
 * ReLU_theta of f_L.
 *
 * The same rows hold f_L's real stretch against its bound: the mean spectral
 * norm of the Jacobian ||J(x)|| (lib/lipschitz/jacobian.ts) beside the mean
 * bound L(x, 0) and L(x, gamma_train) of eq. 18, the latter being what the
 * training loss holds at theta_lip. For a one-layer f_L, L(x, 0) = ||J(x)||;
 * with more layers the bound multiplies per-layer norms and sits above, and
 * training against it shrinks the real stretch by that factor. These use power
 * iteration (both are lower estimates) on the first images only, to stay cheap.
 */
import * as tf from '@tensorflow/tfjs-core';
import { jacobianNorm } from '../lipschitz/jacobian';
import { paperLipschitz } from '../lipschitz/local';
import { SplitModel } from '../models/split';
import { DiagnosticsCacheUse, diagnosticsCache, measurePublishedCheckpoints } from './published-checkpoints';
import { RunSummary } from './tables';

export interface SplitSignal {
  images: number;
  /** Coordinates of f_L(x) (the split's dimension D). */
  units: number;
  /** RMS distance of f_L(x) from its mean over the images: sqrt(sum over coordinates of the across-image variance). */
  spread: number;
  /** spread / sqrt(units): the across-image standard deviation of one coordinate, as an RMS over coordinates. */
  coordinate_std: number;
  /** spread / sigma. */
  snr: number;
  /** Pre-activations of f_L's last ReLU_theta: <= 0 (unit off), in (0, theta) (passes the signal), >= theta (clipped); null without one. */
  below_fraction: number | null;
  linear_fraction: number | null;
  clipped_fraction: number | null;
  /** Images behind the four fields below (the first of the batch); 0 for RS. */
  stretch_images: number;
  /** Mean ||J(x)||_2 of f_L (power iteration); null for RS (f_L the identity). */
  jacobian_norm: number | null;
  /** Mean L(x, 0) and L(x, gamma_train) of eq. 18 (`paper` mode, power iteration); null for RS or without gamma_train. */
  bound_at_x: number | null;
  bound_train: number | null;
  /** Mean over images of L(x, 0) / ||J(x)||: how much the product of per-layer norms overstates the real stretch. */
  bound_over_jacobian: number | null;
}

export interface SplitSignalOptions {
  /** gamma_train of the run, for bound_train. */
  gammaTrain?: number | null;
  /** Images for the stretch fields (default 50: the first of the batch). */
  stretchImages?: number;
  /** Power-iteration steps of both the Jacobian and the bound (default 100). */
  iterations?: number;
}

const mean = (a: ArrayLike<number>): number => Array.from(a).reduce((p, q) => p + q, 0) / a.length;

/** sqrt of the summed per-coordinate variances across the batch (axis 0; population variance). */
function spreadOf(u: tf.Tensor): number {
  return tf.tidy(() => {
    const flat = tf.reshape(u, [u.shape[0], -1]);
    const { variance } = tf.moments(flat, 0);
    return Math.sqrt(tf.sum(variance).dataSync()[0]);
  });
}

/** The split's signal on a batch of inputs x (batch first), for noise level sigma. */
export function splitSignal(split: SplitModel, x: tf.Tensor, sigma: number, options: SplitSignalOptions = {}): SplitSignal {
  if (!(sigma > 0)) throw new RangeError(`splitSignal: sigma must be > 0, got ${sigma}`);
  if (x.shape[0] < 2) throw new RangeError(`splitSignal: needs at least 2 images to measure their spread, got ${x.shape[0]}`);
  const u = split.fL(x);
  const spread = spreadOf(u);
  const units = u.size / u.shape[0];
  u.dispose();
  let below: number | null = null;
  let linear: number | null = null;
  let clipped: number | null = null;
  const last = split.leftOps[split.leftOps.length - 1];
  if (split.endsWithReLUTheta && last?.kind === 'relu_theta') {
    // The pre-activations: every layer of f_L but its final ReLU_theta.
    const counts = tf.tidy(() => {
      let h = x;
      for (const l of split.leftLayers.slice(0, -1)) h = l.apply(h) as tf.Tensor;
      return [tf.sum(tf.lessEqual(h, 0)).dataSync()[0], tf.sum(tf.greaterEqual(h, last.theta)).dataSync()[0], h.size];
    });
    below = counts[0] / counts[2];
    clipped = counts[1] / counts[2];
    linear = 1 - below - clipped;
  }
  const stretch = { stretch_images: 0, jacobian_norm: null as number | null, bound_at_x: null as number | null, bound_train: null as number | null, bound_over_jacobian: null as number | null };
  if (split.s > 0) {
    const m = Math.min(options.stretchImages ?? 50, x.shape[0]);
    const iterations = options.iterations ?? 100;
    const xs = tf.slice(x, 0, m);
    try {
      const J = jacobianNorm(split, xs, { iterations });
      const L0 = paperLipschitz(split, xs, 0, { iterations, seed: 0 });
      const g = options.gammaTrain;
      stretch.stretch_images = m;
      stretch.jacobian_norm = mean(J);
      stretch.bound_at_x = mean(L0);
      stretch.bound_train = g === undefined || g === null ? null : mean(paperLipschitz(split, xs, g, { iterations, seed: 0 }));
      stretch.bound_over_jacobian = mean(Array.from(L0, (l, i) => l / J[i]));
    } finally {
      xs.dispose();
    }
  }
  return { images: x.shape[0], units, spread, coordinate_std: spread / Math.sqrt(units), snr: spread / sigma, below_fraction: below, linear_fraction: linear, clipped_fraction: clipped, ...stretch };
}

/** splitSignal of one published (or quick) run, on the test images its certification log holds. */
export interface SplitSignalRow extends SplitSignal {
  config: string;
  scale: string;
  method: 'RS' | 'SPLITZ';
  sigma: number;
  split: number;
}

/** splitSignal of each run with a published checkpoint, on the test images its certification log holds (see measurePublishedCheckpoints). */
export async function splitSignalRows(
  runs: readonly RunSummary[],
  options: { maxImages?: number; cache?: DiagnosticsCacheUse } = {},
): Promise<{ rows: SplitSignalRow[]; skipped: string[] }> {
  return measurePublishedCheckpoints(
    runs,
    options.maxImages ?? 500,
    (r, split, x) => ({
      config: r.config,
      scale: r.scale,
      method: r.method,
      sigma: r.sigma,
      split: r.split,
      ...splitSignal(split, x, r.sigma, { gammaTrain: r.gamma_train }),
    }),
    diagnosticsCache(options.cache, 'split-signal', 1),
  );
}
