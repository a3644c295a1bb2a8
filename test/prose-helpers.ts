/**
 * Shared by the tests that hold the hand-written findings of
 * docs/REPRODUCTION.md (and the README's summary of them) to the published
 * runs: read the page and the logs, recompute a number, format it as the page
 * prints it, and require the page to say exactly that, whitespace aside.
 * Numbers are rounded half away from zero on their decimal value (`fix`), not
 * with toFixed's binary rounding: 0.3515 is 35.2%.
 */
import * as fs from 'fs';
import * as path from 'path';
import { runAnalyze, runPairedAnalyze, PairedAnalysis } from '../lib/commands/analyze';
import { readJsonLines } from '../lib/io/jsonl';
import { CertifyRecord, readCertifyLog } from '../lib/eval/log';
import { isCertifyLog } from '../lib/runner/files';

export const ROOT = path.resolve(__dirname, '..');
export const RESULTS = path.join(ROOT, 'data', 'results');
export const DOC = path.join(ROOT, 'docs', 'REPRODUCTION.md');

export const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();
/** The hand-written part of the page (before the generated block), whitespace collapsed. */
export const prose = squash(fs.readFileSync(DOC, 'utf8').split('<!-- generated:start')[0]);

export function expectProse(phrase: string): void {
  if (!prose.includes(squash(phrase))) throw new Error(`docs/REPRODUCTION.md should say, from the published runs: "${squash(phrase)}"`);
}

/** X rounded to D decimals, half away from zero on its shortest decimal representation. */
export function fix(x: number, d: number): string {
  const s = String(Math.abs(x));
  if (s.includes('e')) return x.toFixed(d);
  const r = Number(`${Math.round(Number(`${s}e${d}`))}e-${d}`);
  return (x < 0 && r !== 0 ? -r : r).toFixed(d);
}
export const signed = (x: number, d = 3): string => (x > 0 ? '+' : '') + fix(x, d);
/** A McNemar p as the page prints it: "< 0.001", else D decimals. */
export const pv = (p: number, d: number): string => (p < 0.001 ? '< 0.001' : fix(p, d));

export function logOf(run: string): string {
  const logs = fs.readdirSync(path.join(RESULTS, run)).filter(isCertifyLog);
  if (logs.length !== 1) throw new Error(`data/results/${run}: expected one certification log, found ${logs.length}`);
  return path.join(RESULTS, run, logs[0]);
}

export interface Summary { n: number; abstain: number; certifiedAccuracy: number[]; acr: number; medianLipschitz: number | null; medianLipschitzPaper: number | null }
const summaries = new Map<string, Summary>();
/** `splitz analyze --json` of a run's log at RADII (fractions). */
export function analyze(run: string, radii: number[]): Summary {
  const key = `${run}@${radii.join(',')}`;
  if (!summaries.has(key)) {
    let printed = '';
    runAnalyze([logOf(run)], { radii: radii.join(','), json: true }, (t) => (printed += t));
    summaries.set(key, (JSON.parse(printed) as { logs: Summary[] }).logs[0]);
  }
  return summaries.get(key)!;
}
/** Certified accuracies in % at RADII as the page prints a row: "46.6 / 38.8 / 33.2". */
export const certRow = (run: string, radii: number[]): string => analyze(run, radii).certifiedAccuracy.map((a) => fix(100 * a, 1)).join(' / ');
export const acr = (run: string): string => fix(analyze(run, [0]).acr, 3);
export const abstentions = (run: string): number => analyze(run, [0]).abstain;

const pairs = new Map<string, PairedAnalysis>();
export function paired(a: string, b: string, column = 'radius'): PairedAnalysis {
  const key = `${a}|${b}|${column}`;
  if (!pairs.has(key)) pairs.set(key, runPairedAnalyze([logOf(a), logOf(b)], { column }, () => undefined));
  return pairs.get(key)!;
}
export const at = (p: PairedAnalysis, eps: number) => {
  const row = p.accuracy.find((r) => r.eps === eps);
  if (!row) throw new Error(`no paired row at eps ${eps}`);
  return row;
};
/** "A - B, [lo, hi]" of a paired ACR, or of B - A with flip. */
export function acrDiff(p: PairedAnalysis, flip = false): { d: string; lo: string; hi: string } {
  const [lo, hi] = flip ? [-p.acr.ci[1], -p.acr.ci[0]] : p.acr.ci;
  return { d: signed(flip ? -p.acr.difference : p.acr.difference), lo: fix(lo, 3), hi: fix(hi, 3) };
}
export const pctOf = (count: number, images: number): string => fix((100 * count) / images, 1);

export interface EpochLine { epoch: number; mean_L: number; holdout_acc: number; holdout_clean_acc: number; seconds: number; best: boolean }
/** Every line of a run's training log (run, resume, epoch, early_stop). */
export const trainLog = (run: string): Record<string, unknown>[] => readJsonLines(path.join(RESULTS, run, 'train-log.jsonl'));
export const epochs = (run: string): EpochLine[] => trainLog(run).filter((r) => r.type === 'epoch') as unknown as EpochLine[];
/** The early-stopping record of a training log, epochs counted from 1 as the page counts them. */
export function earlyStop(run: string): { after: number; best: number } {
  const stop = trainLog(run).find((r) => r.type === 'early_stop') as { after_epoch: number; best_epoch: number } | undefined;
  if (!stop) throw new Error(`data/results/${run}: the training log has no early_stop line`);
  return { after: stop.after_epoch + 1, best: stop.best_epoch + 1 };
}
/** Epochs FROM..TO counted from 1, as the page counts them (the log's `epoch` counts from 0). */
export const epochRange = (run: string, from: number, to: number): EpochLine[] => epochs(run).filter((e) => e.epoch + 1 >= from && e.epoch + 1 <= to);
export const range = (xs: number[], d: number): string => `${fix(Math.min(...xs), d)}-${fix(Math.max(...xs), d)}`;
export const byEpoch = (run: string, d = 3): string => epochs(run).map((e) => fix(e.holdout_acc, d)).join(' / ');
export const trainMinutes = (run: string): number => epochs(run).reduce((a, e) => a + e.seconds, 0) / 60;
export const secondsRange = (run: string): string => range(epochs(run).map((e) => e.seconds), 0);

export const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
export const runJson = (run: string) =>
  readJson<{ certification: { worker_seconds: number; images: number; commands: { workers: number }[] } }>(path.join(RESULTS, run, 'run.json'));
export const sidecar = (run: string) => readJson<{ runs: { started: string; workers: number; images_before: number }[] }>(logOf(run) + '.json');
export const certifyOut = (run: string): string => fs.readFileSync(path.join(RESULTS, run, 'certify.out'), 'utf8');
/** Seconds of the last certification step, from certify.out's "done: ... certified in S s". */
export const lastStepSeconds = (run: string): number => Number(/done: \d+ images certified in ([\d.]+) s/.exec(certifyOut(run))![1]);
/** Certification wall time: from the first step's start (the sidecar's `runs`) to the end of the last. */
export function wallMinutes(run: string): number {
  const runs = sidecar(run).runs;
  const end = Date.parse(runs[runs.length - 1].started) + 1000 * lastStepSeconds(run);
  return (end - Date.parse(runs[0].started)) / 60000;
}
/** "145 worker-minutes, 17.4 s per image per worker" parts. */
export function workerTime(run: string): { min: string; perImage: string } {
  const c = runJson(run).certification;
  return { min: fix(c.worker_seconds / 60, 0), perImage: fix(c.worker_seconds / c.images, 1) };
}

/** Records of a run's certification log, read as `splitz analyze` reads it; `lipschitz` NaN where the log has no such column. */
export function records(run: string): (CertifyRecord & { lipschitz: number })[] {
  return readCertifyLog(logOf(run)).records.map((r) => ({ ...r, lipschitz: r.lipschitz ?? NaN }));
}
export const classified = (run: string) => records(run).filter((r) => r.predict >= 0);

/** The generated block of the page: for the statements that summarise its tables. */
export const generated = fs.readFileSync(DOC, 'utf8').split('<!-- generated:start')[1] ?? '';
/** The README, whitespace collapsed: its "Where the reproduction stands" summarises the page. */
const readme = squash(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
export function expectReadme(phrase: string): void {
  if (!readme.includes(squash(phrase))) throw new Error(`README.md should say, from the published runs: "${squash(phrase)}"`);
}

/** ACR of a run's log with the paper's radius column (`radius_paper`). */
export const acrPaper = (run: string): string => fix(paired(run, run, 'radius_paper').acr.acrA, 3);
/** A row of a generated table of the page, by its first cell (the run). */
export function generatedRow(tableHeading: string, run: string): string[] {
  const section = generated.split(`## ${tableHeading}`)[1].split('\n## ')[0];
  const line = section.split('\n').find((l) => l.startsWith(`| ${run} |`));
  if (!line) throw new Error(`generated table "${tableHeading}" has no row ${run}`);
  return line.split('|').slice(1, -1).map((cell) => cell.trim());
}
