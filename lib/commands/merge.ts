/**
 * `splitz merge LOG... --out MERGED`: joins the shard logs of one certify run,
 * sorted by idx; overlapping images are an error, missing ones a warning.
 * Text only: no backend is initialised.
 */
import { Command } from 'commander';
// cli.ts imports this module too; UserError is only used inside functions, after both have loaded.
import { UserError } from '../cli';
import { MergeResult, mergeLogs } from '../runner/merge';
import { asUserError } from './train';

export function runMergeCommand(logs: string[], opts: { out?: string }, print: (l: string) => void = (l) => console.log(l), warn: (l: string) => void = (l) => console.error(l)): MergeResult {
  if (!opts.out) throw new UserError('merge: --out MERGED is required');
  try {
    const r = mergeLogs(logs, opts.out);
    for (const w of r.warnings) warn(`splitz: warning: ${w}`);
    print(`merged ${logs.length} log(s): ${r.count} records -> ${r.out}`);
    return r;
  } catch (e) {
    throw asUserError(e);
  }
}

export function registerMergeCommand(program: Command): void {
  program
    .command('merge')
    .description('join certification logs (the shards of one run) sorted by idx; refuses overlapping images, warns about missing ones')
    .argument('<logs...>', 'certification logs (TSV)')
    .requiredOption('--out <file>', 'merged log')
    .action((logs: string[], opts: { out: string }) => {
      runMergeCommand(logs, opts);
    });
}
