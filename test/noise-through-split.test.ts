/**
 * noiseThroughSplit against hand computations, and noiseThroughSplitRows on a
 * checkpoint written here: its spectrum is that of jacobianSingularValues at
 * the log's first image.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend, tf } from '../lib/backend';
import { loadMnist } from '../lib/data/mnist';
import { appendRecord } from '../lib/eval/log';
import { saveCheckpoint } from '../lib/io/checkpoint';
import { jacobianSingularValues } from '../lib/lipschitz/jacobian';
import { splitModel } from '../lib/models/split';
import { noiseThroughSplit, noiseThroughSplitRows } from '../lib/report/noise-through-split';
import { RunSummary } from '../lib/report/tables';
import { lenetWithBias } from './lenet-helpers';

beforeAll(async () => {
  await initBackend();
});

describe('noiseThroughSplit', () => {
  test('singular values 4, 2, 2, 1 at sigma 1: quantiles, share above half, credited and median noise by hand', () => {
    const r = noiseThroughSplit([2, 4, 1, 2], 1);
    // s_i / s_max ascending: 0.25, 0.5, 0.5, 1; quantile q sits at position 3q.
    expect(r.inputs).toBe(4);
    expect(r.s_max).toBe(4);
    expect(r.quantiles[0]).toBeCloseTo(0.25 + 0.3 * 0.25, 12);
    expect(r.quantiles[1]).toBeCloseTo(0.25 + 0.75 * 0.25, 12);
    expect(r.quantiles[2]).toBeCloseTo(0.5, 12);
    expect(r.quantiles[3]).toBeCloseTo(0.5 + 0.25 * 0.5, 12);
    expect(r.quantiles[4]).toBeCloseTo(0.5 + 0.7 * 0.5, 12);
    expect(r.above_half).toBe(0.75);
    expect(r.noise_credited).toBe(0.25);
    expect(r.noise_median).toBe(0.5);
  });

  test('RS (every s_i = 1) is credited with the noise it faces; bad input is refused', () => {
    const r = noiseThroughSplit(new Float64Array(784).fill(1), 0.75);
    expect(r.noise_credited).toBe(0.75);
    expect(r.noise_median).toBe(0.75);
    expect(r.above_half).toBe(1);
    expect(() => noiseThroughSplit([1], 0)).toThrow(/sigma must be > 0/);
    expect(() => noiseThroughSplit([], 1)).toThrow(/no singular values/);
    expect(() => noiseThroughSplit([0, 0], 1)).toThrow(/J\(x\) is zero/);
  });
});

describe('noiseThroughSplitRows', () => {
  test("the spectrum at the log's first image, and a run whose input is too large is named, not measured", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'noise-split-'));
    const m = lenetWithBias(1, 3);
    await saveCheckpoint(path.join(dir, 'a', 'best'), m, { arch: 'lenet' });
    for (const i of [9, 4]) appendRecord(path.join(dir, 'a', 'certify-n100.tsv'), { idx: i, label: 0, predict: 0, radius: 0.1, correct: 1, time: 1 });
    const run = { config: 'a', scale: 'test', method: 'SPLITZ', sigma: 0.5, split: 1, dataset: 'mnist', certifyLog: path.join(dir, 'a', 'certify-n100.tsv') } as unknown as RunSummary;

    const { rows, skipped } = await noiseThroughSplitRows([run]);
    expect(skipped).toEqual([]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ config: 'a', scale: 'test', sigma: 0.5, split: 1, image: 9, inputs: 784 });
    const x = tf.tensor4d(loadMnist('test').images.slice(9 * 784, 10 * 784), [1, 28, 28, 1]);
    const s = jacobianSingularValues(splitModel(m, 1), x);
    expect(rows[0].s_max).toBeCloseTo(s[0], 6);
    expect(rows[0].spectrum[0]).toBe(1);
    expect(rows[0].spectrum[100]).toBeCloseTo(s[100] / s[0], 6);
    expect(rows[0].noise_credited).toBeCloseTo(0.5 / s[0], 6);

    const small = await noiseThroughSplitRows([run], { maxInputs: 100 });
    expect(small.rows).toEqual([]);
    expect(small.skipped).toEqual(['a (test): 784 input coordinates, more than 100']);
    x.dispose();
    m.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60000);
});
