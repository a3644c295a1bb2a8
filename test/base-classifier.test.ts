/**
 * baseClassifierRows (lib/report/base-classifier.ts): the certified epoch's
 * held-out accuracy from the training log and the median certified L(x) from
 * the certification log, on synthetic run directories whose answers are known.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { baseClassifierRows } from '../lib/report/base-classifier';
import { summarizeRun } from '../lib/report/tables';
import { makeRun } from './report-helpers';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-base-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Replaces the epoch lines of a run's training log. */
function setEpochs(dir: string, epochs: object[]): void {
  const file = path.join(dir, 'train-log.jsonl');
  const runLine = fs.readFileSync(file, 'utf8').split('\n')[0];
  fs.writeFileSync(file, [runLine, ...epochs.map((e) => JSON.stringify({ type: 'epoch', phase: 'main', seconds: 1, ...e }))].join('\n') + '\n');
}

/** Sets the `lipschitz` column of the certification log, image by image. */
function setLipschitz(dir: string, Ls: number[]): void {
  const file = path.join(dir, 'certify-n10000.tsv');
  const [header, ...rows] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const col = header.split('\t').indexOf('lipschitz');
  fs.writeFileSync(file, [header, ...rows.map((r, i) => r.split('\t').map((v, j) => (j === col ? String(Ls[i]) : v)).join('\t'))].join('\n') + '\n');
}

test('SPLITZ: the last best epoch (a re-run epoch counts once, its last line), the median L over images not abstained on, sigma / L', () => {
  // images: radius, correct; the third (radius 0, wrong) is an abstention in makeRun's records
  const dir = makeRun(tmp, { name: 'mnist-splitz-sigma0.50', dataset: 'mnist', sigma: 0.5, split: 1, images: [[0.5, 1], [0.2, 1], [0, 0], [0.3, 0], [0.9, 1]] });
  setEpochs(dir, [
    { epoch: 0, holdout_acc: 0.5, holdout_clean_acc: 0.8, mean_L: 2.0, best: true },
    { epoch: 1, holdout_acc: 0.7, holdout_clean_acc: 0.85, mean_L: 0.6, best: true },
    { epoch: 2, holdout_acc: 0.65, holdout_clean_acc: 0.9, mean_L: 0.7, best: false },
    // epoch 1 re-run after a resume: its last line is the one that counts
    { epoch: 1, holdout_acc: 0.72, holdout_clean_acc: 0.86, mean_L: 0.61, best: true },
  ]);
  // L of the abstention (100) must be ignored: median of [0.8, 0.4, 0.9, 1.0] = 0.85
  setLipschitz(dir, [0.8, 0.4, 100, 0.9, 1.0]);
  const [row] = baseClassifierRows([summarizeRun(dir)]);
  expect(row).toMatchObject({ config: 'mnist-splitz-sigma0.50', method: 'SPLITZ', sigma: 0.5, best_epoch: 2, epochs: 3, holdout_noisy_acc: 0.72, holdout_clean_acc: 0.86, mean_L_train: 0.61 });
  expect(row.median_L_certified).toBeCloseTo(0.85, 12);
  expect(row.sigma_over_L).toBeCloseTo(0.5 / 0.85, 12);
});

test('RS: L = 1 and sigma / L = sigma; a run whose log has no best epoch is left out', () => {
  const rs = makeRun(tmp, { name: 'mnist-rs-sigma0.25', dataset: 'mnist', sigma: 0.25, split: 0, images: [[0.5, 1], [0.4, 1]] });
  setEpochs(rs, [{ epoch: 0, holdout_acc: 0.9, best: true }]);
  const none = makeRun(tmp, { name: 'mnist-splitz-sigma1.00', dataset: 'mnist', sigma: 1, split: 1, images: [[0.5, 1]] });
  setEpochs(none, [{ epoch: 0, holdout_acc: 0.9 }]);
  const rows = baseClassifierRows([summarizeRun(rs), summarizeRun(none)]);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ method: 'RS', mean_L_train: 1, median_L_certified: 1, sigma_over_L: 0.25, holdout_clean_acc: null });
});
