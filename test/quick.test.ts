/**
 * Quick-mode support of the notebooks (lib/report/quick.ts) and what it adds
 * to the run summaries (lib/report/tables.ts): the derived 'quick' scale
 * resolves through the ordinary config machinery and keeps the paper's
 * settings it does not override; the global-bound radius is R_fR / L_global
 * (Theorem 1 with a constant L), checked by hand; quick runs rank between
 * reduced and smoke; steps, width and machine reach the captions.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { appendRecord, CertifyRecord } from '../lib/eval/log';
import { loadConfig } from '../lib/config';
import { CIFAR10_QUICK, MNIST_QUICK, certificationComplete, quickSpec, runScale, writeQuickConfig } from '../lib/report/quick';
import { GLOBAL_BOUND_FILE, MACHINE_FILE, RunSummary, accuracyAt, describeRun, pickRuns, scaleSubtitle, summarizeRun } from '../lib/report/tables';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-quick-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('derived quick scale', () => {
  test('MNIST: overrides applied, every other setting as in the config file, note recorded', () => {
    const { file, config } = writeQuickConfig(quickSpec('mnist-splitz-sigma0.75'), root);
    const paper = loadConfig(path.join(__dirname, '..', 'configs', 'mnist-splitz-sigma0.75.json'));
    expect(config.scale).toEqual({ name: 'quick', note: MNIST_QUICK.note });
    expect(config.train.batch_size).toBe(64);
    expect(config.train.epochs).toBe(1);
    expect(config.train.subset! / config.train.batch_size).toBe(120); // 120 steps
    expect(config.certify.images).toEqual({ every: 500 });
    expect(config.certify.n).toBe(1000);
    // Not overridden: the paper's method settings.
    for (const k of ['lr', 'lambda', 'theta_lip', 'gamma_train', 'power_iterations', 'Q', 'optimizer'] as const) expect(config.train[k]).toEqual(paper.train[k]);
    expect([config.sigma, config.split, config.arch, config.certify.alpha, config.certify.n0, config.certify.bound]).toEqual([paper.sigma, paper.split, paper.arch, paper.certify.alpha, paper.certify.n0, paper.certify.bound]);
    // The written file is a valid config that the CLI resolves the same way.
    expect(loadConfig(file, { scale: 'quick' }).train).toEqual(config.train);
    expect(loadConfig(file, { scale: 'reduced' }).train.epochs).toBe(12);
  });

  test('CIFAR-10: ResNet-20 at width 0.5, 100 steps', () => {
    const { config } = writeQuickConfig(quickSpec('cifar10-rs-sigma0.50'), root);
    expect(config.arch).toBe('resnet20');
    expect(config.arch_options).toEqual({ width: 0.5 });
    expect(config.train.subset! / config.train.batch_size).toBe(100);
    expect(config.split).toBe(0);
    expect(config.scale.note).toBe(CIFAR10_QUICK.note);
  });

  test('bad names and scales are errors that say what is allowed', () => {
    expect(() => quickSpec('imagenet-x')).toThrow(/mnist-\* or cifar10-\*/);
    expect(() => writeQuickConfig({ config: 'mnist-nope', note: 'x', overrides: {} }, root)).toThrow(/not found/);
    expect(() => writeQuickConfig({ config: 'mnist-rs-sigma0.25', note: 'x', overrides: { train: { epochz: 1 } } }, root)).toThrow(/epochz/);
    expect(runScale('full')).toBe('full');
    expect(runScale('QUICK')).toBe('quick');
    expect(() => runScale('paper')).toThrow(/quick' or 'full/);
  });
});

/** A run directory as lib/runner writes it, with radius_fR per image. */
function makeRun(name: string, scale: string, images: Array<{ fR: number; L: number; correct: 0 | 1 }>, extra: { width?: number; steps?: number; machine?: object; globalL?: number } = {}): string {
  const dir = path.join(root, `${name}-${scale}`);
  fs.mkdirSync(dir, { recursive: true });
  const resolved = { name, dataset: 'mnist', arch: 'lenet', ...(extra.width ? { arch_options: { width: extra.width } } : {}), split: 1, sigma: 0.75, train: { epochs: 1, theta_lip: 0.5, gamma_train: 1 }, certify: { images: { every: 500 } }, scale: { name: scale, note: 'n' } };
  const lines = [{ type: 'run', name, scale: resolved.scale, backend: 'wasm', train_images: 7680, resolved }, { type: 'epoch', epoch: 0, phase: 'main', seconds: 30, ...(extra.steps ? { total_steps: extra.steps } : {}) }];
  fs.writeFileSync(path.join(dir, 'train-log.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const log = path.join(dir, 'certify-n1000.tsv');
  const columns = ['idx', 'label', 'predict', 'radius', 'correct', 'time', 'pA_lower', 'radius_fR', 'lipschitz', 'gamma', 'bound'];
  images.forEach((im, i) => {
    // The local radius min(R_fR / L, gamma) at the best gamma = R_fR / L here (gamma search converged).
    const radius = im.correct ? im.fR / im.L : 0;
    const rec: CertifyRecord = { idx: i * 500, label: 1, predict: im.correct ? 1 : -1, radius, correct: im.correct, time: 1, pA_lower: 0.9, radius_fR: im.correct ? im.fR : 0, lipschitz: im.L, gamma: radius, bound: 'sound' };
    appendRecord(log, rec, { columns });
  });
  fs.writeFileSync(`${log}.json`, JSON.stringify({ format: 'splitz-certify-log', config: { name, scale: { name: scale, note: 'n' } }, checkpoint: { dir: path.join(dir, 'best') }, settings: { sigma: 0.75, split: 1, n0: 100, n: 1000, alpha: 0.001, bound: 'sound' }, images: { selection: { every: 500 }, shard: null, total: images.length }, runs: [{ backend: 'wasm', workers: 1 }] }));
  if (extra.globalL !== undefined) fs.writeFileSync(path.join(dir, GLOBAL_BOUND_FILE), JSON.stringify({ L: extra.globalL }));
  if (extra.machine) fs.writeFileSync(path.join(dir, MACHINE_FILE), JSON.stringify(extra.machine));
  return dir;
}

describe('run summaries of quick runs', () => {
  test('global-bound radius = R_fR / L_global for correct images, 0 otherwise (hand-computed)', () => {
    // R_fR 1.0, 0.5, 2.0 (correct), one abstain; local L 0.5, 0.5, 1; global L 2.
    const dir = makeRun('mnist-splitz-sigma0.75', 'quick', [
      { fR: 1.0, L: 0.5, correct: 1 },
      { fR: 0.5, L: 0.5, correct: 1 },
      { fR: 2.0, L: 1, correct: 1 },
      { fR: 0, L: 1, correct: 0 },
    ], { globalL: 2, steps: 120 });
    const s = summarizeRun(dir);
    // Local radii 2, 1, 2, 0; global radii 0.5, 0.25, 1, 0.
    expect(s.acr).toBeCloseTo((2 + 1 + 2) / 4, 12);
    expect(s.otherRadii.global.acr).toBeCloseTo((0.5 + 0.25 + 1) / 4, 12);
    expect(accuracyAt(s.otherRadii.global.curve, 0.3)).toBeCloseTo(0.5, 12); // 0.5 and 1 reach 0.3
    expect(accuracyAt(s.otherRadii.global.curve, 1.01)).toBe(0);
    expect(accuracyAt(s.curve, 1.5)).toBeCloseTo(0.5, 12);
    // Never larger than the local radius, as L(x, gamma) <= L_global.
    for (const eps of [0, 0.2, 0.5, 1, 2]) expect(accuracyAt(s.otherRadii.global.curve, eps)).toBeLessThanOrEqual(accuracyAt(s.curve, eps));
    expect(s.trainSteps).toBe(120);
    expect(s.trainImages).toBe(7680);
    expect(describeRun(s)).toMatch(/1 epoch \(120 steps on 7,680 training images\)/);
  });

  test('a global bound file with a bad L is an error naming the file', () => {
    const dir = makeRun('mnist-splitz-sigma0.75-split2', 'quick', [{ fR: 1, L: 1, correct: 1 }], { globalL: 0 });
    expect(() => summarizeRun(dir)).toThrow(new RegExp(`${GLOBAL_BOUND_FILE}.*> 0`));
  });

  test('width and machine reach the captions; quick ranks after reduced and before smoke', () => {
    const q = summarizeRun(makeRun('mnist-splitz-sigma0.50', 'quick', [{ fR: 1, L: 1, correct: 1 }], { width: 0.5, machine: { cpu: 'Test CPU', cores: 2, platform: 'linux x64' } }));
    expect(q.arch).toBe('lenet width 0.5');
    expect(q.datasetVariant).toMatch(/LeNet \(width x0\.5\)/);
    expect(q.machine).toBe('Test CPU, 2 cores, linux x64');
    const smoke = { ...q, scale: 'smoke' } as RunSummary;
    const reduced = { ...q, scale: 'reduced' } as RunSummary;
    expect(pickRuns([smoke, q])[0].scale).toBe('quick');
    expect(pickRuns([q, reduced, smoke])[0].scale).toBe('reduced');
    expect(scaleSubtitle([q])).toMatch(/scale 'quick': LeNet \(width x0\.5\)/);
  });
});

describe('reusing a quick run\'s certification', () => {
  const settings = { sigma: 0.75, split: 1, n0: 100, n: 1000, alpha: 0.001, bound: 'sound' };
  const images = [{ fR: 1, L: 1, correct: 1 as const }, { fR: 0.5, L: 1, correct: 1 as const }, { fR: 0, L: 1, correct: 0 as const }];

  test('a whole log with its sidecar\'s settings and image total is reused', () => {
    const log = path.join(makeRun('mnist-reuse-whole', 'quick', images), 'certify-n1000.tsv');
    expect(certificationComplete(log, settings, { every: 500 })).toBe(true);
  });

  test('other settings, another image selection or no sidecar: certify again', () => {
    const log = path.join(makeRun('mnist-reuse-other', 'quick', images), 'certify-n1000.tsv');
    expect(certificationComplete(log, { ...settings, n: 2000 }, { every: 500 })).toBe(false);
    expect(certificationComplete(log, settings, { every: 20 })).toBe(false);
    fs.rmSync(`${log}.json`);
    expect(certificationComplete(log, settings, { every: 500 })).toBe(false);
  });

  test('a torn last line is not a record, even when the line count equals the total', () => {
    const log = path.join(makeRun('mnist-reuse-torn', 'quick', images), 'certify-n1000.tsv');
    const text = fs.readFileSync(log, 'utf8');
    // Cut the last record in half (no newline): 3 non-empty lines after the header remain, 2 whole records.
    fs.writeFileSync(log, text.slice(0, text.length - 12));
    expect(fs.readFileSync(log, 'utf8').trim().split('\n').length - 1).toBe(3);
    expect(certificationComplete(log, settings, { every: 500 })).toBe(false);
  });
});
