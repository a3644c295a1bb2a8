/**
 * How close each certified L(x) is to the spectral norms it stands for: the
 * logged `sound` and `paper` bounds of a run, recomputed by a converged power
 * iteration at the same gamma.
 *
 * The two radius columns of a SPLITZ log differ in two ways: the `sound`
 * bound adds rounding margins and proves each per-layer norm (Cholesky of
 * cI - A^T A), while the `paper` bound stops power iteration after the
 * training's number of steps (5 on MNIST), which falls short of every norm.
 * Holding both against power iteration run to convergence (300 steps, itself
 * a lower estimate, so a ratio a hair above 1 is expected of `sound`) says
 * which of the two makes the gap: a `sound` / converged ratio near 1 means
 * rigour costs nothing, and the gap between the radii is the paper's
 * under-converged estimate, i.e. radii it claims but cannot prove.
 */
import * as tf from '@tensorflow/tfjs-core';
import { median } from '../eval/metrics';
import { paperLipschitz } from '../lipschitz/local';
import { DiagnosticsCacheUse, diagnosticsCache, measurePublishedCheckpoints } from './published-checkpoints';
import { RunSummary } from './tables';

export interface BoundTightnessRow {
  config: string;
  scale: string;
  sigma: number;
  split: number;
  /** Certified (non-abstaining) images among the log's first, with both bounds logged. */
  images: number;
  /** Median and largest logged sound L / converged L at the sound gamma. */
  sound_median: number;
  sound_max: number;
  /** Median and smallest logged paper L / converged L at the paper gamma. */
  paper_median: number;
  paper_min: number;
}

/** Converged `paper` L(x_b, gamma_b) for the rows `pick` of the batch x. */
function converged(split: Parameters<typeof paperLipschitz>[0], x: tf.Tensor, pick: number[], gamma: number[], steps: number): Float64Array {
  const xs = tf.gather(x, pick);
  try {
    return paperLipschitz(split, xs, gamma, { iterations: steps, seed: 0 });
  } finally {
    xs.dispose();
  }
}

/**
 * For each SPLITZ run with a published checkpoint whose log holds both bounds
 * (lipschitz with gamma, lipschitz_paper with gamma_paper): the ratios above,
 * over the non-abstaining images among the log's first `maxImages` (default 50).
 */
export async function boundTightnessRows(
  runs: readonly RunSummary[],
  options: { maxImages?: number; steps?: number; cache?: DiagnosticsCacheUse } = {},
): Promise<{ rows: BoundTightnessRow[]; skipped: string[] }> {
  const steps = options.steps ?? 300;
  const maxImages = options.maxImages ?? 50;
  const both = runs.filter((r) => r.method === 'SPLITZ');
  const { rows, skipped } = await measurePublishedCheckpoints(
    both,
    maxImages,
    (r, split, x, records): BoundTightnessRow | undefined => {
      const pick: number[] = [];
      records.forEach((rec, b) => {
        const ok = [rec.lipschitz, rec.gamma, rec.lipschitz_paper, rec.gamma_paper].every((v) => typeof v === 'number' && Number.isFinite(v));
        if (rec.predict >= 0 && ok && (rec.lipschitz as number) > 0 && (rec.lipschitz_paper as number) > 0) pick.push(b);
      });
      if (!pick.length) return undefined;
      const soundRef = converged(split, x, pick, pick.map((b) => records[b].gamma as number), steps);
      const paperRef = converged(split, x, pick, pick.map((b) => records[b].gamma_paper as number), steps);
      const sound = pick.map((b, i) => (records[b].lipschitz as number) / soundRef[i]);
      const paper = pick.map((b, i) => (records[b].lipschitz_paper as number) / paperRef[i]);
      return {
        config: r.config,
        scale: r.scale,
        sigma: r.sigma,
        split: r.split,
        images: pick.length,
        sound_median: median(sound) as number,
        sound_max: Math.max(...sound),
        paper_median: median(paper) as number,
        paper_min: Math.min(...paper),
      };
    },
    diagnosticsCache(options.cache, 'bound-tightness', 1, { steps }),
  );
  const noBoth = both.filter((r) => !rows.some((x) => x && x.config === r.config && x.scale === r.scale) && !skipped.some((s) => s.startsWith(`${r.config} (${r.scale})`)));
  return {
    rows: rows.filter((x): x is BoundTightnessRow => x !== undefined),
    skipped: [...skipped, ...noBoth.map((r) => `${r.config} (${r.scale}): no certified image with both bounds logged`)],
  };
}
