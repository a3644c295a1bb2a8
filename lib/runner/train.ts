/**
 * `splitz train`: a whole SPLITZ / RS training run from an experiment config
 * (lib/config), resumable after a kill.
 *
 * Run directory (default runs/<config name>-<scale>/):
 *   train-log.jsonl   one JSON object per line: {"type":"run",...} at the start,
 *                     {"type":"resume",...} when continued (a run killed
 *                     before its first epoch ended starts over: one "run"
 *                     line, with the earlier start times), then one
 *                     {"type":"epoch",...} per epoch (loss parts, accuracy,
 *                     mean L(x), lambda, lr, held-out accuracy, seconds)
 *   checkpoint/       the last epoch: model, optimizer state (step, Adam
 *                     moments), and in meta.json the epoch, the training state
 *                     (best so far, patience counter, theta_lip) and seeds
 *   warm-e<E>.bin     the per-sample power-iteration vectors after epoch E
 *   best/             the model with the best held-out accuracy (what
 *                     `splitz certify` uses)
 *
 * Every epoch: the log line is appended, then best/ (when improved), then the
 * warm-start file and checkpoint/ are replaced atomically. A run killed at
 * any point resumes from the last complete checkpoint: log lines of epochs
 * after it are dropped and those epochs re-run. Because the batch order, the
 * training noise and the first power-iteration vectors are functions of
 * (seed, epoch, step, image) and the optimizer state is restored exactly
 * (lib/train/optim.ts), the resumed run computes the same weights and log
 * (up to timings) as an uninterrupted one.
 *
 * Best-checkpoint criterion (the paper does not say): accuracy on the
 * held-out images of the base classifier f_R(f_L(x) + delta) with one fixed
 * noise draw per image; ties keep the earlier epoch. The early-stopping
 * extension (`extra_epochs`) stops after `early_stopping_patience` epochs
 * without improvement.
 */
import * as fs from 'fs';
import { readJsonLines } from '../io/jsonl';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ExperimentConfig } from '../config';
import { batches, numBatches } from '../data/batches';
import { ImageDataset } from '../data/types';
import { CheckpointMeta, checkpointExists, loadCheckpoint, saveCheckpoint } from '../io/checkpoint';
import { SplitzOptimizer } from '../train/optim';
import { scheduleAt } from '../train/schedule';
import { TrainNet, WarmStartStore, affineInputShapes, evaluateHoldout, optimizerVariables, splitzStep, trainNet } from '../train/splitz';
import { NoiseStepKey, TrainingNoiseFeed, batchSizeAt } from '../train/noise-feed';
import { RunnerError, appendLine, archOptionsOf, buildConfigModel, defaultRunDir, holdoutSplit, loadDataset, trainingIdentity, writeFileAtomic } from './common';
import { isWarmFile, warmFileName } from './files';

export const TRAIN_LOG = 'train-log.jsonl';
export const LAST_DIR = 'checkpoint';
export const BEST_DIR = 'best';

/** One line of train-log.jsonl per epoch. */
export interface EpochRecord {
  type: 'epoch';
  /** 0-based epoch. */
  epoch: number;
  phase: 'main' | 'extension';
  /** Position on the paper's schedule (schedule epochs) and how it was reached. */
  schedule_t: number;
  schedule_mode: 'compress' | 'truncate';
  steps: number;
  total_steps: number;
  images: number;
  lr: number;
  lambda: number;
  theta_lip: number;
  /** Mean over the epoch's batches of the eq. 17 loss and of its two parts. */
  loss: number;
  ce: number;
  lip: number;
  /** Accuracy of the noisy training predictions (Q per image). */
  train_acc: number;
  /** Mean of L(x, gamma_train) (paper bound, before each step) over the epoch's images; 1 for RS. */
  mean_L: number;
  /** Held-out accuracy with one fixed noise draw per image, and without noise. */
  holdout_acc: number;
  holdout_clean_acc: number;
  best: boolean;
  seconds: number;
}

/** Training state kept in checkpoint/meta.json. */
interface TrainState {
  epochsDone: number;
  totalSteps: number;
  bestAcc: number;
  bestEpoch: number;
  sinceBest: number;
  thetaLip: number;
  warmFile: string | null;
  stoppedEarly: boolean;
}

export interface TrainHooks {
  onStart?(info: { epochs: number; maxEpochs: number; startEpoch: number; stepsPerEpoch: number; trainImages: number; holdoutImages: number; resumed: boolean }): void;
  onEpochStart?(epoch: number, steps: number): void;
  onStep?(epoch: number, step: number, steps: number, running: { loss: number; ce: number; lip: number; acc: number; meanL: number }): void;
  /** After the epoch's log line and checkpoints are on disk. Throwing here aborts the run (tests simulate kills this way). */
  onEpochEnd?(rec: EpochRecord): void;
}

export interface TrainOptions {
  /** Run directory (default runs/<name>-<scale>). */
  outDir?: string;
  /** Continue from the run directory's last checkpoint. */
  resume?: boolean;
  /** Recorded in the log (the CLI passes its argv). */
  commandLine?: string;
  /** Backend name for the log. */
  backend?: string;
  hooks?: TrainHooks;
  /** Preloaded training set (tests); default: the config's dataset. */
  data?: ImageDataset;
}

export interface TrainResult {
  outDir: string;
  epochsDone: number;
  bestEpoch: number;
  bestAcc: number;
  stoppedEarly: boolean;
  records: EpochRecord[];
}

/** The log's lines as objects; a partial last line (a kill mid-write) is dropped. */
export function readTrainLog(file: string): Record<string, unknown>[] {
  return fs.existsSync(file) ? readJsonLines(file, (m) => new RunnerError(m)) : [];
}

/** Runs (or resumes) the training of `config`. */
export async function runTraining(config: ExperimentConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const t = config.train;
  const outDir = path.resolve(options.outDir ?? defaultRunDir(config));
  const logFile = path.join(outDir, TRAIN_LOG);
  const lastDir = path.join(outDir, LAST_DIR);
  const bestDir = path.join(outDir, BEST_DIR);
  const hooks = options.hooks ?? {};
  const canResume = checkpointExists(lastDir);
  if (!options.resume && (canResume || fs.existsSync(logFile))) {
    throw new RunnerError(`${outDir} already holds a training run; pass --resume to continue it, or --out DIR for a new one`);
  }
  if (options.resume && !canResume && fs.existsSync(logFile)) {
    // Without checkpoint/ the run would start over and drop the logged epochs; a run killed in its first epoch has none to lose.
    const logged = readTrainLog(logFile).filter((r) => r.type === 'epoch').length;
    if (logged > 0) throw new RunnerError(`${outDir}: its training log records ${logged} epoch${logged === 1 ? '' : 's'}, but ${LAST_DIR}/ (the checkpoint they are resumed from) is missing; put it back, or train a new run with --out DIR`);
  }

  const data = options.data ?? (await loadDataset(config.dataset, 'train'));
  const { trainIdx, holdoutIdx } = holdoutSplit(data.n, t);
  const posOf = new Int32Array(data.n).fill(-1);
  trainIdx.forEach((d, p) => (posOf[d] = p));

  // Model, optimizer, training state: fresh or from the last checkpoint.
  let model: tfl.LayersModel;
  let state: TrainState = { epochsDone: 0, totalSteps: 0, bestAcc: -1, bestEpoch: -1, sinceBest: 0, thetaLip: t.theta_lip, warmFile: null, stoppedEarly: false };
  let optimizerWeights: Awaited<ReturnType<typeof loadCheckpoint>>['optimizerWeights'];
  const resumed = Boolean(options.resume && canResume);
  if (resumed) {
    const ck = await loadCheckpoint(lastDir, { expectArch: { arch: config.arch, options: archOptionsOf(config) } });
    const was = ck.meta.config as ExperimentConfig | undefined;
    if (!was || trainingIdentity(was) !== trainingIdentity(config)) {
      ck.model.dispose();
      throw new RunnerError(`${lastDir} was trained with different settings than ${config.source.file} at scale '${config.scale.name}' (dataset, arch, split, theta, sigma or train.*); resume with the config it was started with, or use --out DIR for a new run`);
    }
    model = ck.model;
    state = ck.meta.trainState as TrainState;
    optimizerWeights = ck.optimizerWeights;
  } else {
    fs.mkdirSync(outDir, { recursive: true });
    model = buildConfigModel(config);
  }

  const net: TrainNet = trainNet(model, config.split);
  const thetaVar = t.theta_lip_learnable ? tf.variable(tf.scalar(state.thetaLip), true, `theta_lip_${Date.now()}_${Math.random().toString(36).slice(2)}`) : undefined;
  const vars = optimizerVariables(model, thetaVar);
  const optimizer = new SplitzOptimizer(vars, { kind: t.optimizer, lr: t.lr, weightDecay: t.weight_decay, momentum: t.momentum });
  if (optimizerWeights) {
    await optimizer.setWeights(optimizerWeights);
    tf.dispose(optimizerWeights.map((w) => w.tensor));
  }
  const warm = net.s > 0 ? new WarmStartStore(affineInputShapes(net.split), trainIdx.length, t.seed) : undefined;
  if (warm && state.warmFile) {
    const f = path.join(outDir, state.warmFile);
    if (!fs.existsSync(f)) throw new RunnerError(`${f} is missing: the checkpoint's power-iteration vectors; the run cannot resume exactly (start a new run with --out)`);
    warm.loadBytes(fs.readFileSync(f));
  }

  // The log. Resumed: keep what the checkpoint covers, drop epochs it does not. Not resumed: a new run, or one
  // killed before its first epoch ended (--resume without a checkpoint; refused above when epochs were logged), whose
  // log holds only start lines: the log keeps one `run` line, the new start, which names the earlier ones.
  const previous = readTrainLog(logFile);
  const kept = resumed ? previous.filter((r) => r.type !== 'epoch' || (r.epoch as number) < state.epochsDone) : [];
  const earlierStarts = resumed ? [] : previous.filter((r) => r.type === 'run' || r.type === 'resume').map((r) => r.time as string);
  const records = kept.filter((r) => r.type === 'epoch') as unknown as EpochRecord[];
  writeFileAtomic(logFile, kept.map((r) => JSON.stringify(r) + '\n').join(''));
  const now = new Date().toISOString();
  if (!resumed) {
    appendLine(
      logFile,
      JSON.stringify({
        type: 'run',
        time: now,
        config: config.source.file,
        name: config.name,
        scale: config.scale,
        command: options.commandLine ?? null,
        backend: options.backend ?? tf.getBackend(),
        schedule_mode: t.schedule_mode,
        theta_lip: t.theta_lip_learnable ? 'learnable' : 'fixed',
        best_criterion: 'held-out accuracy of f_R(f_L(x) + delta), one fixed draw per image',
        train_images: trainIdx.length,
        holdout_images: holdoutIdx.length,
        seed: t.seed,
        resolved: config,
        ...(earlierStarts.length ? { earlier_starts: earlierStarts } : {}),
      }),
    );
  } else {
    appendLine(logFile, JSON.stringify({ type: 'resume', time: now, from_epoch: state.epochsDone, command: options.commandLine ?? null, backend: options.backend ?? tf.getBackend() }));
  }

  const maxEpochs = t.epochs + t.extra_epochs;
  const stepsPerEpoch = numBatches(trainIdx.length, t.batch_size);
  hooks.onStart?.({ epochs: t.epochs, maxEpochs, startEpoch: state.epochsDone, stepsPerEpoch, trainImages: trainIdx.length, holdoutImages: holdoutIdx.length, resumed });

  // The training noise of the next step is drawn on a worker while this one runs (same draws).
  const feed = new TrainingNoiseFeed(t.seed, t.Q, net.D, config.sigma);
  const stepAfter = (epoch: number, step: number): NoiseStepKey | undefined => {
    const B = batchSizeAt(trainIdx.length, t.batch_size, step + 1);
    if (B !== undefined) return { epoch, step: step + 1, B };
    return epoch + 1 < maxEpochs ? { epoch: epoch + 1, step: 0, B: Math.min(t.batch_size, trainIdx.length) } : undefined;
  };
  try {
    for (let epoch = state.epochsDone; epoch < maxEpochs && !state.stoppedEarly; epoch++) {
      if (epoch >= t.epochs && t.early_stopping_patience !== undefined && state.sinceBest >= t.early_stopping_patience) {
        state.stoppedEarly = true;
        break;
      }
      const t0 = process.hrtime.bigint();
      const sched = scheduleAt(t, epoch);
      optimizer.lr = sched.lr;
      hooks.onEpochStart?.(epoch, stepsPerEpoch);
      let step = 0;
      const sum = { loss: 0, ce: 0, lip: 0, correct: 0, count: 0, L: 0, images: 0 };
      for (const b of batches(data, { batchSize: t.batch_size, shuffle: true, seed: `${t.seed}/epoch/${epoch}`, augment: t.augment, indices: trainIdx })) {
        const positions = Int32Array.from(b.indices, (d) => posOf[d]);
        const noise = await feed.take({ epoch, step, B: b.indices.length }, stepAfter(epoch, step));
        try {
          const r = splitzStep(
            net,
            optimizer,
            { x: b.x, y: b.y, positions, indices: b.indices },
            noise,
            { lambda: sched.lambda, thetaLip: thetaVar ?? t.theta_lip, gammaTrain: t.gamma_train, powerIterations: t.power_iterations, Q: t.Q },
            warm,
          );
          sum.loss += r.loss * r.B;
          sum.ce += r.ce * r.B;
          sum.lip += r.lip * r.B;
          sum.correct += r.correct;
          sum.count += r.count;
          sum.L += r.sumL;
          sum.images += r.B;
        } finally {
          tf.dispose([b.x, b.y]);
          feed.recycle(noise);
        }
        step++;
        state.totalSteps++;
        hooks.onStep?.(epoch, step, stepsPerEpoch, {
          loss: sum.loss / sum.images,
          ce: sum.ce / sum.images,
          lip: sum.lip / sum.images,
          acc: sum.correct / sum.count,
          meanL: sum.L / sum.images,
        });
      }
      const ho = holdoutIdx.length ? evaluateHoldout(net, data, holdoutIdx, config.sigma, t.seed, Math.max(t.batch_size, 256)) : { noisy: NaN, clean: NaN };
      const improved = holdoutIdx.length > 0 && ho.noisy > state.bestAcc;
      if (improved) {
        state.bestAcc = ho.noisy;
        state.bestEpoch = epoch;
        state.sinceBest = 0;
      } else state.sinceBest++;
      if (thetaVar) state.thetaLip = thetaVar.dataSync()[0];
      const rec: EpochRecord = {
        type: 'epoch',
        epoch,
        phase: sched.phase,
        schedule_t: sched.t,
        schedule_mode: t.schedule_mode,
        steps: step,
        total_steps: state.totalSteps,
        images: sum.images,
        lr: sched.lr,
        lambda: sched.lambda,
        theta_lip: state.thetaLip,
        loss: sum.loss / sum.images,
        ce: sum.ce / sum.images,
        lip: sum.lip / sum.images,
        train_acc: sum.correct / sum.count,
        mean_L: sum.L / sum.images,
        holdout_acc: ho.noisy,
        holdout_clean_acc: ho.clean,
        best: improved,
        seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      };
      appendLine(logFile, JSON.stringify(rec));
      records.push(rec);
      state.epochsDone = epoch + 1;
      const meta = (extra: Record<string, unknown>): Record<string, unknown> => ({
        arch: config.arch,
        archOptions: archOptionsOf(config),
        epoch: state.epochsDone,
        config,
        metrics: rec,
        seeds: { train: t.seed, batchOrder: `${t.seed}/epoch/<epoch>`, holdout: `${t.seed}/holdout` },
        ...extra,
      });
      if (improved) await saveCheckpoint(bestDir, model, meta({ best: { epoch, holdout_acc: ho.noisy }, thetaLip: state.thetaLip }));
      if (warm) {
        state.warmFile = warmFileName(state.epochsDone);
        writeFileAtomic(path.join(outDir, state.warmFile), warm.toBytes());
      }
      await saveCheckpoint(lastDir, model, meta({ trainState: state }), { optimizer });
      // Older warm-start files are no longer referenced by any checkpoint.
      for (const f of fs.readdirSync(outDir)) if (isWarmFile(f) && f !== state.warmFile) fs.rmSync(path.join(outDir, f), { force: true });
      hooks.onEpochEnd?.(rec);
    }
    if (state.stoppedEarly) {
      appendLine(logFile, JSON.stringify({ type: 'early_stop', after_epoch: state.epochsDone - 1, best_epoch: state.bestEpoch, patience: t.early_stopping_patience }));
    }
  } finally {
    await feed.close();
    optimizer.dispose();
    thetaVar?.dispose();
  }
  const result: TrainResult = { outDir, epochsDone: state.epochsDone, bestEpoch: state.bestEpoch, bestAcc: state.bestAcc, stoppedEarly: state.stoppedEarly, records };
  model.dispose();
  return result;
}

/** The checkpoint a config's run produced: best/ when present, else the last epoch's. */
export function runCheckpointDir(outDir: string): { dir: string; which: 'best' | 'last' } | undefined {
  if (checkpointExists(path.join(outDir, BEST_DIR))) return { dir: path.join(outDir, BEST_DIR), which: 'best' };
  if (checkpointExists(path.join(outDir, LAST_DIR))) return { dir: path.join(outDir, LAST_DIR), which: 'last' };
  return undefined;
}

export type { CheckpointMeta };
