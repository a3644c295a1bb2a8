/**
 * `splitz analyze LOG... [--radii 0,0.25,...] [--json]`: certified accuracy at
 * each radius and ACR of certification logs (ours or Cohen et al.'s format),
 * and for SPLITZ logs the median L(x) of f_L under each logged bound.
 * `splitz analyze A B --paired [--column radius_paper]`: the two logs compared
 * image by image on the images both hold (lib/eval/paired): McNemar's test at
 * each radius, the interval of the ACR difference, and how often the two
 * predict alike.
 *
 * It reads text files only and touches no tensor, so unlike the other
 * commands it does not initialise a TensorFlow.js backend.
 */
import { Command } from 'commander';
// cli.ts imports this module too; UserError is only used inside functions, after both have loaded.
import { UserError } from '../cli';
import { readCertifyLog, LogFormatError } from '../eval/log';
import { parseRadii } from '../eval/metrics';
import { summarizeLog, formatSummaryTable, LogSummary, DEFAULT_RADII } from '../eval/summary';
import { PairedAccuracy, PairedAcr, PairedAgreement, commonImages, formatPairedTable, pairedAccuracy, pairedAcr, pairedAgreement, recordRadii } from '../eval/paired';

export interface AnalyzeOptions {
  /** Comma list "0,0.25,0.5" or range "0:2:0.25". Default DEFAULT_RADII. */
  radii?: string;
  /** Print JSON instead of a table. */
  json?: boolean;
  /** Compare two logs image by image (runPairedAnalyze). */
  paired?: boolean;
  /** With --paired: the radius column to compare (default 'radius'; 'radius_paper' for the paper's bound). */
  column?: string;
}

export interface PairedAnalysis {
  /** The logs and how many images each holds (the comparison uses the images both hold). */
  a: { path: string; images: number };
  b: { path: string; images: number };
  column: string;
  accuracy: PairedAccuracy[];
  acr: PairedAcr;
  agreement: PairedAgreement;
}

function radiiOption(radii: string | undefined): number[] {
  try {
    return radii === undefined ? DEFAULT_RADII : parseRadii(radii);
  } catch (e) {
    throw new UserError(`--radii: ${(e as Error).message}`);
  }
}

/** The certification log at P; a missing or malformed one is a UserError naming the file. */
function readLog(p: string) {
  try {
    return readCertifyLog(p);
  } catch (e) {
    if (e instanceof LogFormatError) throw new UserError(e.message);
    throw e;
  }
}

/** Two logs of the same test images compared image by image, printed through `out`. */
export function runPairedAnalyze(paths: string[], options: AnalyzeOptions = {}, out: (text: string) => void = (t) => console.log(t)): PairedAnalysis {
  if (paths.length !== 2) throw new UserError(`analyze --paired: give exactly two certification logs (A and B), got ${paths.length}`);
  const radii = radiiOption(options.radii);
  const column = options.column ?? 'radius';
  const [logA, logB] = paths.map((p) => {
    const log = readLog(p);
    if (!log.columns.includes(column)) throw new UserError(`${p}: no column '${column}'; its columns are ${log.columns.join(', ')}`);
    return log;
  });
  const [a, b] = [logA, logB].map((log) => recordRadii(log.records, column));
  if (commonImages(a, b).length === 0) throw new UserError(`analyze --paired: ${paths[0]} and ${paths[1]} share no test image (idx); compare logs of the same image selection`);
  const result: PairedAnalysis = {
    a: { path: paths[0], images: a.size },
    b: { path: paths[1], images: b.size },
    column,
    accuracy: radii.map((eps) => pairedAccuracy(a, b, eps)),
    acr: pairedAcr(a, b),
    agreement: pairedAgreement(logA.records, logB.records),
  };
  out(options.json ? JSON.stringify(result, null, 2) : formatPairedTable(result.a, result.b, column, result.accuracy, result.acr, result.agreement));
  return result;
}

/** Summaries of the logs, printed through `out` (stdout by default). */
export function runAnalyze(paths: string[], options: AnalyzeOptions = {}, out: (text: string) => void = (t) => console.log(t)): LogSummary[] {
  if (paths.length === 0) throw new UserError('analyze: give at least one certification log (TSV with columns idx label predict radius correct time)');
  if (options.column !== undefined && !options.paired) throw new UserError('analyze: --column goes with --paired (it names the radius column the two logs are compared on)');
  const radii = radiiOption(options.radii);
  const summaries: LogSummary[] = [];
  for (const p of paths) {
    const log = readLog(p);
    try {
      summaries.push(summarizeLog(log, radii));
    } catch (e) {
      // A log with a header but no records.
      if (e instanceof RangeError) throw new UserError(e.message);
      throw e;
    }
  }
  if (options.json) out(JSON.stringify({ logs: summaries }, null, 2));
  else out(formatSummaryTable(summaries));
  return summaries;
}

export function registerAnalyzeCommand(program: Command): void {
  program
    .command('analyze')
    .description('certified accuracy at given radii and average certified radius (ACR) of certification logs (ours or Cohen et al.\'s TSV)')
    .argument('<logs...>', 'certification logs (TSV: idx label predict radius correct time ...)')
    .option('--radii <list>', `radii at which to report certified accuracy: comma list or start:stop:step (default ${DEFAULT_RADII.join(',')})`)
    .option('--json', 'print machine-readable JSON instead of a table')
    .option('--paired', 'compare two logs of the same test images image by image: McNemar\'s test at each radius, 95% interval of the ACR difference, how often they predict alike')
    .option('--column <name>', "with --paired: the radius column to compare (default 'radius'; 'radius_paper' for the paper's Lipschitz bound)")
    .action((logs: string[], opts: AnalyzeOptions) => {
      if (opts.paired) runPairedAnalyze(logs, opts);
      else runAnalyze(logs, opts);
    });
}
