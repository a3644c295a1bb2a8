/**
 * Synthetic run directories for the report tests: the certification TSV, its
 * sidecar and the training log as lib/runner writes them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { appendRecord, CertifyRecord } from '../lib/eval/log';

export interface FakeRun {
  name: string;
  scale?: string;
  dataset: 'mnist' | 'cifar10';
  arch?: string;
  sigma: number;
  split: number;
  theta_lip?: number;
  gamma_train?: number;
  /** [radius, correct] per image; radius_paper = 1.25 * radius when `both`. */
  images: Array<[number, 0 | 1]>;
  epochSeconds?: number[];
  both?: boolean;
  n?: number;
}

export function makeRun(root: string, f: FakeRun): string {
  const scale = f.scale ?? 'reduced';
  const dir = path.join(root, `${f.name}-${scale}`);
  fs.mkdirSync(dir, { recursive: true });
  const resolved = {
    name: f.name,
    dataset: f.dataset,
    arch: f.arch ?? (f.dataset === 'mnist' ? 'lenet' : 'resnet20'),
    split: f.split,
    sigma: f.sigma,
    train: { epochs: 12, theta_lip: f.theta_lip ?? 0.5, gamma_train: f.gamma_train ?? 1 },
    certify: { images: { every: 20 } },
    scale: { name: scale, note: 'test scale' },
    source: { file: `configs/${f.name}.json` },
  };
  const lines = [
    { type: 'run', name: f.name, scale: resolved.scale, backend: 'wasm', resolved },
    ...(f.epochSeconds ?? [10, 20]).map((s, e) => ({ type: 'epoch', epoch: e, phase: 'main', seconds: s })),
  ];
  fs.writeFileSync(path.join(dir, 'train-log.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const n = f.n ?? 10000;
  const log = path.join(dir, `certify-n${n}.tsv`);
  const bound = f.split === 0 ? 'none' : 'sound';
  const columns = ['idx', 'label', 'predict', 'radius', 'correct', 'time', 'pA_lower', 'radius_fR', 'lipschitz', 'gamma', 'bound', ...(f.both ? ['radius_paper', 'lipschitz_paper', 'gamma_paper'] : [])];
  f.images.forEach(([radius, correct], i) => {
    const rec: CertifyRecord = { idx: i * 20, label: 3, predict: correct ? 3 : radius === 0 ? -1 : 5, radius, correct, time: 0.5 + i * 0.1, pA_lower: 0.9, radius_fR: radius, lipschitz: 1, gamma: radius, bound };
    // As `splitz certify --bound both` writes them: RS (no f_L) repeats its radius with L = 1 and gamma inf.
    if (f.both) Object.assign(rec, f.split === 0 ? { radius_paper: radius, lipschitz_paper: 1, gamma_paper: Infinity } : { radius_paper: 1.25 * radius, lipschitz_paper: 0.8, gamma_paper: radius });
    appendRecord(log, rec, { columns });
  });
  const sidecar = {
    format: 'splitz-certify-log',
    config: { file: `configs/${f.name}.json`, name: f.name, scale: { name: scale, note: 'test scale' } },
    checkpoint: { dir: path.join(dir, 'best'), epoch: 2, which: 'best' },
    settings: { sigma: f.sigma, split: f.split, n0: 100, n, alpha: 0.001, batch_size: 100, bound: f.both ? 'both' : 'sound', gamma_search: 'binary', seed: 0, paper_power_iterations: 5 },
    images: { selection: { every: 20 }, shard: null, total: f.images.length },
    runs: [{ started: 'now', command: null, backend: 'wasm', workers: 1, resumed: false }],
  };
  fs.writeFileSync(`${log}.json`, JSON.stringify(sidecar));
  return dir;
}
