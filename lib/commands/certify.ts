/**
 * `splitz certify CONFIG|RUN_DIR|CHECKPOINT [--scale S] [--images SEL] [--n N]
 * [--n0 N0] [--alpha A] [--batch B] [--bound sound|paper|both] [--workers K]
 * [--shard i/N] [--out LOG] [--resume]`: per-image certification records
 * (lib/runner/certify.ts) with a progress bar over images.
 */
import * as cliProgress from 'cli-progress';
import { Command } from 'commander';
// cli.ts imports this module too; UserError is only used inside functions, after both have loaded.
import { UserError } from '../cli';
import { initBackend } from '../backend';
import { CertifyRunOptions, CertifyRunResult, runCertify } from '../runner/certify';
import { asUserError } from './train';

export interface CertifyCommandOptions extends Omit<CertifyRunOptions, 'n' | 'n0' | 'alpha' | 'batch' | 'workers' | 'bound' | 'seed'> {
  n?: string | number;
  n0?: string | number;
  alpha?: string | number;
  batch?: string | number;
  workers?: string | number;
  seed?: string | number;
  bound?: string;
  progress?: boolean;
  print?: (line: string) => void;
}

function num(name: string, v: string | number | undefined, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  const x = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(x) || (integer && !Number.isInteger(x))) throw new UserError(`--${name} must be ${integer ? 'an integer' : 'a number'}, got '${v}'`);
  return x;
}

/** The `certify` command as a function (the CLI action and the tests call it). */
export async function runCertifyCommand(target: string, opts: CertifyCommandOptions = {}, argv: string[] = process.argv): Promise<CertifyRunResult> {
  const print = opts.print ?? ((l: string) => console.log(l));
  try {
    if (opts.bound !== undefined && !['sound', 'paper', 'both'].includes(opts.bound)) throw new UserError(`--bound must be sound, paper or both, got '${opts.bound}'`);
    const backend = await initBackend();
    const showBar = opts.progress ?? Boolean(process.stderr.isTTY);
    let bar: cliProgress.SingleBar | undefined;
    let t0 = Date.now();
    let startDone = 0;
    try {
      const res = await runCertify(target, {
        ...opts,
        n: num('n', opts.n, true),
        n0: num('n0', opts.n0, true),
        alpha: num('alpha', opts.alpha, false),
        batch: num('batch', opts.batch, true),
        workers: num('workers', opts.workers, true),
        seed: num('seed', opts.seed, true),
        bound: opts.bound as CertifyRunOptions['bound'],
        commandLine: argv.join(' '),
        onStart: (info) => {
          print(
            `certifying ${info.todo} of ${info.total} images (${info.done} already in the log) from ${info.checkpoint} on ${backend.chosen}` +
              `${info.workers > 1 ? ` with ${info.workers} workers` : ''}: sigma ${info.settings.sigma}, n0 ${info.settings.n0}, n ${info.settings.n}, alpha ${info.settings.alpha}, bound ${info.settings.bound} -> ${info.out}`,
          );
          t0 = Date.now();
          startDone = info.done;
          if (showBar && info.todo > 0) {
            bar = new cliProgress.SingleBar({ format: 'certify |{bar}| {value}/{total} images | {spi} s/image | ETA {eta_formatted} | certified acc so far {acc}', hideCursor: true }, cliProgress.Presets.shades_classic);
            bar.start(info.total, info.done, { spi: '-', acc: '-' });
          }
          opts.onStart?.(info);
        },
        onRecord: (rec, done, total) => {
          const secs = (Date.now() - t0) / 1000;
          bar?.update(done, { spi: (secs / Math.max(1, done - startDone)).toFixed(2), acc: '-' });
          if (!bar && (done === total || (done - startDone) % 25 === 0)) print(`  ${done}/${total} images, ${(secs / Math.max(1, done - startDone)).toFixed(2)} s/image`);
          opts.onRecord?.(rec, done, total);
        },
      });
      bar?.stop();
      bar = undefined;
      const acc = res.records.filter((r) => r.correct === 1).length / Math.max(1, res.records.length);
      print(`done: ${res.certified} images certified in ${res.seconds.toFixed(1)} s (${(res.seconds / Math.max(1, res.certified)).toFixed(2)} s/image); ${res.records.length} records in ${res.out} (smoothed classifier correct on ${(100 * acc).toFixed(1)}% of them); settings in ${res.sidecar}. Summary: splitz analyze ${res.out}`);
      return res;
    } finally {
      bar?.stop();
    }
  } catch (e) {
    throw asUserError(e);
  }
}

export function registerCertifyCommand(program: Command): void {
  program
    .command('certify')
    .description('certify test images of a trained model (Algorithm 1, Theorem 1 radius): TSV log with Cohen\'s columns first; resumable, --shard and --workers for parallel runs')
    .argument('<target>', 'experiment config (uses runs/<name>-<scale>/best), a run directory, or a checkpoint directory')
    .option('--scale <scale>', "scale of a config target", 'paper')
    .option('--checkpoint <dir>', 'with a config target: certify this checkpoint instead of the run\'s best/')
    .option('--images <sel>', "all | every:K[:OFFSET] | first:N | list:I,J,... (default: the config's certify.images)")
    .option('--n <n>', 'estimation samples (default: config)')
    .option('--n0 <n0>', 'selection samples (default: config)')
    .option('--alpha <alpha>', 'failure probability (default: config)')
    .option('--batch <b>', 'samples per forward pass (default: config)')
    .option('--bound <mode>', 'local bound: sound | paper | both (one sampling run, two radii) (default: config)')
    .option('--seed <seed>', 'noise seed (default: config)')
    .option('--workers <k>', 'worker threads, each with its own backend', '1')
    .option('--shard <i/N>', 'certify only the images at positions p with p % N == i of the selection')
    .option('--out <log>', 'log file (default <run dir>/certify-n<n>[-shard<i>of<N>].tsv)')
    .option('--resume', 'continue an existing log at the first image without a record')
    .option('--no-progress', 'no progress bar')
    .action(async (target: string, opts: CertifyCommandOptions & { progress: boolean }) => {
      await runCertifyCommand(target, { ...opts, progress: opts.progress === false ? false : undefined });
    });
}
