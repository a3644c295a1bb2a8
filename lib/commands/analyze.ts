/**
 * `splitz analyze LOG... [--radii 0,0.25,...] [--json]`: certified accuracy at
 * each radius and ACR of certification logs (ours or Cohen et al.'s format).
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

export interface AnalyzeOptions {
  /** Comma list "0,0.25,0.5" or range "0:2:0.25". Default DEFAULT_RADII. */
  radii?: string;
  /** Print JSON instead of a table. */
  json?: boolean;
}

/** Summaries of the logs, printed through `out` (stdout by default). */
export function runAnalyze(paths: string[], options: AnalyzeOptions = {}, out: (text: string) => void = (t) => console.log(t)): LogSummary[] {
  if (paths.length === 0) throw new UserError('analyze: give at least one certification log (TSV with columns idx label predict radius correct time)');
  let radii: number[];
  try {
    radii = options.radii === undefined ? DEFAULT_RADII : parseRadii(options.radii);
  } catch (e) {
    throw new UserError(`--radii: ${(e as Error).message}`);
  }
  const summaries: LogSummary[] = [];
  for (const p of paths) {
    try {
      summaries.push(summarizeLog(readCertifyLog(p), radii));
    } catch (e) {
      if (e instanceof LogFormatError || e instanceof RangeError) throw new UserError(e.message);
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
    .action((logs: string[], opts: AnalyzeOptions) => {
      runAnalyze(logs, opts);
    });
}
