/** One log's summary: what `splitz analyze` prints. */
import { CertifyLog } from './log';
import { certifiedAccuracy, averageCertifiedRadius, median } from './metrics';

/** The radii of Cohen et al.'s and the paper's tables. */
export const DEFAULT_RADII = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5];

export interface LogSummary {
  path: string;
  /** Evaluated images. */
  n: number;
  /** Images where the smoothed classifier abstained (predict = -1). */
  abstain: number;
  radii: number[];
  /** Certified accuracy at each radius of `radii`. */
  certifiedAccuracy: number[];
  /** Average certified radius. */
  acr: number;
  /**
   * Median L(x) of f_L over the images with a class, in the `lipschitz`
   * column (the bound the radius used) and the `lipschitz_paper` column (the
   * paper's power-iteration bound, when the run logged both); null when the
   * log has no such value: RS (bound 'none', logged as L = 1, there is no
   * f_L) and Cohen et al.'s logs. Radius = R_fR / L(x), so the ratio of the
   * two medians is about how much larger the paper's radii are.
   */
  medianLipschitz: number | null;
  medianLipschitzPaper: number | null;
}

/** Median of a column's finite values over the images with a class and an f_L (abstentions log nan). */
function medianOverClassified(log: CertifyLog, column: string): number | null {
  const values = log.records.filter((r) => r.predict !== -1 && r.bound !== 'none').map((r) => r[column]);
  return median(values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)));
}

export function summarizeLog(log: CertifyLog, radii: readonly number[] = DEFAULT_RADII): LogSummary {
  if (log.records.length === 0) throw new RangeError(`${log.path}: the log has a header but no records`);
  return {
    path: log.path,
    n: log.records.length,
    abstain: log.records.filter((r) => r.predict === -1).length,
    radii: [...radii],
    certifiedAccuracy: certifiedAccuracy(log.records, radii),
    acr: averageCertifiedRadius(log.records),
    medianLipschitz: medianOverClassified(log, 'lipschitz'),
    medianLipschitzPaper: medianOverClassified(log, 'lipschitz_paper'),
  };
}

/**
 * A plain-text table: one row per log, certified accuracy (%) at each radius,
 * ACR, then the median L(x) columns when any log has them.
 */
export function formatSummaryTable(summaries: readonly LogSummary[]): string {
  if (summaries.length === 0) return '';
  const radii = summaries[0].radii;
  const withL = summaries.some((s) => s.medianLipschitz !== null || s.medianLipschitzPaper !== null);
  const header = ['log', 'n', 'abstain', ...radii.map((r) => `r=${r}`), 'ACR', ...(withL ? ['median_L', 'median_L_paper'] : [])];
  const cell = (v: number | null) => (v === null ? '-' : v.toFixed(3));
  const rows = summaries.map((s) => [
    s.path,
    String(s.n),
    String(s.abstain),
    ...s.certifiedAccuracy.map((a) => (100 * a).toFixed(1)),
    s.acr.toFixed(4),
    ...(withL ? [cell(s.medianLipschitz), cell(s.medianLipschitzPaper)] : []),
  ]);
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const fmt = (cells: string[]) => cells.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ');
  const lNote = withL ? "; median_L, median_L_paper: median L(x) of f_L over the images with a class, columns 'lipschitz' and 'lipschitz_paper'" : '';
  return [fmt(header), ...rows.map(fmt), `(certified accuracy in % at each radius r: correct and radius >= r; ACR = mean of radius * correct${lNote})`].join('\n');
}
