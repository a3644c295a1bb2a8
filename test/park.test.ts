/**
 * Parking an unfinished campaign run (scripts/park.ts): a run parked after
 * one epoch, restored in another clone and resumed ends where an uninterrupted
 * run ends; a certification parked half-way and resumed elsewhere gives the
 * same records; what cannot be parked is refused with the reason.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../lib/backend';
import { ExperimentConfig, loadConfig } from '../lib/config';
import { loadMnist } from '../lib/data/mnist';
import { CertifyRecord } from '../lib/eval/log';
import { loadCheckpoint } from '../lib/io/checkpoint';
import { runCertify, CertifyRunOptions } from '../lib/runner/certify';
import { LAST_DIR, runTraining } from '../lib/runner/train';
import { MAX_PARKED_BYTES, describeParked, parkRun, readParked, restoreRun, trainingDone } from '../scripts/park';

const CONFIG = path.join(__dirname, '..', 'configs', 'mnist-splitz-sigma0.75.json');
const ID = 'tiny-smoke';
const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), `splitz-${prefix}-`));

/** The places of one run in a clone rooted at ROOT, as the campaign lays them out. */
function clone(root: string) {
  return { runDir: path.join(root, 'runs', ID), campaignDir: path.join(root, 'runs', 'campaign'), parked: path.join(root, 'data', 'in-progress', ID) };
}

/** 2 epochs of 3 steps on 192 images (a SPLITZ run: it keeps power-iteration vectors, small at this size). */
function tinyConfig(): ExperimentConfig {
  const c = loadConfig(CONFIG, { scale: 'smoke' });
  return { ...c, train: { ...c.train, epochs: 2, subset: 192, holdout: 128, batch_size: 64, extra_epochs: 0 } };
}

const weightsOf = async (dir: string) => {
  const ck = await loadCheckpoint(dir);
  const w = ck.model.getWeights().map((t) => Array.from(t.dataSync()));
  ck.model.dispose();
  return w;
};
const strip = (rs: CertifyRecord[]) => rs.map(({ time, ...rest }) => rest);

beforeAll(async () => {
  await initBackend();
});

test('parked after one epoch, restored in another clone and resumed: the same weights as an uninterrupted run; then a half-done certification likewise', async () => {
  const data = loadMnist('train');
  const config = tinyConfig();
  const full = tmp('park-full');
  await runTraining(config, { outDir: full, data });

  // Clone A trains one epoch and is stopped.
  const a = clone(tmp('park-a'));
  await expect(
    runTraining(config, {
      outDir: a.runDir,
      data,
      hooks: {
        onEpochEnd: (r) => {
          if (r.epoch === 0) throw new Error('session ended');
        },
      },
    }),
  ).rejects.toThrow('session ended');
  fs.mkdirSync(a.campaignDir, { recursive: true });
  fs.writeFileSync(path.join(a.campaignDir, `${ID}.train.out`), 'epoch 0 of 2\n');
  fs.writeFileSync(path.join(a.runDir, 'warm-e1.bin.tmp-99-1'), 'an interrupted write');
  expect(trainingDone(a.runDir)).toBe(false);
  const m = parkRun(ID, a.runDir, a.campaignDir, a.parked);
  expect(m).toMatchObject({ id: ID, epochs_trained: 1, training_done: false, left_out: [] });
  expect(fs.readdirSync(path.join(a.parked, 'run')).sort()).toEqual(['best', 'checkpoint', 'train-log.jsonl', 'warm-e1.bin']);

  // Clone B, elsewhere, has only the parked copy (as committed).
  const b = clone(tmp('park-b'));
  fs.cpSync(a.parked, b.parked, { recursive: true });
  restoreRun(ID, b.parked, b.runDir, b.campaignDir);
  expect(fs.readFileSync(path.join(b.campaignDir, `${ID}.train.out`), 'utf8')).toBe('epoch 0 of 2\n');
  expect(() => restoreRun(ID, b.parked, b.runDir, b.campaignDir)).toThrow(/exists already/);
  const resumed = await runTraining(config, { outDir: b.runDir, data, resume: true });
  expect(resumed.epochsDone).toBe(2);
  expect(await weightsOf(path.join(b.runDir, LAST_DIR))).toEqual(await weightsOf(path.join(full, LAST_DIR)));
  expect(trainingDone(b.runDir)).toBe(true); // every planned epoch is in the log

  // B certifies 2 of 4 images and is stopped; parked without the power-iteration vectors (training is done).
  const opts: CertifyRunOptions = { images: 'first:4', n: 100, n0: 20, batch: 100, bound: 'paper' };
  const reference = await runCertify(b.runDir, { ...opts, out: path.join(tmp('park-ref'), 'ref.tsv') });
  const log = path.join(b.runDir, 'certify-n100.tsv');
  await expect(
    runCertify(b.runDir, {
      ...opts,
      out: log,
      onRecord: (_r, done) => {
        if (done === 2) throw new Error('session ended');
      },
    }),
  ).rejects.toThrow('session ended');
  const m2 = parkRun(ID, b.runDir, b.campaignDir, b.parked);
  expect(m2.training_done).toBe(true);
  expect(m2.images_certified).toEqual({ 'certify-n100.tsv': 2 });
  expect(m2.left_out.map((x) => x.file)).toEqual(['warm-e2.bin']);
  expect(readParked(b.parked)).toEqual(m2);
  expect(describeParked(m2)).toBe('2 epochs trained (training done); certify-n100.tsv: 2 images certified');

  // Clone C resumes the certification: the sidecar's checkpoint path now names C's run.
  const c = clone(tmp('park-c'));
  fs.cpSync(b.parked, c.parked, { recursive: true });
  restoreRun(ID, c.parked, c.runDir, c.campaignDir);
  expect(JSON.parse(fs.readFileSync(path.join(c.runDir, 'certify-n100.tsv.json'), 'utf8')).checkpoint.dir).toBe(path.join(c.runDir, 'best'));
  const done = await runCertify(c.runDir, { ...opts, out: path.join(c.runDir, 'certify-n100.tsv'), resume: true });
  expect(done.certified).toBe(2);
  expect(strip(done.records)).toEqual(strip(reference.records));
}, 180000);

describe('what is refused', () => {
  /** A run directory with a training log (PLAN epochs planned, EPOCHS done) and a warm-start file of WARMBYTES. */
  function fakeRun(epochs: number, plan: number, warmBytes: number, extra: string[] = []) {
    const c = clone(tmp('park-fake'));
    fs.mkdirSync(path.join(c.runDir, 'checkpoint'), { recursive: true });
    fs.writeFileSync(path.join(c.runDir, 'checkpoint', 'weights.bin'), 'w');
    const lines = [{ type: 'run', resolved: { train: { epochs: plan, extra_epochs: 0 } } }, ...Array.from({ length: epochs }, (_, e) => ({ type: 'epoch', epoch: e })), ...extra.map((type) => ({ type }))];
    fs.writeFileSync(path.join(c.runDir, 'train-log.jsonl'), lines.map((l) => JSON.stringify(l) + '\n').join(''));
    const fd = fs.openSync(path.join(c.runDir, `warm-e${epochs}.bin`), 'w');
    fs.ftruncateSync(fd, warmBytes); // sparse: no disk used
    fs.closeSync(fd);
    return c;
  }

  test('a SPLITZ run still training whose power-iteration vectors are too large: refused, naming the file; an earlier parked copy stays', () => {
    const c = fakeRun(3, 12, 1024);
    parkRun(ID, c.runDir, c.campaignDir, c.parked);
    fs.truncateSync(path.join(c.runDir, 'warm-e3.bin'), MAX_PARKED_BYTES + 1);
    expect(() => parkRun(ID, c.runDir, c.campaignDir, c.parked)).toThrow(/largest part is warm-e3\.bin, 20\.0 MB.*finish training in one session/);
    expect(readParked(c.parked)?.epochs_trained).toBe(3);
    expect(fs.statSync(path.join(c.parked, 'run', 'warm-e3.bin')).size).toBe(1024);
  });

  test('the same run once its training is done (all epochs, or stopped early): parked without them', () => {
    expect(parkRun(ID, fakeRun(12, 12, MAX_PARKED_BYTES + 1).runDir, tmp('x'), tmp('park-out') + '/p').left_out.map((x) => x.file)).toEqual(['warm-e12.bin']);
    expect(trainingDone(fakeRun(7, 12, 1, ['early_stop']).runDir)).toBe(true);
    expect(trainingDone(fakeRun(11, 12, 1).runDir)).toBe(false);
  });

  test('no training log: nothing to park; a folder without a manifest is not a parked run', () => {
    const c = clone(tmp('park-empty'));
    fs.mkdirSync(c.runDir, { recursive: true });
    expect(() => parkRun(ID, c.runDir, c.campaignDir, c.parked)).toThrow(/no training log/);
    expect(() => restoreRun(ID, c.runDir, path.join(c.runDir, 'x'), c.campaignDir)).toThrow(/not a parked run/);
  });
});
