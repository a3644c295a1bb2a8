/**
 * The published runs (data/results/<run>/) against everything said about them.
 *
 * `splitz analyze` reads a certification log on its own (lib/eval), while
 * docs/REPRODUCTION.md and the report tables go through the run summaries of
 * lib/report/tables.ts: two paths over the same TSV. Here `splitz analyze` on
 * each published log must reproduce
 *   - the clean accuracy and ACR of the run's row in docs/REPRODUCTION.md,
 *   - every "ours" number of the report tables (certified accuracy at eps, ACR)
 *     that `npm run figures -- --results data/results` would write,
 * and the generated part of docs/REPRODUCTION.md must be what `npm run claims`
 * writes from data/results now (a run published without `npm run claims`
 * fails here).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../lib/backend';
import { readCertifyLog } from '../lib/eval/log';
import { readJsonLines } from '../lib/io/jsonl';
import { isCertifyLog } from '../lib/runner/files';
import { runCertify } from '../lib/runner/certify';
import { runAnalyze } from '../lib/commands/analyze';
import { allTables, describeRun, findCertifyLogs, pickRuns, summarizeRun } from '../lib/report/tables';
import { TIGHTNESS_IMAGES, generateClaims, generatedBlockOf } from '../scripts/claims';
import { splitSignalRows } from '../lib/report/split-signal';
import { noiseThroughSplitRows } from '../lib/report/noise-through-split';
import { boundTightnessRows } from '../lib/report/bound-tightness';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(ROOT, 'data', 'results');
const DOC = path.join(ROOT, 'docs', 'REPRODUCTION.md');

const published = fs.existsSync(RESULTS) ? fs.readdirSync(RESULTS).filter((d) => fs.existsSync(path.join(RESULTS, d, 'run.json'))).sort() : [];

/** The one certification log of a published run. */
function logOf(run: string): string {
  const logs = fs.readdirSync(path.join(RESULTS, run)).filter(isCertifyLog);
  if (logs.length !== 1) throw new Error(`data/results/${run}: expected one certify-n<n>.tsv, found ${logs.length}`);
  return path.join(RESULTS, run, logs[0]);
}

/** `splitz analyze LOG --radii R --json`, as the command prints it. */
function analyze(log: string, radii: number[]): { certifiedAccuracy: number[]; acr: number } {
  let printed = '';
  runAnalyze([log], { radii: radii.join(','), json: true }, (t) => (printed += t));
  return (JSON.parse(printed) as { logs: { certifiedAccuracy: number[]; acr: number }[] }).logs[0];
}

test('there are published runs to check', () => {
  expect(published.length).toBeGreaterThan(0);
});

test('the generated part of docs/REPRODUCTION.md is what `npm run claims` writes from data/results now', async () => {
  const doc = fs.readFileSync(DOC, 'utf8');
  // 'require': every run's checkpoint diagnostics must be current in its diagnostics.json (the next test checks one against a fresh measurement).
  if (generatedBlockOf(doc, DOC).block !== (await generateClaims(RESULTS, 'require')).block) {
    throw new Error('docs/REPRODUCTION.md is not up to date with data/results (a run was published or changed since): run `npm run claims` and commit both');
  }
});

test("one run's cached checkpoint diagnostics are what measuring its checkpoint gives now", async () => {
  // The cheapest SPLITZ run to measure (all three reports apply to it); a
  // measurement changed without a version bump fails here.
  const run = published.includes('mnist-splitz-sigma0.25-reduced') ? 'mnist-splitz-sigma0.25-reduced' : published.find((r) => r.includes('splitz'));
  if (!run) return;
  const summary = [summarizeRun(logOf(run))];
  const plain = (v: unknown) => JSON.parse(JSON.stringify(v));
  expect(plain(await splitSignalRows(summary))).toEqual(await splitSignalRows(summary, { cache: 'require' }));
  expect(plain(await noiseThroughSplitRows(summary))).toEqual(await noiseThroughSplitRows(summary, { cache: 'require' }));
  expect(plain(await boundTightnessRows(summary, { maxImages: TIGHTNESS_IMAGES }))).toEqual(await boundTightnessRows(summary, { maxImages: TIGHTNESS_IMAGES, cache: 'require' }));
});

describe.each(published)('%s', (run) => {
  test('splitz analyze reproduces its row of docs/REPRODUCTION.md (clean accuracy of g, ACR)', () => {
    const row = fs
      .readFileSync(DOC, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`| ${run} |`));
    expect(row).toBeDefined();
    const cells = row!.split('|').map((c) => c.trim());
    const a = analyze(logOf(run), [0]);
    // Columns: run, scale, epochs, test images, n, training, certification, clean acc. of g (%), ACR, ...
    expect(cells[8]).toBe((100 * a.certifiedAccuracy[0]).toFixed(1));
    expect(cells[9]).toBe(a.acr.toFixed(3));
  });

  test("run.json's times and image count are its logs' (training: epoch seconds; certification: per-image seconds summed over workers)", () => {
    const rj = JSON.parse(fs.readFileSync(path.join(RESULTS, run, 'run.json'), 'utf8')) as {
      training: { epochs: number; wall_seconds: number };
      certification: { images: number; worker_seconds: number };
    };
    const epochs = readJsonLines(path.join(RESULTS, run, 'train-log.jsonl')).filter((l) => l.type === 'epoch');
    expect(rj.training.epochs).toBe(epochs.length);
    expect(rj.training.wall_seconds).toBeCloseTo(epochs.reduce((s, e) => s + Number(e.seconds ?? 0), 0), 3);
    const records = readCertifyLog(logOf(run)).records;
    expect(rj.certification.images).toBe(records.length);
    expect(rj.certification.worker_seconds).toBeCloseTo(records.reduce((s, r) => s + r.time, 0), 3);
  });

  test('its base-classifier row agrees with its training log, and the certified local bounds stay below the global bound', () => {
    const doc = fs.readFileSync(DOC, 'utf8');
    const section = doc.slice(doc.indexOf('## Base classifiers'), doc.indexOf('## Claims, checked'));
    const row = section.split('\n').find((l) => l.startsWith(`| ${run} |`));
    expect(row).toBeDefined();
    const cells = row!.split('|').map((c) => c.trim());
    // Independently of the log's `best` flags: the certified checkpoint is the first epoch with the highest held-out accuracy.
    const epochs = new Map<number, { holdout_acc: number }>();
    for (const line of fs.readFileSync(path.join(RESULTS, run, 'train-log.jsonl'), 'utf8').split('\n').filter(Boolean)) {
      const l = JSON.parse(line);
      if (l.type === 'epoch') epochs.set(l.epoch, l);
    }
    const accs = [...epochs.keys()].sort((a, b) => a - b).map((e) => epochs.get(e)!.holdout_acc);
    const bestAcc = Math.max(...accs);
    expect(cells[3]).toBe(`${accs.indexOf(bestAcc) + 1} of ${accs.length}`);
    expect(cells[4]).toBe((100 * bestAcc).toFixed(1));
    // A local bound over a ball can never exceed the global bound of the same f_L (a masked operator's norm is at most the operator's).
    const globalFile = path.join(RESULTS, run, 'global-lipschitz.json');
    if (fs.existsSync(globalFile) && !cells[7].startsWith('-')) {
      // The cell is rounded to 3 decimals: half a unit of the last place may sit above (Lip_theta 0.3: median 1.02178 shown as 1.022, global 1.02188).
      expect(Number(cells[7]) - 0.0005).toBeLessThanOrEqual(JSON.parse(fs.readFileSync(globalFile, 'utf8')).L * (1 + 1e-6));
    }
  });
});

test("splitz analyze reproduces every 'ours' number of the report tables drawn from data/results", () => {
  const runs = pickRuns(findCertifyLogs([RESULTS]).map((l) => summarizeRun(l)));
  let checked = 0;
  for (const table of allTables(runs)) {
    for (const row of table.rows) {
      const ours = row.ours;
      const ourRun = row.our_run;
      if (typeof ours !== 'number' || typeof ourRun !== 'string') continue;
      // "mnist-rs-sigma0.75 (reduced), sigma = 0.75": the published folder is <config>-<scale>.
      const m = /^(\S+) \(([^)]+)\)/.exec(ourRun);
      expect(m).not.toBeNull();
      const log = logOf(`${m![1]}-${m![2]}`);
      if (table.columns.includes('eps') && typeof row.eps === 'number') {
        // Radii of SPLITZ logs: the `radius` column (sound bound), as the tables use unless they say otherwise.
        if (table.name === 'table_bounds_sound_vs_paper') continue;
        expect({ table: table.name, eps: row.eps, ours }).toEqual({ table: table.name, eps: row.eps, ours: Number((100 * analyze(log, [row.eps]).certifiedAccuracy[0]).toFixed(1)) });
      } else if (table.name === 'table_III_acr') {
        expect({ table: table.name, sigma: row.sigma, ours }).toEqual({ table: table.name, sigma: row.sigma, ours: Number(analyze(log, [0]).acr.toFixed(4)) });
      } else continue;
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(0);
});

test('a run described in a caption names its bound on L(x) when it has one: SPLITZ runs do, RS runs (L = 1) do not', () => {
  const runs = findCertifyLogs([RESULTS]).map((l) => summarizeRun(l));
  const rs = runs.filter((r) => r.method === 'RS');
  const splitz = runs.filter((r) => r.method === 'SPLITZ');
  expect(rs.length).toBeGreaterThan(0);
  expect(splitz.length).toBeGreaterThan(0);
  for (const r of rs) expect(describeRun(r)).not.toMatch(/bound/);
  for (const r of splitz) expect(describeRun(r)).toMatch(/, sound bound, /);
});

/**
 * The engine still gives the published certificates: for each published run
 * whose noise generator is today's (sidecar `noise_generator`), its first two
 * images are certified again here, in this process (one worker, the noise
 * written into the wasm heap) where the campaign used worker threads, and
 * every column of the log but `time` must come out the same.
 */
describe('re-certifying published images reproduces their log lines', () => {
  const current = published.filter((run) => {
    const side = JSON.parse(fs.readFileSync(`${logOf(run)}.json`, 'utf8')) as { seeds?: { noise_generator?: string }; runs?: Array<{ noise_generator?: string }> };
    // Only logs drawn entirely with the current generator (older ones mixed in sfc32 + polar).
    return Boolean(side.seeds?.noise_generator) && (side.runs ?? []).every((r) => r.noise_generator === side.seeds!.noise_generator) && fs.existsSync(path.join(RESULTS, run, 'best'));
  });

  test('there is such a run', () => {
    expect(current.length).toBeGreaterThan(0);
  });

  test.each(current.slice(0, 2))('%s', async (run) => {
    await initBackend({ force: 'wasm' });
    const rj = JSON.parse(fs.readFileSync(path.join(RESULTS, run, 'run.json'), 'utf8')) as { config: string; scale: { name: string } };
    const published = readCertifyLog(logOf(run));
    const first = published.records.slice(0, 2);
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'recertify-')), 'log.tsv');
    const res = await runCertify(path.join(ROOT, rj.config), {
      scale: rj.scale.name,
      checkpoint: path.join(RESULTS, run, 'best'),
      images: `list:${first.map((r) => r.idx).join(',')}`,
      workers: 1,
      out,
    });
    const strip = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'time'));
    expect(res.records.map(strip)).toEqual(first.map(strip));
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  });
});
