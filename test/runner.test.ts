/**
 * The certify runner and the CLI around train / certify / merge: a killed
 * certification resumed gives the same records as an uninterrupted one;
 * --workers 2 and --shard 0/2 + 1/2 + merge give the same per-image records
 * as one worker; merge refuses overlaps and reports gaps; config, checkpoint
 * and architecture errors reach the user as one line without a stack trace.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../lib/backend';
import { main } from '../lib/cli';
import { loadConfig } from '../lib/config';
import { CertifyRecord, readCertifyLog } from '../lib/eval/log';
import { saveCheckpoint } from '../lib/io/checkpoint';
import { buildModel } from '../lib/models';
import { archOptionsOf } from '../lib/runner/common';
import { CertifyRunOptions, parseImages, parseShard, runCertify } from '../lib/runner/certify';
import { mergeLogs } from '../lib/runner/merge';
import { CERTIFY_NOISE_GENERATOR } from '../lib/smoothing/philox';

const CONFIG = path.join(__dirname, '..', 'configs', 'mnist-splitz-sigma0.75.json');
let dir: string;
let run: string;
// The equality tests use the `paper` bound (cheap); the reference log also runs `both` on fewer images.
const base: CertifyRunOptions = { images: 'first:4', n: 100, n0: 20, batch: 100, bound: 'paper' };
let reference: CertifyRecord[];
let both: CertifyRecord[];

const strip = (rs: CertifyRecord[]) => rs.map(({ time, ...rest }) => rest);

beforeAll(async () => {
  await initBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-runner-'));
  run = path.join(dir, 'run');
  const config = loadConfig(CONFIG, { scale: 'smoke' });
  const model = buildModel(config.arch, archOptionsOf(config));
  await saveCheckpoint(path.join(run, 'best'), model, { arch: config.arch, archOptions: archOptionsOf(config), epoch: 1, config, best: { epoch: 0 } });
  model.dispose();
  reference = (await runCertify(run, { ...base, out: path.join(dir, 'ref.tsv') })).records;
  both = (await runCertify(run, { ...base, images: 'list:0,7', bound: 'both', out: path.join(dir, 'both.tsv') })).records;
}, 120000);

test('option parsing', () => {
  expect(parseImages('every:20')).toEqual({ every: 20 });
  expect(parseImages('every:20:3')).toEqual({ every: 20, offset: 3 });
  expect(parseImages('first:7')).toEqual({ first: 7 });
  expect(parseImages('list:4,1,9')).toEqual({ list: [4, 1, 9] });
  expect(parseImages('5,6')).toEqual({ list: [5, 6] });
  expect(() => parseImages('some')).toThrow(/not understood/);
  expect(parseShard('1/3')).toEqual({ index: 1, count: 3 });
  expect(() => parseShard('3/3')).toThrow(/0 <= i < N/);
});

test('the log: Cohen\'s columns first, both bounds from one sampling run, sidecar with settings', () => {
  const log = readCertifyLog(path.join(dir, 'both.tsv'));
  expect(log.columns).toEqual(['idx', 'label', 'predict', 'radius', 'correct', 'time', 'pA_lower', 'radius_fR', 'lipschitz', 'gamma', 'bound', 'radius_paper', 'lipschitz_paper', 'gamma_paper']);
  expect(both.map((r) => r.idx)).toEqual([0, 7]);
  expect(reference.map((r) => r.idx)).toEqual([0, 1, 2, 3]);
  expect(both.some((r) => r.predict !== -1)).toBe(true);
  for (const r of both) {
    expect(r.bound).toBe('sound');
    // One sampling run: pA_lower and the prediction equal those of the paper-only log.
    const p = reference.find((q) => q.idx === r.idx);
    if (p) expect([r.predict, r.pA_lower]).toEqual([p.predict, p.pA_lower]);
    if (r.predict === -1) continue;
    // The same R_fR splits into the two radii: min(R_fR / L, gamma) for each bound's own (gamma, L).
    expect(r.radius).toBeCloseTo(Math.min(r.radius_fR! / r.lipschitz!, r.gamma!), 10);
    expect(r.radius_paper as number).toBeCloseTo(Math.min(r.radius_fR! / (r.lipschitz_paper as number), r.gamma_paper as number), 10);
    if (p) expect(r.radius_paper).toBe(p.radius);
    // Power iteration estimates from below: L_paper <= L_sound.
    expect(r.lipschitz_paper as number).toBeLessThanOrEqual(r.lipschitz! * (1 + 1e-5));
  }
  const side = JSON.parse(fs.readFileSync(path.join(dir, 'both.tsv.json'), 'utf8'));
  expect(side.settings).toMatchObject({ n: 100, n0: 20, alpha: 0.001, bound: 'both', sigma: 0.75, seed: 0, paper_power_iterations: 5 });
  expect(side.config.scale.name).toBe('smoke');
  expect(side.runs).toHaveLength(1);
});

test('a certification killed mid-way (with a partial last line) and resumed gives the same records', async () => {
  const out = path.join(dir, 'killed.tsv');
  await expect(
    runCertify(run, {
      ...base,
      out,
      onRecord: (_r, done) => {
        if (done === 2) throw new Error('simulated kill');
      },
    }),
  ).rejects.toThrow('simulated kill');
  fs.appendFileSync(out, '2\t1\t9\t0.1'); // a kill in the middle of a write
  await expect(runCertify(run, { ...base, out })).rejects.toThrow(/--resume/);
  await expect(runCertify(run, { ...base, out, n: 150, resume: true })).rejects.toThrow(/settings/);
  // As a log written before the noise generator was recorded (sfc32 + polar): its sidecar names none.
  const before = JSON.parse(fs.readFileSync(`${out}.json`, 'utf8'));
  expect(before.seeds.noise_generator).toBe(CERTIFY_NOISE_GENERATOR);
  delete before.seeds.noise_generator;
  delete before.runs[0].noise_generator;
  fs.writeFileSync(`${out}.json`, JSON.stringify(before));
  const res = await runCertify(run, { ...base, out, resume: true });
  expect(res.certified).toBe(2);
  expect(strip(res.records)).toEqual(strip(reference));
  const side = JSON.parse(fs.readFileSync(`${out}.json`, 'utf8'));
  expect(side.runs.map((r: { resumed: boolean; images_before: number }) => [r.resumed, r.images_before])).toEqual([[false, 0], [true, 2]]);
  // the log now holds images of both generators, and says so
  expect(side.runs[1].noise_generator).toBe(CERTIFY_NOISE_GENERATOR);
  expect(side.seeds.noise_generator).toMatch(/^sfc32 \+ polar.*; then philox4x32-10/);
});

test('--workers 2, and --shard 0/2 + --shard 1/2 + merge, give the same records as one worker', async () => {
  const w = await runCertify(run, { ...base, out: path.join(dir, 'w2.tsv'), workers: 2 });
  expect(strip(w.records)).toEqual(strip(reference));

  const s0 = path.join(dir, 's0.tsv');
  const s1 = path.join(dir, 's1.tsv');
  await runCertify(run, { ...base, out: s0, shard: '0/2' });
  await runCertify(run, { ...base, out: s1, shard: '1/2' });
  expect(readCertifyLog(s0).records.map((r) => r.idx)).toEqual([0, 2]);
  const m = mergeLogs([s1, s0], path.join(dir, 'merged.tsv'));
  expect(m.missing).toEqual([]);
  expect(strip(readCertifyLog(m.out).records)).toEqual(strip(reference));

  // Overlap: refused, naming the image and both files.
  fs.copyFileSync(s0, path.join(dir, 's0copy.tsv'));
  expect(() => mergeLogs([s0, path.join(dir, 's0copy.tsv')], path.join(dir, 'bad.tsv'))).toThrow(/idx 0 in .*s0\.tsv and .*s0copy\.tsv/);
  // Gaps: shard 1 alone misses images 0, 2 of the selection (known from its sidecar).
  const g = mergeLogs([s1], path.join(dir, 'gappy.tsv'));
  expect(g.missing).toEqual([0, 2]);
  expect(g.warnings[0]).toMatch(/idx 0, 2 /);
}, 120000);

describe('CLI errors are one line, no stack trace', () => {
  async function cli(args: string[]): Promise<{ code: number | undefined; err: string }> {
    const errs: string[] = [];
    const spyE = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errs.push(a.join(' ')));
    const spyL = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const before = process.exitCode;
    process.exitCode = undefined;
    try {
      await main(args);
      return { code: process.exitCode as number | undefined, err: errs.join('\n') };
    } finally {
      process.exitCode = before;
      spyE.mockRestore();
      spyL.mockRestore();
    }
  }
  function variant(name: string, edit: (c: Record<string, unknown>) => void): string {
    const raw = JSON.parse(fs.readFileSync(CONFIG, 'utf8'));
    raw.name = name;
    edit(raw);
    const f = path.join(dir, `${name}.json`);
    fs.writeFileSync(f, JSON.stringify(raw));
    return f;
  }
  const oneLine = (r: { code: number | undefined; err: string }) => {
    expect(r.code).toBe(2);
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^splitz: /);
    expect(r.err).not.toMatch(/\n\s+at /);
  };

  test('unknown config key', async () => {
    const f = variant('typo', (c) => ((c as { sigmma?: number }).sigmma = 0.5));
    const r = await cli(['train', f, '--scale', 'smoke', '--out', path.join(dir, 'typo-run'), '--no-progress']);
    oneLine(r);
    expect(r.err).toMatch(/unknown key 'sigmma'.*did you mean 'sigma'/);
    expect(fs.existsSync(path.join(dir, 'typo-run'))).toBe(false);
  });

  test('missing checkpoint', async () => {
    const f = variant('never-trained-xyz', () => undefined);
    const r = await cli(['certify', f, '--scale', 'smoke', '--no-progress']);
    oneLine(r);
    expect(r.err).toMatch(/no checkpoint for never-trained-xyz.*splitz train/);
    const r2 = await cli(['certify', CONFIG, '--scale', 'smoke', '--checkpoint', path.join(dir, 'nowhere'), '--no-progress']);
    oneLine(r2);
    expect(r2.err).toMatch(/no checkpoint at .*nowhere/);
  });

  test('checkpoint of the wrong architecture', async () => {
    const config = loadConfig(CONFIG, { scale: 'smoke' });
    const other = buildModel('lenet', { splitAfter: 0, theta: 1, seed: 0 });
    const ck = path.join(dir, 'rs-model');
    await saveCheckpoint(ck, other, { arch: 'lenet', archOptions: { splitAfter: 0, theta: 1, seed: 0 }, config: { ...config, split: 0 } });
    other.dispose();
    const r = await cli(['certify', CONFIG, '--scale', 'smoke', '--checkpoint', ck, '--no-progress']);
    oneLine(r);
    expect(r.err).toMatch(/differs from 'lenet'/);
  });

  test('bad options', async () => {
    oneLine(await cli(['certify', run, '--shard', '2/2', '--no-progress']));
    oneLine(await cli(['certify', run, '--bound', 'tight', '--no-progress']));
    oneLine(await cli(['merge', path.join(dir, 'nope.tsv'), '--out', path.join(dir, 'x.tsv')]));
  });
});
