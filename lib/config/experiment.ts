/**
 * Experiment configs: one JSON file per result of the paper (a table row, a
 * figure curve), holding every hyperparameter of training and certification.
 * Nothing here has a default that changes a result: a missing or unknown key
 * is an error naming the file, the key and what is allowed.
 *
 * A file gives the paper's settings at the top level and, under `scales`,
 * named sets of overrides, e.g.
 *   "scales": {
 *     "paper":   { "note": "as published" },
 *     "reduced": { "note": "...", "train": { "epochs": 12 }, "certify": { "n": 10000, "images": { "every": 20 } } }
 *   }
 * `loadConfig(file, { scale: 'reduced' })` lays the overrides over the top
 * level (objects merge key by key; schedules, image selections and other
 * values are replaced whole), validates the result and records the scale in
 * `config.scale`, so every log and table can say which scale produced it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ARCH_NAMES, BuildOptions, archInfo } from '../models';
import { didYouMean } from './suggest';
import { Field, ObjectSpec, Spec, isPlainObject, mergeBySpec, validate } from './schema';

// ------------------------------------------------------------------ types

export type LrSchedule =
  /** lr multiplied by `gamma` at each milestone epoch (MNIST: x0.1 at 50 and 100). */
  | { kind: 'step'; milestones: number[]; gamma: number }
  /** constant until `from_fraction` of the schedule, then linear down to `final_lr` at its end (CIFAR-10). */
  | { kind: 'linear_decay'; from_fraction: number; final_lr: number }
  | { kind: 'constant' };

/** Which test images to certify: all, every k-th (from `offset`), the first N, or a list of indices. */
export type ImageSelection = 'all' | { every: number; offset?: number } | { first: number } | { list: number[] };

export interface TrainConfig {
  /** Epochs this run trains (before any early-stopping extension). */
  epochs: number;
  /** Length, in epochs, of the schedule the milestones and lambda refer to: the paper's epoch count. */
  schedule_epochs: number;
  /**
   * How a run shorter than schedule_epochs follows the schedules: 'compress'
   * maps run epoch e to schedule epoch e * schedule_epochs / epochs (the whole
   * lambda ramp and lr decay happen, faster); 'truncate' follows the schedule
   * epoch by epoch and stops early.
   */
  schedule_mode: 'compress' | 'truncate';
  batch_size: number;
  optimizer: 'adam' | 'sgd';
  lr: number;
  /** SGD only. */
  momentum?: number;
  weight_decay: number;
  lr_schedule: LrSchedule;
  /** Weight of the Lipschitz term of eq. 17, linear from start to end over the schedule. RS: 0 -> 0. */
  lambda: { start: number; end: number };
  /** Lipschitz threshold theta in max(theta, L(x, gamma)) of eq. 17 (paper: 0.5). */
  theta_lip: number;
  /** Learn theta_lip as a parameter (the paper's wording) instead of keeping it fixed. */
  theta_lip_learnable: boolean;
  /** Radius gamma of the ball in which L(x, gamma) is bounded during training. */
  gamma_train: number;
  /** Noise draws per training input in the smoothing loss of eq. 17. */
  Q: number;
  /** Power-iteration steps per spectral norm in training (paper: 5 MNIST, 2 CIFAR-10). */
  power_iterations: number;
  /** Random crop (pad 4) and horizontal flip. */
  augment: boolean;
  /** Training images held out to select the best checkpoint. */
  holdout: number;
  /** Epochs without improvement on the held-out split before stopping the extension. */
  early_stopping_patience?: number;
  /** Extra epochs searched with early stopping after `epochs` (the paper: 150 MNIST, 200 CIFAR-10). */
  extra_epochs: number;
  /** Train on the first N of the remaining training images only (smoke runs). */
  subset?: number;
  seed: number;
}

export interface CertifyConfig {
  /** Noise samples to pick the top class (Cohen's n0). */
  n0: number;
  /** Noise samples to bound pA (Cohen's n). */
  n: number;
  /** 1 - confidence of the certificate. */
  alpha: number;
  /** Noise samples evaluated per forward pass. */
  batch_size: number;
  images: ImageSelection;
  /** 'sound': proven upper bounds on L; 'paper': power iteration as published; 'both': report both. */
  bound: 'sound' | 'paper' | 'both';
  /** How R(x) = max_gamma min(R_fR / L(x, gamma), gamma) is searched (Remark 1). */
  gamma_search: 'binary' | 'fixedpoint' | 'onestep' | 'grid';
  seed: number;
}

export interface ArchOptionsConfig {
  width?: number;
  stem?: 'imagenet' | 'cifar';
}

export interface ScaleInfo {
  /** 'paper', 'reduced', ... as declared in the file. */
  name: string;
  note: string;
}

/** A fully resolved experiment config at one scale. */
export interface ExperimentConfig {
  name: string;
  description: string;
  /** The table / figure entry this config reproduces, e.g. "Table I, sigma=0.75". */
  paper_ref: string;
  notes?: string[];
  dataset: 'mnist' | 'cifar10';
  arch: string;
  arch_options?: ArchOptionsConfig;
  /** Affine layers in f_L; 0 = plain randomized smoothing (RS). */
  split: number;
  /** Clip level of ReLU_theta in f_L (Appendix C: 1). */
  theta: number;
  /** Noise level, the same in training and certification. */
  sigma: number;
  train: TrainConfig;
  certify: CertifyConfig;
  scale: ScaleInfo;
  /** Where it came from: the file and every scale it declares. */
  source: { file: string; scales: string[] };
}

// ------------------------------------------------------------------ schema

const num = (o: Omit<Extract<Spec, { type: 'number' }>, 'type'> = {}): Spec => ({ type: 'number', ...o });
const int = (min: number, max?: number): Spec => ({ type: 'number', integer: true, min, max });
const str = (values?: readonly string[]): Spec => ({ type: 'string', enum: values, nonEmpty: true });
const bool: Spec = { type: 'boolean' };
const req = (spec: Spec): Field => ({ spec });
const opt = (spec: Spec): Field => ({ spec, optional: true });
const obj = (fields: Record<string, Field>): ObjectSpec => ({ type: 'object', fields });

const lrScheduleSpec: Spec = {
  type: 'tagged',
  tag: 'kind',
  cases: {
    step: obj({ milestones: req({ type: 'array', items: int(1) }), gamma: req(num({ min: 0, exclusiveMin: true, max: 1 })) }),
    linear_decay: obj({
      from_fraction: req(num({ min: 0, max: 1, exclusiveMax: true })),
      final_lr: req(num({ min: 0 })),
    }),
    constant: obj({}),
  },
};

const imagesSpec: Spec = {
  type: 'oneOf',
  describe: `'all', {"every": k, "offset"?: i}, {"first": N} or {"list": [indices]}`,
  options: [
    { type: 'literal', value: 'all' },
    obj({ every: req(int(1)), offset: opt(int(0)) }),
    obj({ first: req(int(1)) }),
    obj({ list: req({ type: 'array', items: int(0), minItems: 1 }) }),
  ],
};

const trainSpec = obj({
  epochs: req(int(1)),
  schedule_epochs: req(int(1)),
  schedule_mode: req(str(['compress', 'truncate'])),
  batch_size: req(int(1)),
  optimizer: req(str(['adam', 'sgd'])),
  lr: req(num({ min: 0, exclusiveMin: true })),
  momentum: opt(num({ min: 0, max: 1, exclusiveMax: true })),
  weight_decay: req(num({ min: 0 })),
  lr_schedule: req(lrScheduleSpec),
  lambda: req(obj({ start: req(num({ min: 0, max: 1 })), end: req(num({ min: 0, max: 1 })) })),
  theta_lip: req(num({ min: 0 })),
  theta_lip_learnable: req(bool),
  gamma_train: req(num({ min: 0, exclusiveMin: true })),
  Q: req(int(1)),
  power_iterations: req(int(1)),
  augment: req(bool),
  holdout: req(int(0)),
  early_stopping_patience: opt(int(1)),
  extra_epochs: req(int(0)),
  subset: opt(int(1)),
  seed: req(int(0)),
});

const certifySpec = obj({
  n0: req(int(1)),
  n: req(int(1)),
  alpha: req(num({ min: 0, max: 0.5, exclusiveMin: true, exclusiveMax: true })),
  batch_size: req(int(1)),
  images: req(imagesSpec),
  bound: req(str(['sound', 'paper', 'both'])),
  gamma_search: req(str(['binary', 'fixedpoint', 'onestep', 'grid'])),
  seed: req(int(0)),
});

/** The fields of a resolved config that a file sets (scale and source are added by the loader). */
const experimentFields: Record<string, Field> = {
  name: req(str()),
  description: req(str()),
  paper_ref: req(str()),
  notes: opt({ type: 'array', items: str() }),
  dataset: req(str(['mnist', 'cifar10'])),
  arch: req(str(ARCH_NAMES)),
  arch_options: opt(obj({ width: opt(num({ min: 0, exclusiveMin: true })), stem: opt(str(['imagenet', 'cifar'])) })),
  split: req(int(0)),
  theta: req(num({ min: 0, exclusiveMin: true })),
  sigma: req(num({ min: 0, exclusiveMin: true })),
  train: req(trainSpec),
  certify: req(certifySpec),
};

/** What one entry of `scales` may hold: a note and overrides of any field but the name. */
const scaleOverrideSpec: ObjectSpec = obj({
  note: req(str()),
  ...Object.fromEntries(Object.entries(experimentFields).filter(([k]) => k !== 'name').map(([k, f]) => [k, opt(f.spec)])),
});

export const EXPERIMENT_SPEC: ObjectSpec = obj(experimentFields);

/** The whole file: the paper's settings plus `scales`. */
export const CONFIG_FILE_SPEC: ObjectSpec = obj({
  ...experimentFields,
  scales: req({ type: 'record', values: scaleOverrideSpec, partialValues: true, keyPattern: /^[a-z][a-z0-9_-]*$/, keyDescribe: 'lower-case letters, digits, _ or -' }),
});

/** Scale used when none is asked for. */
export const DEFAULT_SCALE = 'paper';

/** Training-set sizes, to check that the holdout leaves something to train on. */
const TRAIN_SIZE: Record<ExperimentConfig['dataset'], number> = { mnist: 60000, cifar10: 50000 };

// ------------------------------------------------------------------ loading

/** A config file that is unreadable or invalid; the message names the file and every problem. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function fail(file: string, problems: string[]): never {
  const shown = problems.slice(0, 12);
  const more = problems.length > shown.length ? `\n  ... and ${problems.length - shown.length} more` : '';
  throw new ConfigError(`${file}: invalid config:\n  - ${shown.join('\n  - ')}${more}`);
}

/** Checks between fields that a per-field spec cannot express. */
function crossChecks(c: Omit<ExperimentConfig, 'scale' | 'source'>): string[] {
  const p: string[] = [];
  const info = archInfo(c.arch);
  if (info.dataset !== c.dataset) p.push(`'arch' ${c.arch} is built for ${info.dataset} inputs ${JSON.stringify(info.inputShape)}, but 'dataset' is ${c.dataset}`);
  if (c.split > info.maxSplit) p.push(`'split' ${c.split} is too deep for ${c.arch}: at most ${info.maxSplit} affine layer(s) can sit in f_L`);
  for (const k of Object.keys(c.arch_options ?? {})) {
    if (!(info.extraOptions as readonly string[]).includes(k)) p.push(`'arch_options.${k}' does not apply to ${c.arch} (it accepts: ${info.extraOptions.join(', ') || 'none'})`);
  }
  const t = c.train;
  if (c.split === 0 && (t.lambda.start !== 0 || t.lambda.end !== 0)) {
    p.push(`'split' is 0 (plain RS: f_L is the identity, there is no local Lipschitz bound to penalise), so 'train.lambda' must be {"start": 0, "end": 0}, got ${JSON.stringify(t.lambda)}`);
  }
  if (t.epochs > t.schedule_epochs) p.push(`'train.epochs' (${t.epochs}) exceeds 'train.schedule_epochs' (${t.schedule_epochs}); set schedule_epochs to the length of the schedule`);
  if (t.lr_schedule.kind === 'step') {
    const m = t.lr_schedule.milestones;
    if (m.some((v, i) => i > 0 && v <= m[i - 1])) p.push(`'train.lr_schedule.milestones' must increase strictly, got [${m.join(', ')}]`);
    if (m.some((v) => v >= t.schedule_epochs)) p.push(`'train.lr_schedule.milestones' [${m.join(', ')}] must lie inside the schedule (< schedule_epochs = ${t.schedule_epochs})`);
  }
  if (t.lr_schedule.kind === 'linear_decay' && t.lr_schedule.final_lr > t.lr) {
    p.push(`'train.lr_schedule.final_lr' (${t.lr_schedule.final_lr}) is above 'train.lr' (${t.lr}): a decay must go down`);
  }
  if (t.optimizer === 'sgd' && t.momentum === undefined) p.push(`'train.momentum' is missing: SGD needs it (0 for plain SGD)`);
  if (t.optimizer === 'adam' && t.momentum !== undefined) p.push(`'train.momentum' applies to SGD only; Adam's moments are fixed by the implementation, remove it`);
  if (t.holdout >= TRAIN_SIZE[c.dataset]) p.push(`'train.holdout' (${t.holdout}) leaves no ${c.dataset} training images (${TRAIN_SIZE[c.dataset]} in all)`);
  if (t.early_stopping_patience === undefined && t.extra_epochs > 0) p.push(`'train.extra_epochs' is ${t.extra_epochs} but 'train.early_stopping_patience' is missing: say when the extension stops`);
  return p;
}

function readJsonFile(file: string): unknown {
  if (!fs.existsSync(file)) throw new ConfigError(`${file}: config file not found (configs/ holds one file per result of the paper)`);
  const text = fs.readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
}

export interface LoadConfigOptions {
  /** Which of the file's `scales` to apply. Default 'paper'. */
  scale?: string;
}

/**
 * Validates a parsed config file and resolves it at one scale. `file` is only
 * used in messages and in `config.source`.
 */
export function resolveConfig(raw: unknown, file: string, options: LoadConfigOptions = {}): ExperimentConfig {
  if (!isPlainObject(raw)) fail(file, [`the file must hold one JSON object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`]);
  const problems = validate(raw, CONFIG_FILE_SPEC);
  const { scales, ...shared } = raw as Record<string, unknown> & { scales: Record<string, Record<string, unknown>> };
  if (isPlainObject(scales)) {
    for (const [name, s] of Object.entries(scales)) {
      if (isPlainObject(s) && typeof s.note !== 'string') problems.push(`'scales.${name}.note' is missing: say what this scale changes and why`);
    }
    if (Object.keys(scales).length === 0) problems.push(`'scales' is empty: declare at least "paper"`);
  }
  if (problems.length) fail(file, problems);
  const declared = Object.keys(scales);
  const scale = options.scale ?? DEFAULT_SCALE;
  if (!(scale in scales)) {
    throw new ConfigError(`${file}: no scale '${scale}'${didYouMean(scale, declared)}; this file declares: ${declared.join(', ') || 'none'}`);
  }
  const { note, ...overrides } = scales[scale];
  const merged = mergeBySpec(shared, overrides, EXPERIMENT_SPEC) as Omit<ExperimentConfig, 'scale' | 'source'>;
  const after = validate(merged, EXPERIMENT_SPEC);
  if (after.length) fail(file, after.map((m) => `${m} (after applying scale '${scale}')`));
  const cross = crossChecks(merged);
  if (cross.length) fail(file, cross.map((m) => (scale === DEFAULT_SCALE ? m : `${m} (at scale '${scale}')`)));
  return { ...merged, scale: { name: scale, note: note as string }, source: { file, scales: declared } };
}

/** Reads, validates and resolves a config file at one scale (default 'paper'). */
export function loadConfig(file: string, options: LoadConfigOptions = {}): ExperimentConfig {
  const abs = path.resolve(file);
  return resolveConfig(readJsonFile(abs), abs, options);
}

/** The scale names a config file declares. */
export function declaredScales(file: string): string[] {
  const raw = readJsonFile(path.resolve(file));
  return isPlainObject(raw) && isPlainObject(raw.scales) ? Object.keys(raw.scales) : [];
}

/**
 * The images a selection picks out of a test set of `total` images, in order.
 * Indices beyond the set are an error, not silently dropped.
 */
export function selectImages(images: ImageSelection, total: number): number[] {
  if (images === 'all') return Array.from({ length: total }, (_, i) => i);
  if ('every' in images) {
    const out: number[] = [];
    for (let i = images.offset ?? 0; i < total; i += images.every) out.push(i);
    return out;
  }
  if ('first' in images) {
    if (images.first > total) throw new ConfigError(`certify.images asks for the first ${images.first} images, but the test set has ${total}`);
    return Array.from({ length: images.first }, (_, i) => i);
  }
  const bad = images.list.filter((i) => i >= total);
  if (bad.length) throw new ConfigError(`certify.images.list has indices outside the test set of ${total} images: ${bad.slice(0, 5).join(', ')}`);
  return images.list.slice();
}

/**
 * The architecture a config asks for, as `buildModel(arch, options)` takes it
 * and as checkpoints record it (meta.arch / meta.archOptions, loadCheckpoint's
 * expectArch): split, ReLU_theta clip, init seed and any arch_options.
 */
export function archSpec(c: ExperimentConfig): { arch: string; options: BuildOptions } {
  return { arch: c.arch, options: { splitAfter: c.split, theta: c.theta, seed: c.train.seed, ...(c.arch_options ?? {}) } };
}
