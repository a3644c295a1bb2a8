/**
 * Pieces shared by the train / certify / merge runners: datasets by config,
 * the held-out split, the model a config describes, run directories, and the
 * error class the CLI prints as one line.
 */
import * as fs from 'fs';
import * as path from 'path';
import seedrandom from 'seedrandom';
import * as tfl from '@tensorflow/tfjs-layers';
import { ExperimentConfig } from '../config';
import { ImageDataset } from '../data/types';
import { loadMnist } from '../data/mnist';
import { loadCifar10 } from '../data/cifar10-load';
import { shuffleInPlace } from '../data/batches';
import { BuildOptions, buildModel } from '../models';

/** A problem with the user's request (paths, resumable state, options): the CLI prints it as one line. */
export class RunnerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunnerError';
  }
}

/** The train or test split of a config's dataset. */
export async function loadDataset(dataset: ExperimentConfig['dataset'], split: 'train' | 'test'): Promise<ImageDataset> {
  if (dataset === 'mnist') return loadMnist(split);
  return loadCifar10(split);
}

/**
 * The held-out images (for the best checkpoint) and the training images of a
 * config: a permutation of the training set seeded by train.seed; the first
 * `holdout` images are held out, the next ones (all, or the first `subset`)
 * are trained on.
 */
export function holdoutSplit(n: number, train: ExperimentConfig['train']): { trainIdx: Int32Array; holdoutIdx: Int32Array } {
  const perm = shuffleInPlace(Int32Array.from({ length: n }, (_, i) => i), seedrandom(`${train.seed}/holdout`));
  const holdoutIdx = perm.slice(0, train.holdout);
  const rest = perm.slice(train.holdout);
  if (train.subset !== undefined && train.subset > rest.length) {
    throw new RunnerError(`train.subset (${train.subset}) exceeds the ${rest.length} training images left after holding out ${train.holdout}`);
  }
  return { trainIdx: train.subset !== undefined ? rest.slice(0, train.subset) : rest, holdoutIdx };
}

/** buildModel options of a config (so checkpoints can be checked against the architecture). */
export function archOptionsOf(config: ExperimentConfig): BuildOptions {
  const o: BuildOptions = { splitAfter: config.split, theta: config.theta, seed: config.train.seed };
  if (config.arch_options?.width !== undefined) o.width = config.arch_options.width;
  if (config.arch_options?.stem !== undefined) o.stem = config.arch_options.stem;
  return o;
}

export function buildConfigModel(config: ExperimentConfig): tfl.LayersModel {
  return buildModel(config.arch, archOptionsOf(config));
}

/** Default run directory of a config at its scale: runs/<name>-<scale>/ (relative to the working directory). */
export function defaultRunDir(config: ExperimentConfig): string {
  return path.join('runs', `${config.name}-${config.scale.name}`);
}

/** The settings that define a trained model: a checkpoint is resumable only under the same ones. */
export function trainingIdentity(config: Pick<ExperimentConfig, 'dataset' | 'arch' | 'arch_options' | 'split' | 'theta' | 'sigma' | 'train'>): string {
  const { dataset, arch, arch_options, split, theta, sigma, train } = config;
  return JSON.stringify({ dataset, arch, arch_options: arch_options ?? null, split, theta, sigma, train });
}

export { writeFileAtomic } from '../io/atomic';

/** Appends one line durably (the line is complete on disk or, after a crash, a partial last line). */
export function appendLine(file: string, line: string): void {
  const fd = fs.openSync(file, 'a');
  try {
    fs.writeSync(fd, line.endsWith('\n') ? line : line + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
