/**
 * What the noise added after f_L amounts to in the input space, and how much
 * of it the certified radius pays for.
 *
 * Where f_L is linear, f_L(x) = J x + c (our trained split-1 LeNets keep
 * 97-99% of their ReLU_theta units in the linear range on test images), the
 * noise delta ~ N(0, sigma^2 I) added at the split splits into a part inside
 * the range of J, which is J eta with eta ~ N(0, sigma^2 (J^T J)^-1), and a part
 * outside it, which carries nothing about x. So the SPLITZ classifier is
 * randomized smoothing in the input space with anisotropic noise: sigma / s_i
 * along the i-th right singular vector of J. Theorem 1 credits the radius with
 * sigma * Phi^-1(pA) / L and L >= s_max, i.e. with the smallest of those noise
 * levels, sigma / s_max. Against RS at sigma / s_max, which certifies the same
 * radius for the same pA, the SPLITZ base classifier sees as much noise or more
 * in every direction: a linear f_L can at best tie with RS, and does so only
 * when every s_i equals s_max. Any gain must come from f_L's nonlinearity (the
 * masks of eq. 18 switching units off around x).
 *
 * The rows give the singular values of J at the first certified image of each
 * run (lib/lipschitz/jacobian.ts jacobianSingularValues), as quantiles of
 * s_i / s_max, and the two noise levels: credited (sigma / s_max) and faced by
 * the median direction (sigma / s_median).
 */
import { quantileSorted } from '../eval/metrics';
import { JacobianSpectrumOptions, jacobianSingularValues } from '../lipschitz/jacobian';
import { DiagnosticsCacheUse, diagnosticsCache, measurePublishedCheckpoints } from './published-checkpoints';
import { RunSummary } from './tables';

export interface NoiseThroughSplit {
  /** Input coordinates (the number of singular values). */
  inputs: number;
  /** Largest singular value of J(x). */
  s_max: number;
  /** Quantiles 10, 25, 50, 75, 90% of s_i / s_max. */
  quantiles: [number, number, number, number, number];
  /** Share of directions with s_i >= s_max / 2. */
  above_half: number;
  /** sigma / s_max: the input-space noise the radius is credited with. */
  noise_credited: number;
  /** sigma / s_median: the input-space noise along the median direction. */
  noise_median: number;
}

const QUANTILES = [0.1, 0.25, 0.5, 0.75, 0.9] as const;

/** The summary above from singular values (any order) and sigma. */
export function noiseThroughSplit(singularValues: ArrayLike<number>, sigma: number): NoiseThroughSplit {
  if (!(sigma > 0)) throw new RangeError(`noiseThroughSplit: sigma must be > 0, got ${sigma}`);
  if (singularValues.length === 0) throw new RangeError('noiseThroughSplit: no singular values');
  const asc = Float64Array.from(singularValues).sort();
  const sMax = asc[asc.length - 1];
  if (!(sMax > 0)) throw new RangeError('noiseThroughSplit: J(x) is zero (f_L constant around x): no direction passes any signal');
  const rel = asc.map((v) => v / sMax);
  return {
    inputs: asc.length,
    s_max: sMax,
    quantiles: QUANTILES.map((q) => quantileSorted(rel, q)) as NoiseThroughSplit['quantiles'],
    above_half: rel.filter((v) => v >= 0.5).length / rel.length,
    noise_credited: sigma / sMax,
    noise_median: sigma / quantileSorted(asc, 0.5),
  };
}

export interface NoiseThroughSplitRow extends NoiseThroughSplit {
  config: string;
  scale: string;
  method: 'RS' | 'SPLITZ';
  sigma: number;
  split: number;
  /** Test-set index of the image J was taken at. */
  image: number;
  /** Every s_i / s_max, largest first (for plotting the whole spectrum). */
  spectrum: number[];
}

/**
 * noiseThroughSplit for each run with a published checkpoint, at the first
 * image its certification log holds. Runs whose input has more coordinates
 * than `maxInputs` are skipped with the reason. The default, 3,072, takes in
 * CIFAR-10: its 3,072 x 3,072 eigendecomposition takes about 5 CPU-minutes
 * per run (MNIST's 784: seconds), which is why `npm run claims` keeps the
 * result in each run's diagnostics.json.
 */
export async function noiseThroughSplitRows(
  runs: readonly RunSummary[],
  options: JacobianSpectrumOptions & { cache?: DiagnosticsCacheUse } = {},
): Promise<{ rows: NoiseThroughSplitRow[]; skipped: string[] }> {
  const { cache, ...spectrumOptions } = options;
  const maxInputs = spectrumOptions.maxInputs ?? 3072;
  const { rows, skipped } = await measurePublishedCheckpoints(
    runs,
    1,
    (r, split, x, records): NoiseThroughSplitRow | { tooLarge: string } => {
      const n = split.inputShape.reduce((a, b) => a * b, 1);
      if (n > maxInputs) return { tooLarge: `${r.config} (${r.scale}): ${n.toLocaleString('en-US')} input coordinates, more than ${maxInputs.toLocaleString('en-US')}` };
      const s = jacobianSingularValues(split, x, { ...spectrumOptions, maxInputs });
      const summary = noiseThroughSplit(s, r.sigma);
      const spectrum = Array.from(s, (v) => v / summary.s_max).sort((a, b) => b - a);
      return { config: r.config, scale: r.scale, method: r.method, sigma: r.sigma, split: r.split, image: records[0].idx, ...summary, spectrum };
    },
    diagnosticsCache(cache, 'noise-through-split', 1, { ...spectrumOptions, maxInputs }),
  );
  return {
    rows: rows.filter((r): r is NoiseThroughSplitRow => !('tooLarge' in r)),
    skipped: [...skipped, ...rows.flatMap((r) => ('tooLarge' in r ? [r.tooLarge] : []))],
  };
}
