/**
 * The headline pair's figure: SPLITZ and RS on MNIST at sigma = 0.75, trained
 * on the paper's full schedule (scale 'headline'), drawn apart from the
 * main-scale figures so a 150-epoch run is never set beside 12-epoch ones.
 * Its table is tableHeadline (./tables.ts).
 */
import { PaperPoint, boundLegend, figHeadline } from './figures';
import type { VegaLiteSpec } from './render';
import { RunSummary, boundCurves, headlinePair, paperReferenceRow, scaleSubtitle } from './tables';

/** File name (no extension) of the headline figure under figures/. */
export const HEADLINE_FIGURE = 'fig_headline_mnist_sigma0.75';

/**
 * The headline figure from runs of any scale (only the headline pair is
 * used): every bound each run logged, and the paper's sigma = 0.75 reference
 * row of Tables V-VII as markers. Undefined when neither run exists.
 */
export function headlineFigure(runs: readonly RunSummary[]): { spec: VegaLiteSpec; runs: RunSummary[] } | undefined {
  const { splitz, rs } = headlinePair(runs);
  const pair = [splitz, rs].filter((r): r is RunSummary => r !== undefined);
  if (!pair.length) return undefined;
  const curves = pair.flatMap((r) => boundCurves(r).map((c) => ({ method: r.method, bound: boundLegend(c.bound), curve: c.curve })));
  const paper: PaperPoint[] = paperReferenceRow().map((l) => ({ series: 'SPLITZ', eps: l.eps, certified_accuracy: l.certified_accuracy as number, source: 'paper (Tables V-VII, σ = 0.75)' }));
  return { spec: figHeadline(curves, paper, { subtitle: scaleSubtitle(pair) }), runs: pair };
}
