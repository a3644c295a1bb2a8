/**
 * `splitz train CONFIG [--scale S] [--out DIR] [--resume]`: trains the model
 * of an experiment config (SPLITZ, eq. 17; or RS at split 0) with a progress
 * bar per epoch, a JSON-lines log and a checkpoint every epoch (lib/runner/train.ts).
 */
import * as cliProgress from 'cli-progress';
import { Command } from 'commander';
// cli.ts imports this module too; UserError is only used inside functions, after both have loaded.
import { UserError } from '../cli';
import { initBackend } from '../backend';
import { ConfigError, loadConfig } from '../config';
import { CheckpointError } from '../io/checkpoint';
import { LogFormatError } from '../eval/log';
import { SplitError } from '../models/split';
import { RunnerError } from '../runner/common';
import { EpochRecord, TrainHooks, TrainResult, runTraining } from '../runner/train';

/** Errors whose message tells the user what to fix: the CLI prints them as one line. */
export function asUserError(e: unknown): unknown {
  if (e instanceof RunnerError || e instanceof ConfigError || e instanceof CheckpointError || e instanceof LogFormatError || e instanceof SplitError) {
    // One line: a config's list of problems becomes "file: invalid config: a; b; c".
    return new UserError(e.message.replace(/:\s*\n\s*-\s*/g, ': ').replace(/\s*\n\s*-\s*/g, '; ').replace(/\s*\n\s*/g, ' '));
  }
  return e;
}

export interface TrainCommandOptions {
  scale?: string;
  out?: string;
  resume?: boolean;
  /** Show the progress bar (default: when stderr is a terminal). */
  progress?: boolean;
  /** Extra hooks (tests). */
  hooks?: TrainHooks;
  /** Printed lines go here (default console.log). */
  print?: (line: string) => void;
}

function fmt(v: number, d = 4): string {
  return Number.isFinite(v) ? v.toFixed(d) : String(v);
}

/** One line per epoch for the terminal and nohup logs. */
export function formatEpoch(r: EpochRecord, maxEpochs: number): string {
  return (
    `epoch ${r.epoch + 1}/${maxEpochs} (${r.phase}) lr ${r.lr.toExponential(2)} lambda ${fmt(r.lambda, 3)} | loss ${fmt(r.loss)} ce ${fmt(r.ce)} lip ${fmt(r.lip)} ` +
    `| train acc ${fmt(r.train_acc, 3)} mean L ${fmt(r.mean_L, 3)} | held-out acc ${fmt(r.holdout_acc, 3)} (clean ${fmt(r.holdout_clean_acc, 3)})${r.best ? ' *best*' : ''} | ${r.seconds.toFixed(1)} s`
  );
}

/** The `train` command as a function (the CLI action and the tests call it). */
export async function runTrainCommand(configPath: string, opts: TrainCommandOptions = {}, argv: string[] = process.argv): Promise<TrainResult> {
  const print = opts.print ?? ((l: string) => console.log(l));
  try {
    const config = loadConfig(configPath, { scale: opts.scale });
    const backend = await initBackend();
    const showBar = opts.progress ?? Boolean(process.stderr.isTTY);
    let bar: cliProgress.SingleBar | undefined;
    let maxEpochs = 0;
    let t0 = 0;
    const user = opts.hooks ?? {};
    const hooks: TrainHooks = {
      onStart: (info) => {
        maxEpochs = info.maxEpochs;
        print(
          `${info.resumed ? 'resuming' : 'training'} ${config.name} at scale '${config.scale.name}' on ${backend.chosen}: ${info.trainImages} training images, ${info.holdoutImages} held out, ` +
            `${info.stepsPerEpoch} steps/epoch, epochs ${info.startEpoch + 1}..${info.epochs}${info.maxEpochs > info.epochs ? ` (+ up to ${info.maxEpochs - info.epochs} with early stopping)` : ''}, schedule_mode ${config.train.schedule_mode}`,
        );
        user.onStart?.(info);
      },
      onEpochStart: (epoch, steps) => {
        t0 = Date.now();
        if (showBar) {
          bar = new cliProgress.SingleBar(
            {
              format: `epoch ${epoch + 1}/${maxEpochs} |{bar}| {value}/{total} steps | {rate} img/s | ETA {eta_formatted} | loss {loss} ce {ce} lip {lip} acc {acc} L {L}`,
              hideCursor: true,
              etaBuffer: 20,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(steps, 0, { rate: '-', loss: '-', ce: '-', lip: '-', acc: '-', L: '-' });
        }
        user.onEpochStart?.(epoch, steps);
      },
      onStep: (epoch, step, steps, r) => {
        const secs = (Date.now() - t0) / 1000;
        bar?.update(step, {
          rate: secs > 0 ? ((step * config.train.batch_size) / secs).toFixed(0) : '-',
          loss: fmt(r.loss),
          ce: fmt(r.ce),
          lip: fmt(r.lip),
          acc: fmt(r.acc, 3),
          L: fmt(r.meanL, 3),
        });
        // Without a bar (nohup, pipes): a line every tenth of the epoch, so a log file shows progress.
        if (!bar && (step % Math.max(1, Math.ceil(steps / 10)) === 0 || step === steps)) {
          const secs = (Date.now() - t0) / 1000;
          print(`  epoch ${epoch + 1} step ${step}/${steps}: ${((step * config.train.batch_size) / secs).toFixed(0)} img/s, ETA ${((secs / step) * (steps - step)).toFixed(0)} s | loss ${fmt(r.loss)} ce ${fmt(r.ce)} lip ${fmt(r.lip)} acc ${fmt(r.acc, 3)} L ${fmt(r.meanL, 3)}`);
        }
        user.onStep?.(epoch, step, steps, r);
      },
      onEpochEnd: (rec) => {
        bar?.stop();
        bar = undefined;
        print(formatEpoch(rec, maxEpochs));
        user.onEpochEnd?.(rec);
      },
    };
    try {
      const res = await runTraining(config, { outDir: opts.out, resume: opts.resume, commandLine: argv.join(' '), backend: backend.chosen, hooks });
      print(
        `done: ${res.epochsDone} epochs${res.stoppedEarly ? ' (early stop)' : ''}; best held-out accuracy ${fmt(res.bestAcc, 4)} at epoch ${res.bestEpoch + 1}; run directory ${res.outDir} (best/ is what 'splitz certify' uses)`,
      );
      return res;
    } finally {
      bar?.stop();
    }
  } catch (e) {
    throw asUserError(e);
  }
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train the model of an experiment config (SPLITZ loss of eq. 17, or RS at split 0); checkpoints every epoch, --resume continues a killed run')
    .argument('<config>', 'experiment config (configs/*.json)')
    .option('--scale <scale>', "which of the config's scales (paper, reduced, smoke, ...)", 'paper')
    .option('--out <dir>', 'run directory (default runs/<config name>-<scale>/)')
    .option('--resume', 'continue the run in the run directory from its last checkpoint')
    .option('--no-progress', 'no progress bar (one line per epoch only)')
    .action(async (config: string, opts: { scale: string; out?: string; resume?: boolean; progress: boolean }) => {
      await runTrainCommand(config, { scale: opts.scale, out: opts.out, resume: opts.resume, progress: opts.progress === false ? false : undefined });
    });
}
