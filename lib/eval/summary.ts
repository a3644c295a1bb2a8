/** One log's summary: what `splitz analyze` prints. */
import { CertifyLog } from './log';
import { certifiedAccuracy, averageCertifiedRadius } from './metrics';

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
  };
}

/** A plain-text table: one row per log, certified accuracy (%) at each radius, then ACR. */
export function formatSummaryTable(summaries: readonly LogSummary[]): string {
  if (summaries.length === 0) return '';
  const radii = summaries[0].radii;
  const header = ['log', 'n', 'abstain', ...radii.map((r) => `r=${r}`), 'ACR'];
  const rows = summaries.map((s) => [
    s.path,
    String(s.n),
    String(s.abstain),
    ...s.certifiedAccuracy.map((a) => (100 * a).toFixed(1)),
    s.acr.toFixed(4),
  ]);
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const fmt = (cells: string[]) => cells.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ');
  return [fmt(header), ...rows.map(fmt), '(certified accuracy in % at each radius r: correct and radius >= r; ACR = mean of radius * correct)'].join('\n');
}
