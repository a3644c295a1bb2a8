/**
 * The checkpoint-diagnostics cache of measurePublishedCheckpoints
 * (diagnostics.json beside a run's log): a hit skips the measurement and
 * gives what it gave; any change of what the result depends on (the log, the
 * checkpoint, the report's version or options) misses; 'read' never writes,
 * 'require' refuses to measure.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../lib/backend';
import { appendRecord } from '../lib/eval/log';
import { saveCheckpoint } from '../lib/io/checkpoint';
import { DIAGNOSTICS_FILE, DiagnosticsCache, measurePublishedCheckpoints } from '../lib/report/published-checkpoints';
import { RunSummary } from '../lib/report/tables';
import { lenetWithBias } from './lenet-helpers';

beforeAll(async () => {
  await initBackend();
});

test('a hit skips the measurement; a changed log, checkpoint, version or options misses; read and require do not write', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'published-checkpoints-'));
  const m = lenetWithBias(1, 3);
  await saveCheckpoint(path.join(dir, 'a', 'best'), m, { arch: 'lenet' });
  const log = path.join(dir, 'a', 'certify-n100.tsv');
  const record = (idx: number) => ({ idx, label: 0, predict: 0, radius: 0.1, correct: 1, time: 1, pA_lower: 0.9, radius_fR: 0.2, lipschitz: 1, gamma: 0.1, bound: 'sound' });
  appendRecord(log, record(3));
  appendRecord(log, record(8));
  const run = { config: 'a', scale: 'test', method: 'SPLITZ', sigma: 0.5, split: 1, dataset: 'mnist', gamma_train: 1, certifyLog: log } as unknown as RunSummary;
  const file = path.join(dir, 'a', DIAGNOSTICS_FILE);

  let calls = 0;
  // The value has a typed array, which the cache keeps as a plain array (fresh results are given in the same form).
  const measure = (_r: RunSummary, _split: unknown, x: { shape: number[] }, records: { idx: number }[]) => {
    calls++;
    return { images: x.shape[0], first: records[0].idx, values: Float64Array.from([0.5, calls]) };
  };
  const cache = (over: Partial<DiagnosticsCache> = {}): DiagnosticsCache => ({ name: 'test-report', version: 1, options: { steps: 3 }, write: true, ...over });
  const measureWith = (c?: DiagnosticsCache) => measurePublishedCheckpoints([run], 10, measure, c);

  // 'read' on an empty cache measures and writes nothing; 'require' refuses.
  expect((await measureWith(cache({ write: false }))).rows).toEqual([{ images: 2, first: 3, values: [0.5, 1] }]);
  expect(fs.existsSync(file)).toBe(false);
  await expect(measureWith(cache({ write: false, require: true }))).rejects.toThrow(/has no 'test-report' entry \(version 1\): run `npm run claims`/);

  // 'write' measures and keeps it; then every mode reads it without measuring.
  expect((await measureWith(cache())).rows).toEqual([{ images: 2, first: 3, values: [0.5, 2] }]);
  expect(calls).toBe(2);
  for (const c of [cache(), cache({ write: false }), cache({ write: false, require: true })]) {
    expect((await measureWith(c)).rows).toEqual([{ images: 2, first: 3, values: [0.5, 2] }]);
  }
  expect(calls).toBe(2);
  // Another report's entry lives beside it.
  await measureWith(cache({ name: 'other' }));
  expect(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8'))).sort()).toEqual(['other', 'test-report']);
  expect(calls).toBe(3);

  // Misses: another version (require names it), other options, another number of images, a longer log, a changed checkpoint.
  await expect(measureWith(cache({ version: 2, write: false, require: true }))).rejects.toThrow(/has version 1 of the 'test-report' entry/);
  await measureWith(cache({ version: 2 }));
  expect(calls).toBe(4);
  await measureWith(cache({ version: 2, options: { steps: 4 } }));
  expect(calls).toBe(5);
  await measurePublishedCheckpoints([run], 1, measure, cache({ version: 2, options: { steps: 4 } }));
  expect(calls).toBe(6);
  appendRecord(log, record(9));
  await expect(measureWith(cache({ version: 2, options: { steps: 4 }, write: false, require: true }))).rejects.toThrow(/has an out-of-date 'test-report' entry/);
  expect((await measureWith(cache({ version: 2, options: { steps: 4 } }))).rows[0]).toMatchObject({ images: 3 });
  expect(calls).toBe(7);
  const m2 = lenetWithBias(1, 4);
  await saveCheckpoint(path.join(dir, 'a', 'best'), m2, { arch: 'lenet' });
  await measureWith(cache({ version: 2, options: { steps: 4 } }));
  expect(calls).toBe(8);
  await measureWith(cache({ version: 2, options: { steps: 4 } }));
  expect(calls).toBe(8);

  // Without a cache: measured every time, the value as measure returned it.
  const fresh = (await measureWith()).rows[0] as { values: unknown };
  expect(fresh.values).toBeInstanceOf(Float64Array);
  expect(calls).toBe(9);
  m.dispose();
  m2.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
}, 60000);
