/**
 * boundTightnessRows on a checkpoint and log written here: the logged bounds
 * are set to known multiples of the sound bound, so the ratios it reports are
 * known (the sound bound of a one-layer f_L is its converged norm to within
 * rounding margins and power iteration's last digits).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend, tf } from '../lib/backend';
import { loadMnist } from '../lib/data/mnist';
import { appendRecord } from '../lib/eval/log';
import { saveCheckpoint } from '../lib/io/checkpoint';
import { localLipschitz } from '../lib/lipschitz/local';
import { splitModel } from '../lib/models/split';
import { boundTightnessRows } from '../lib/report/bound-tightness';
import { RunSummary } from '../lib/report/tables';
import { lenetWithBias } from './lenet-helpers';

beforeAll(async () => {
  await initBackend();
});

test('ratios of the logged bounds to converged power iteration; abstentions, RS runs and logs without both bounds are left out', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bound-tightness-'));
  const m = lenetWithBias(1, 8);
  const sp = splitModel(m, 1);
  await saveCheckpoint(path.join(dir, 'a', 'best'), m, { arch: 'lenet' });
  await saveCheckpoint(path.join(dir, 'c', 'best'), m, { arch: 'lenet' });
  const test = loadMnist('test');
  const idx = [2, 5, 7, 1];
  const gamma = [0.2, 0.5, 0.1, 0.3];
  const gammaPaper = [0.25, 0.4, 0.15, 0.3];
  const x = tf.tensor4d(Float32Array.from(idx.flatMap((i) => Array.from(test.images.subarray(i * 784, (i + 1) * 784)))), [4, 28, 28, 1]);
  const sound = localLipschitz(sp, x, gamma, { mode: 'sound' }).L;
  const soundAtPaper = localLipschitz(sp, x, gammaPaper, { mode: 'sound' }).L;
  const factors = [1, 1.01, 1, 1]; // image 5 logs a sound bound 1% above its norm
  const paperFactors = [0.9, 0.95, 0.8, 0.9];
  idx.forEach((i, b) => {
    const base = { idx: i, label: 0, predict: b === 3 ? -1 : 0, radius: 0.1, correct: b === 3 ? 0 : 1, time: 1, pA_lower: 0.9, radius_fR: 0.2 };
    appendRecord(path.join(dir, 'a', 'certify-n100.tsv'), {
      ...base, lipschitz: sound[b] * factors[b], gamma: gamma[b], bound: 'sound', radius_paper: 0.1, lipschitz_paper: soundAtPaper[b] * paperFactors[b], gamma_paper: gammaPaper[b],
    });
    appendRecord(path.join(dir, 'c', 'certify-n100.tsv'), { ...base, lipschitz: sound[b], gamma: gamma[b], bound: 'sound' });
  });
  const run = (name: string, method: string) => ({ config: name, scale: 'test', method, sigma: 0.5, split: method === 'RS' ? 0 : 1, dataset: 'mnist', certifyLog: path.join(dir, name, 'certify-n100.tsv') }) as unknown as RunSummary;

  const { rows, skipped } = await boundTightnessRows([run('a', 'SPLITZ'), run('b', 'RS'), run('c', 'SPLITZ')]);
  expect(rows).toHaveLength(1);
  // Images 2, 5, 7 (image 1 abstains): sound ratios 1, 1.01, 1; paper ratios 0.9, 0.95, 0.8.
  expect(rows[0]).toMatchObject({ config: 'a', images: 3 });
  expect(rows[0].sound_median).toBeCloseTo(1, 2);
  expect(rows[0].sound_max).toBeCloseTo(1.01, 2);
  expect(rows[0].paper_median).toBeCloseTo(0.9, 2);
  expect(rows[0].paper_min).toBeCloseTo(0.8, 2);
  expect(skipped).toEqual(['c (test): no certified image with both bounds logged']);
  x.dispose();
  m.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
}, 60000);
