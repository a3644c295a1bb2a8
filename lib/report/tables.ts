/**
 * Tables I-VII of the paper, rebuilt from our runs beside the paper's
 * numbers: plain functions (run summaries, literature rows) -> rows with
 * the columns `paper`, `ours` and `difference` (= ours - paper), plus a
 * caption that states the scale of our runs. `toDataFrame` turns rows into a
 * danfojs-node DataFrame; it is loaded on first use (it brings its own tfjs
 * copy and takes seconds to import), so the builders stay fast.
 *
 * Our numbers come only from run directories (certification TSV + sidecar
 * JSON + training log), read by `summarizeRun`. The paper's numbers come
 * only from data/literature (./literature.ts). Neither feeds the other.
 *
 * Run layout read here (lib/runner/train.ts and lib/runner/certify.ts):
 *   <run dir>/train-log.jsonl        {"type":"run", name, scale, backend, resolved config, machine?}
 *                                    then one {"type":"epoch", seconds, phase, ...} per epoch
 *   <run dir>/certify-n<n>.tsv       per-image certification log (lib/eval/log.ts)
 *   <run dir>/certify-n<n>.tsv.json  its sidecar: {format: 'splitz-certify-log', config: {file, name, scale},
 *                                    checkpoint: {dir, epoch, which}, settings: {sigma, split, n0, n, alpha, bound, ...},
 *                                    images: {selection, shard, total}, runs: [{backend, workers, machine?, ...}]}
 *   <run dir>/best/meta.json         the checkpoint's meta (holds the resolved config)
 * A log may also sit elsewhere (e.g. data/results/) with its sidecar beside
 * it; the training log is then looked up next to the checkpoint the sidecar
 * names. Shard logs (sidecar images.shard set) are skipped in favour of the
 * merged log.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readJsonLines } from '../io/jsonl';
import type { DataFrame } from 'danfojs-node';
import { readCertifyLog, CertifyRecord } from '../eval/log';
import { AccuracyCurve, accuracyVsRadius, averageCertifiedRadius, certifiedAccuracy } from '../eval/metrics';
import { DEFAULT_RADII } from '../eval/summary';
import { AccuracyRow, AcrRow, Dataset, TimeRow, loadLiterature } from './literature';

// ------------------------------------------------------------------ run summaries

/** Certified accuracy and ACR under one radius column of a log. */
export interface RadiusSummary {
  /** Fractions in [0, 1], at RunSummary.radii. */
  certifiedAccuracy: number[];
  acr: number;
  curve: AccuracyCurve;
}

/** What the tables and figures need to know of one certified run. */
export interface RunSummary {
  /** Config name, e.g. 'mnist-splitz-sigma0.75'. */
  config: string;
  configFile: string | null;
  /** Scale name ('paper', 'reduced', 'smoke', ...) and its note. */
  scale: string;
  scaleNote: string;
  dataset: Dataset;
  /** Architecture name of the config, with " width W" appended when a width multiplier is set (e.g. "resnet20 width 0.5"). */
  arch: string | null;
  /** 'RS' when split = 0, else 'SPLITZ'. */
  method: 'RS' | 'SPLITZ';
  sigma: number;
  split: number;
  theta_lip: number | null;
  gamma_train: number | null;
  /** Bound of the `radius` column: 'sound', 'paper' or 'none' (RS). */
  bound: string;
  /** Epochs planned by the config (before an early-stopping extension) and epochs actually trained. */
  epochsPlanned: number | null;
  epochsTrained: number | null;
  /** Certified test images, and how they were chosen (e.g. "every 20th of 10,000"). */
  images: number;
  imageSelection: string;
  /** Noise samples (Cohen's n, n0) and alpha. */
  n: number;
  n0: number;
  alpha: number;
  /** e.g. "MNIST test set (every 20th image), LeNet". */
  datasetVariant: string;
  abstain: number;
  radii: number[];
  /** Fractions in [0, 1] at `radii` (the `radius` column). */
  certifiedAccuracy: number[];
  acr: number;
  curve: AccuracyCurve;
  /** Other radius columns of the log, e.g. radius_paper (the paper's power-iteration bound next to the sound one). */
  otherRadii: Record<string, RadiusSummary>;
  /** Optimizer steps and training images of the run (train-log.jsonl); null when the log does not say. */
  trainSteps: number | null;
  trainImages: number | null;
  /** Mean wall seconds per training epoch (main phase), from train-log.jsonl; null without it. */
  trainSecondsPerEpoch: number | null;
  /** Mean of the log's time column (seconds per certified image, per worker). */
  certifySecondsPerImage: number;
  backend: string | null;
  machine: string | null;
  certifyLog: string;
  trainLog: string | null;
}

/** A broken or incomplete run directory: says which file and what to do. */
export class RunSummaryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunSummaryError';
  }
}

interface Sidecar {
  format?: string;
  config?: { file?: string; name?: string; scale?: { name?: string; note?: string } };
  checkpoint?: { dir?: string; epoch?: unknown; which?: unknown };
  settings?: { sigma?: number; split?: number; n0?: number; n?: number; alpha?: number; bound?: string };
  images?: { selection?: unknown; shard?: string | null; total?: number };
  runs?: Array<{ backend?: string; workers?: number; machine?: unknown }>;
  machine?: unknown;
}

interface ResolvedConfigLike {
  name?: string;
  dataset?: string;
  arch?: string;
  arch_options?: { width?: number };
  split?: number;
  sigma?: number;
  train?: { epochs?: number; theta_lip?: number; gamma_train?: number };
  certify?: { images?: unknown };
  scale?: { name?: string; note?: string };
  source?: { file?: string };
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new RunSummaryError(`${file}: cannot read it as JSON (${(e as Error).message})`);
  }
}

function describeMachine(m: unknown): string | null {
  if (m === undefined || m === null) return null;
  if (typeof m === 'string') return m;
  if (typeof m === 'object') {
    const o = m as Record<string, unknown>;
    const parts = [o.cpu ?? o.model, o.cores !== undefined ? `${o.cores} cores` : undefined, o.platform ?? o.os, o.gpu].filter((v) => v !== undefined && v !== null);
    return parts.length ? parts.map(String).join(', ') : JSON.stringify(m);
  }
  return String(m);
}

/** "every 20th", "first 5", "all", "list of 3". */
export function describeSelection(sel: unknown): string {
  if (sel === 'all' || sel === undefined) return 'all';
  if (sel && typeof sel === 'object') {
    const s = sel as { every?: number; offset?: number; first?: number; list?: number[] };
    if (s.every !== undefined) return s.every === 1 ? 'all' : `every ${ordinal(s.every)}${s.offset ? ` from ${s.offset}` : ''}`;
    if (s.first !== undefined) return `first ${s.first}`;
    if (s.list) return `list of ${s.list.length}`;
  }
  return JSON.stringify(sel);
}

function ordinal(k: number): string {
  const t = k % 100;
  if (t >= 11 && t <= 13) return `${k}th`;
  return `${k}${['th', 'st', 'nd', 'rd'][k % 10] ?? 'th'}`;
}

const DATASET_NAME: Record<Dataset, string> = { mnist: 'MNIST', cifar10: 'CIFAR-10' };
const ARCH_NAME: Record<string, string> = { lenet: 'LeNet', resnet20: 'ResNet-20', resnet32: 'ResNet-32', resnet56: 'ResNet-56', resnet110: 'ResNet-110' };

/** 'ResNet-20', or 'ResNet-20 (width x0.5)' for RunSummary.arch 'resnet20 width 0.5'. */
function archName(arch: string): string {
  const [base, , width] = arch.split(' ');
  return `${ARCH_NAME[base] ?? base}${width ? ` (width x${width})` : ''}`;
}

/** The certification logs (not shards) in a directory, most records first. */
function certifyLogsIn(dir: string): string[] {
  const logs = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.tsv') && fs.existsSync(path.join(dir, `${f}.json`)))
    .map((f) => path.join(dir, f))
    .filter((f) => !((readJson(`${f}.json`) as Sidecar).images?.shard ?? null));
  const size = (f: string) => fs.statSync(f).size;
  return logs.sort((a, b) => size(b) - size(a) || a.localeCompare(b));
}

/**
 * Everything the tables need of one run: `target` is a run directory
 * (its largest non-shard certification log is used) or a certification log
 * (.tsv) with its sidecar (.tsv.json) beside it.
 */
export function summarizeRun(target: string, options: { radii?: readonly number[] } = {}): RunSummary {
  if (!fs.existsSync(target)) throw new RunSummaryError(`${target} not found: give a run directory (runs/<config>-<scale>/) or a certification log (.tsv)`);
  let logFile: string;
  if (fs.statSync(target).isDirectory()) {
    const logs = certifyLogsIn(target);
    if (!logs.length) throw new RunSummaryError(`${target} holds no certification log with its sidecar (certify-n<n>.tsv + .tsv.json); run \`splitz certify\` on it first`);
    logFile = logs[0];
  } else logFile = target;
  const sidecarFile = `${logFile}.json`;
  if (!fs.existsSync(sidecarFile)) throw new RunSummaryError(`${logFile} has no sidecar ${path.basename(sidecarFile)}: without it the run's config and settings are unknown (logs written by \`splitz certify\` have one)`);
  const side = readJson(sidecarFile) as Sidecar;
  const log = readCertifyLog(logFile);
  if (!log.records.length) throw new RunSummaryError(`${logFile}: no records yet (certification has not finished an image)`);

  // The training log and the resolved config: next to the log, else next to the checkpoint.
  const candidates = [path.dirname(logFile)];
  if (side.checkpoint?.dir) candidates.push(path.dirname(side.checkpoint.dir));
  const trainLog = candidates.map((d) => path.join(d, 'train-log.jsonl')).find((f) => fs.existsSync(f)) ?? null;
  const lines = trainLog ? readJsonLines(trainLog, (m) => new RunSummaryError(m)) : [];
  const runLine = lines.find((l) => l.type === 'run');
  let resolved = (runLine?.resolved ?? undefined) as ResolvedConfigLike | undefined;
  if (!resolved && side.checkpoint?.dir && fs.existsSync(path.join(side.checkpoint.dir, 'meta.json'))) {
    resolved = (readJson(path.join(side.checkpoint.dir, 'meta.json')) as { config?: ResolvedConfigLike }).config;
  }

  const st = side.settings ?? {};
  const name = side.config?.name ?? resolved?.name;
  const dataset = resolved?.dataset;
  if (!name) throw new RunSummaryError(`${sidecarFile}: no config name (config.name)`);
  if (dataset !== 'mnist' && dataset !== 'cifar10') {
    throw new RunSummaryError(`${logFile}: the dataset is unknown (no training log with its resolved config and no checkpoint meta.json at ${side.checkpoint?.dir ?? '?'}); keep the log in its run directory`);
  }
  const need = (v: number | undefined, what: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RunSummaryError(`${sidecarFile}: settings.${what} is missing`);
    return v;
  };
  const sigma = need(st.sigma ?? resolved?.sigma, 'sigma');
  const split = need(st.split ?? resolved?.split, 'split');

  const radii = [...new Set([...(options.radii ?? DEFAULT_RADII)])].sort((a, b) => a - b);
  const records = log.records;
  const summarize = (col: string): RadiusSummary => {
    const rs = records.map((r: CertifyRecord) => ({ radius: Number(r[col]), correct: r.correct }));
    for (const r of rs) if (!(r.radius >= 0)) throw new RunSummaryError(`${logFile}: column '${col}' holds a value that is not a radius >= 0`);
    return { certifiedAccuracy: certifiedAccuracy(rs, radii), acr: averageCertifiedRadius(rs), curve: accuracyVsRadius(rs) };
  };
  const main = summarize('radius');
  const otherRadii: Record<string, RadiusSummary> = {};
  // RS (split 0) has no f_L to bound: a log certified with both bounds repeats its radius in radius_paper,
  // which is no second radius (it would show as a "paper's bound" curve or column of RS).
  if (split > 0) for (const c of log.columns) if (/^radius_/.test(c) && c !== 'radius_fR') otherRadii[c.slice('radius_'.length)] = summarize(c);
  // The global bound of f_L (Fig. 4b): with a constant L the Theorem 1 radius is R_fR / L (max over gamma of
  // min(R_fR / L, gamma)). Its L is written beside the log by whoever computed it (notebook 08: GLOBAL_BOUND_FILE).
  const globalFile = path.join(path.dirname(logFile), GLOBAL_BOUND_FILE);
  if (split > 0 && !otherRadii.global && fs.existsSync(globalFile) && log.columns.includes('radius_fR')) {
    const g = readJson(globalFile) as { L?: number };
    if (!(typeof g.L === 'number' && g.L > 0)) throw new RunSummaryError(`${globalFile}: 'L' must be a number > 0 (the global Lipschitz bound of f_L)`);
    const rs = records.map((r: CertifyRecord) => ({ radius: r.correct ? Number(r.radius_fR) / (g.L as number) : 0, correct: r.correct }));
    otherRadii.global = { certifiedAccuracy: certifiedAccuracy(rs, radii), acr: averageCertifiedRadius(rs), curve: accuracyVsRadius(rs) };
  }

  const epochs = lines.filter((l) => l.type === 'epoch');
  const stepCounts = epochs.map((l) => Number(l.total_steps)).filter(Number.isFinite);
  const mainEpochs = epochs.filter((l) => l.phase !== 'extension');
  const secs = (mainEpochs.length ? mainEpochs : epochs).map((l) => Number(l.seconds)).filter(Number.isFinite);
  const boundCol = records.find((r) => typeof r.bound === 'string')?.bound as string | undefined;
  const lastRun = side.runs?.[side.runs.length - 1];
  const selection = describeSelection(side.images?.selection ?? resolved?.certify?.images);
  const width = resolved?.arch_options?.width;
  // A width multiplier changes the network: say so wherever the architecture is named.
  const arch = resolved?.arch ? `${resolved.arch}${width !== undefined && width !== 1 ? ` width ${width}` : ''}` : null;

  return {
    config: name,
    configFile: side.config?.file ?? resolved?.source?.file ?? null,
    scale: side.config?.scale?.name ?? resolved?.scale?.name ?? 'unknown',
    scaleNote: side.config?.scale?.note ?? resolved?.scale?.note ?? '',
    dataset,
    arch,
    method: split === 0 ? 'RS' : 'SPLITZ',
    sigma,
    split,
    theta_lip: resolved?.train?.theta_lip ?? null,
    gamma_train: resolved?.train?.gamma_train ?? null,
    bound: boundCol ?? st.bound ?? (split === 0 ? 'none' : 'unknown'),
    epochsPlanned: resolved?.train?.epochs ?? null,
    epochsTrained: trainLog ? epochs.length : null,
    images: records.length,
    imageSelection: selection,
    n: need(st.n, 'n'),
    n0: need(st.n0, 'n0'),
    alpha: need(st.alpha, 'alpha'),
    datasetVariant: `${DATASET_NAME[dataset]} test set (${selection === 'all' ? 'all images' : `${selection} image`}), ${arch ? archName(arch) : 'architecture unknown'}`,
    abstain: records.filter((r) => r.predict === -1).length,
    radii,
    certifiedAccuracy: main.certifiedAccuracy,
    acr: main.acr,
    curve: main.curve,
    otherRadii,
    trainSteps: stepCounts.length ? Math.max(...stepCounts) : null,
    trainImages: typeof runLine?.train_images === 'number' ? runLine.train_images : null,
    trainSecondsPerEpoch: secs.length ? secs.reduce((a, b) => a + b, 0) / secs.length : null,
    certifySecondsPerImage: records.reduce((a, r) => a + r.time, 0) / records.length,
    backend: lastRun?.backend ?? (runLine?.backend as string | undefined) ?? null,
    machine: describeMachine(lastRun?.machine ?? side.machine ?? runLine?.machine ?? (fs.existsSync(path.join(path.dirname(logFile), MACHINE_FILE)) ? readJson(path.join(path.dirname(logFile), MACHINE_FILE)) : undefined)),
    certifyLog: logFile,
    trainLog,
  };
}

/** Every certification log (with sidecar, not a shard) under `roots`, searched recursively. */
export function findCertifyLogs(roots: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 6 || !fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return;
    out.push(...certifyLogsIn(dir));
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      // Checkpoints hold no logs; skip them to stay fast.
      if (e.isDirectory() && !['best', 'checkpoint', 'node_modules'].includes(e.name)) walk(path.join(dir, e.name), depth + 1);
    }
  };
  for (const r of roots) walk(r, 0);
  return out;
}

/** Scales from most to least trustworthy: pickRuns's order for configs not run at the main scale, and mainScale's tie-break ('quick': the notebooks' own tiny runs). */
export const SCALE_PREFERENCE = ['paper', 'headline', 'reduced', 'quick', 'smoke'];

/** File beside a certification log holding {L, mode, ...}: the global Lipschitz bound of f_L of that run's checkpoint. */
export const GLOBAL_BOUND_FILE = 'global-lipschitz.json';

/** File beside a certification log describing the machine it ran on ({cpu, cores, platform}), when the logs do not. */
export const MACHINE_FILE = 'machine.json';

/**
 * The scale the tables compare at: the one most configs were run at (ties:
 * the most trustworthy, SCALE_PREFERENCE). Taking each config's own best
 * scale instead would set a 150-epoch headline run beside 12-epoch runs of
 * the other configs in one table.
 */
export function mainScale(runs: readonly RunSummary[]): string | undefined {
  const configs = new Map<string, Set<string>>();
  for (const r of runs) configs.set(r.scale, (configs.get(r.scale) ?? new Set()).add(r.config));
  const ranked = [...configs].sort(([sa, ca], [sb, cb]) => cb.size - ca.size || scaleRank(sa) - scaleRank(sb));
  return ranked[0]?.[0];
}

function scaleRank(s: string): number {
  return SCALE_PREFERENCE.includes(s) ? SCALE_PREFERENCE.indexOf(s) : SCALE_PREFERENCE.length;
}

/**
 * One summary per config. With `scale`, only runs of that scale. Without,
 * the main scale (mainScale) wherever a config was run at it, else that
 * config's most trustworthy scale (SCALE_PREFERENCE, then any other; e.g. a
 * notebook's quick run of a config no stored run covers). Within a scale:
 * the most images, then the largest n.
 */
export function pickRuns(runs: readonly RunSummary[], options: { scale?: string } = {}): RunSummary[] {
  const main = options.scale ?? mainScale(runs);
  const rank = (s: string) => (s === main ? -1 : scaleRank(s));
  const best = new Map<string, RunSummary>();
  for (const r of runs) {
    if (options.scale && r.scale !== options.scale) continue;
    const b = best.get(r.config);
    const better = !b || rank(r.scale) < rank(b.scale) || (rank(r.scale) === rank(b.scale) && (r.images > b.images || (r.images === b.images && r.n > b.n)));
    if (better) best.set(r.config, r);
  }
  return [...best.values()].sort((a, b) => a.config.localeCompare(b.config));
}

// ------------------------------------------------------------------ tables

export type Cell = string | number | null;
export type TableRow = Record<string, Cell>;

/** A rebuilt table: rows, their column order, a title and a caption naming the scale of our runs. */
export interface ReportTable {
  /** File name without extension, e.g. 'table_I_mnist'. */
  name: string;
  title: string;
  caption: string;
  columns: string[];
  rows: TableRow[];
  /** Our runs that gave a number to this table. */
  runs: RunSummary[];
}

const EPS_TOL = 1e-9;

/** Certified accuracy (fraction) of a run at radius eps, exactly from its step curve. */
export function accuracyAt(curve: AccuracyCurve, eps: number): number {
  // accuracy(eps) counts radius >= eps: the value at the smallest curve radius >= eps, 0 beyond the largest.
  for (let i = 0; i < curve.radius.length; i++) if (curve.radius[i] >= eps - EPS_TOL) return curve.accuracy[i];
  return 0;
}

/** Rounds for the table (the CSV keeps what the arithmetic gives; this only removes float noise). */
function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

function diff(ours: number | null, paper: number | null, digits: number): number | null {
  return ours === null || paper === null ? null : round(ours - paper, digits);
}

/** Short label of a run for tables: name and scale. */
export function runLabel(r: RunSummary): string {
  return `${r.config} (${r.scale})`;
}

function fmtInt(v: number): string {
  return v.toLocaleString('en-US');
}

/** " (160 steps on 10,240 images)" when the training log records them. */
function stepsText(r: RunSummary): string {
  if (r.trainSteps === null) return '';
  return ` (${fmtInt(r.trainSteps)} steps${r.trainImages !== null ? ` on ${fmtInt(r.trainImages)} training images` : ''})`;
}

/** One sentence per run: scale, epochs, images, n, bound (SPLITZ; an RS run has none), backend. */
export function describeRun(r: RunSummary): string {
  const epochs = r.epochsTrained !== null ? `${r.epochsTrained} epoch${r.epochsTrained === 1 ? '' : 's'}${stepsText(r)} trained${r.epochsPlanned !== null && r.epochsPlanned !== r.epochsTrained ? ` (${r.epochsPlanned} planned)` : ''}` : 'epochs unknown (no training log)';
  return `${r.config} at scale '${r.scale}': ${r.datasetVariant}, sigma = ${r.sigma}, ${epochs}, ${fmtInt(r.images)} test images certified, n = ${fmtInt(r.n)}, n0 = ${r.n0}, alpha = ${r.alpha}${r.bound === 'none' ? '' : `, ${r.bound} bound`}${r.backend ? `, ${r.backend} backend` : ''}`;
}

/** The caption's sentence about our runs. */
export function oursCaption(runs: readonly RunSummary[], missing: string): string {
  if (!runs.length) return `Ours: no run yet (${missing}); the 'ours' and 'difference' columns are empty.`;
  const scales = [...new Set(runs.map((r) => r.scale))];
  return `Ours (scale ${scales.map((s) => `'${s}'`).join(', ')}, NOT the paper's full runs unless the scale is 'paper'): ${runs.map(describeRun).join('; ')}.`;
}

/**
 * A figure subtitle stating the scale of our runs, one clause per distinct
 * (scale, architecture, epochs, images, n), e.g. "ours, scale 'reduced':
 * LeNet, 12 epochs, 500 test images (every 20th), n = 100,000 (4 runs)".
 */
export function scaleSubtitle(runs: readonly RunSummary[]): string {
  if (!runs.length) return 'no runs of ours yet: the paper\u2019s numbers only';
  const groups = new Map<string, number>();
  for (const r of runs) {
    const epochs = r.epochsTrained !== null ? `${r.epochsTrained} epoch${r.epochsTrained === 1 ? '' : 's'}${stepsText(r)}` : 'epochs unknown';
    const key = `scale '${r.scale}': ${r.arch ? archName(r.arch) : '?'}, ${epochs}, ${fmtInt(r.images)} test images (${r.imageSelection}), n = ${fmtInt(r.n)}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return `ours, ${[...groups].map(([k, c]) => `${k}${c > 1 ? ` (${c} runs)` : ''}`).join('; ')}`;
}

function matches(r: RunSummary, want: Partial<Pick<RunSummary, 'dataset' | 'method' | 'sigma' | 'split' | 'theta_lip' | 'gamma_train'>>): boolean {
  return (Object.keys(want) as (keyof typeof want)[]).every((k) => {
    const w = want[k];
    const v = r[k];
    return typeof w === 'number' && typeof v === 'number' ? Math.abs(w - v) < EPS_TOL : w === v;
  });
}

/** The one run with these settings; an error when two configs match (pick one scale per config first: pickRuns). */
function oneRun(runs: readonly RunSummary[], want: Parameters<typeof matches>[1], what: string): RunSummary | undefined {
  const m = runs.filter((r) => matches(r, want));
  if (m.length > 1) throw new RunSummaryError(`${what}: ${m.length} runs match (${m.map(runLabel).join(', ')}); pass one run per setting (pickRuns chooses one scale per config)`);
  return m[0];
}

/** Our best certified accuracy (percent) over runs at eps, and the run that gives it. */
function bestOver(runs: readonly RunSummary[], eps: number): { value: number; run: RunSummary } | null {
  let best: { value: number; run: RunSummary } | null = null;
  for (const r of runs) {
    const v = round(100 * accuracyAt(r.curve, eps), 2);
    if (!best || v > best.value) best = { value: v, run: r };
  }
  return best;
}

const ACC_COLUMNS = ['method', 'setting', 'eps', 'paper', 'ours', 'difference', 'our_run', 'paper_source'];

/**
 * Tables I and II: certified accuracy (%) at each eps of the table. The
 * paper reports, per method, the best over sigma (Sec. IV); ours is likewise
 * the best over our runs of that method and dataset, naming the run.
 */
function comparisonTable(table: 'I' | 'II', runs: readonly RunSummary[], lit: readonly AccuracyRow[]): ReportTable {
  const dataset: Dataset = table === 'I' ? 'mnist' : 'cifar10';
  const used = new Set<RunSummary>();
  const rows: TableRow[] = lit.map((l) => {
    const candidates = !l.extra_data && (l.method === 'SPLITZ' || l.method === 'RS') ? runs.filter((r) => r.dataset === dataset && r.method === l.method && (r.method === 'RS' || isReferenceSplitz(r))) : [];
    const best = bestOver(candidates, l.eps);
    if (best) used.add(best.run);
    return {
      method: l.method,
      setting: l.extra_data ? 'extra data' : 'best over sigma',
      eps: l.eps,
      paper: l.certified_accuracy,
      ours: best ? best.value : null,
      difference: diff(best ? best.value : null, l.certified_accuracy, 2),
      our_run: best ? `${runLabel(best.run)}, sigma = ${best.run.sigma}` : null,
      paper_source: l.source,
    };
  });
  const eps = [...new Set(lit.map((l) => l.eps))];
  const usedRuns = runs.filter((r) => used.has(r));
  const title =
    table === 'I'
      ? 'Table I: certified test accuracy (%) on MNIST under l2 perturbation'
      : 'Table II: approximate certified test accuracy (%) on CIFAR-10 under l2 perturbation';
  return {
    name: table === 'I' ? 'table_I_mnist' : 'table_II_cifar10',
    title,
    caption:
      `${title}, at eps in {${eps.join(', ')}} (l2 radius, pixels in [0, 1]). 'paper': the SPLITZ paper's Table ${table} (baselines as it quotes them from their papers, data/literature/). ` +
      `'ours': the best certified accuracy over our ${DATASET_NAME[dataset]} runs of the method (the paper likewise reports the best over sigma); difference = ours - paper (percentage points). ` +
      oursCaption(usedRuns, `configs/${dataset}-splitz-sigma*.json and ${dataset}-rs-sigma*.json`),
    columns: ACC_COLUMNS,
    rows,
    runs: usedRuns,
  };
}

export function tableI(runs: readonly RunSummary[], lit: readonly AccuracyRow[] = loadLiterature('I')): ReportTable {
  return comparisonTable('I', runs, lit);
}

export function tableII(runs: readonly RunSummary[], lit: readonly AccuracyRow[] = loadLiterature('II')): ReportTable {
  return comparisonTable('II', runs, lit);
}

/**
 * Table III: ACR per sigma, method and dataset. Ours: the run with exactly
 * that sigma. Our runs at a sigma the table lacks (MNIST 0.75) get rows with
 * an empty paper value.
 */
export function tableIII(runs: readonly RunSummary[], lit: readonly AcrRow[] = loadLiterature('III')): ReportTable {
  const used = new Set<RunSummary>();
  const rows: TableRow[] = lit.map((l) => {
    const r = l.method === 'SPLITZ' || l.method === 'RS' ? oneRun(runs, { dataset: l.dataset, method: l.method, sigma: l.sigma, ...(l.method === 'SPLITZ' ? { split: 1 } : {}), ...refSettings(l.method) }, `Table III ${l.method} ${l.dataset} sigma ${l.sigma}`) : undefined;
    if (r) used.add(r);
    const ours = r ? round(r.acr, 4) : null;
    return { sigma: l.sigma, method: l.method, dataset: l.dataset, paper: l.acr, ours, difference: diff(ours, l.acr, 4), our_run: r ? runLabel(r) : null, paper_source: l.source };
  });
  for (const r of runs) {
    if (used.has(r) || (r.method === 'SPLITZ' && !isReferenceSplitz(r))) continue;
    if (lit.some((l) => l.dataset === r.dataset && l.method === r.method && Math.abs(l.sigma - r.sigma) < EPS_TOL)) continue;
    used.add(r);
    rows.push({ sigma: r.sigma, method: r.method, dataset: r.dataset, paper: null, ours: round(r.acr, 4), difference: null, our_run: runLabel(r), paper_source: 'not in the paper (no ACR at this sigma)' });
  }
  const usedRuns = runs.filter((r) => used.has(r));
  const title = 'Table III: average certified radius (ACR) on MNIST and CIFAR-10';
  return {
    name: 'table_III_acr',
    title,
    caption:
      `${title}. ACR = mean over certified test images of radius * correct (l2, pixels in [0, 1]). 'paper': the SPLITZ paper's Table III ('*' entries reported by [12], [22]); ` +
      `'ours': our run at the same sigma; difference = ours - paper. ` +
      oursCaption(usedRuns, 'configs/*-splitz-sigma*.json and *-rs-sigma*.json'),
    columns: ['sigma', 'method', 'dataset', 'paper', 'ours', 'difference', 'our_run', 'paper_source'],
    rows,
    runs: usedRuns,
  };
}

/** The reference training settings of the ablations (Tables V-VII): Lip_theta 0.5, gamma 1. */
const REFERENCE = { theta_lip: 0.5, gamma_train: 1 };

function refSettings(method: string): Partial<Pick<RunSummary, 'theta_lip' | 'gamma_train'>> {
  return method === 'SPLITZ' ? { ...REFERENCE } : {};
}

function isReference(r: RunSummary): boolean {
  return matches(r, REFERENCE);
}

/** The reference SPLITZ configuration of the paper's main results: split 1, Lip_theta 0.5, gamma 1 (any sigma). */
export function isReferenceSplitz(r: RunSummary): boolean {
  return r.method === 'SPLITZ' && r.split === 1 && isReference(r);
}

/**
 * Table IV: training seconds per epoch and certification seconds per image.
 * Ours: the reference SPLITZ run of each dataset (split 1, Lip_theta 0.5,
 * gamma 1; sigma 0.75 on MNIST, else the first sigma we have), with the
 * backend and machine named.
 */
export function tableIV(runs: readonly RunSummary[], lit: readonly TimeRow[] = loadLiterature('IV')): ReportTable {
  const used: RunSummary[] = [];
  const rows: TableRow[] = [];
  for (const l of lit) {
    const cands = runs.filter((r) => matches(r, { dataset: l.dataset, method: 'SPLITZ', split: 1, ...REFERENCE }));
    const r = cands.find((c) => c.dataset === 'mnist' && Math.abs(c.sigma - 0.75) < EPS_TOL) ?? [...cands].sort((a, b) => a.sigma - b.sigma)[0];
    if (r) used.push(r);
    const hw = r ? `${r.backend ?? 'backend not recorded'} backend; ${r.machine ?? 'machine not recorded in the logs'}` : null;
    const setting = r ? `${r.arch ? archName(r.arch) : '?'}, sigma = ${r.sigma}, n = ${fmtInt(r.n)}` : null;
    const tr = r?.trainSecondsPerEpoch ?? null;
    const ce = r ? r.certifySecondsPerImage : null;
    rows.push(
      { dataset: l.dataset, quantity: 'training per epoch (s)', paper: l.train_seconds_per_epoch, ours: tr === null ? null : round(tr, 2), difference: diff(tr, l.train_seconds_per_epoch, 2), paper_setting: `${l.architecture}, ${l.hardware}`, our_setting: setting, our_hardware: hw, our_run: r ? runLabel(r) : null },
      { dataset: l.dataset, quantity: 'certifying per image (s)', paper: l.certify_seconds_per_image, ours: ce === null ? null : round(ce, 3), difference: diff(ce, l.certify_seconds_per_image, 3), paper_setting: `${l.architecture}, ${l.hardware}, n = 100,000`, our_setting: setting, our_hardware: hw, our_run: r ? runLabel(r) : null },
    );
  }
  const title = 'Table IV: SPLITZ training time per epoch and certification time per image';
  return {
    name: 'table_IV_time',
    title,
    caption:
      `${title} (seconds). 'paper': one Nvidia P100 GPU (the paper's Table IV). 'ours': the reference SPLITZ run of each dataset, mean wall seconds per epoch of the training log and mean seconds per image of the certification log (per worker; time grows with n); ` +
      `difference = ours - paper. The hardware differs, so the difference is not a like-for-like comparison. ` +
      oursCaption(used, 'configs/mnist-splitz-sigma0.75.json and cifar10-splitz-sigma*.json'),
    columns: ['dataset', 'quantity', 'paper', 'ours', 'difference', 'paper_setting', 'our_setting', 'our_hardware', 'our_run'],
    rows,
    runs: used,
  };
}

const PARAM_LABEL: Record<'split' | 'theta_lip' | 'gamma_train', (v: number) => string> = {
  split: (v) => `split after affine layer ${v}`,
  theta_lip: (v) => `Lip_theta = ${v}`,
  gamma_train: (v) => `gamma_train = ${v}`,
};

/** Tables V, VI, VII: SPLITZ on MNIST at sigma 0.75, one setting varied, the others at the reference. */
function ablationTable(table: 'V' | 'VI' | 'VII', runs: readonly RunSummary[], lit: readonly AccuracyRow[]): ReportTable {
  const param = ({ V: 'split', VI: 'theta_lip', VII: 'gamma_train' } as const)[table];
  const used = new Set<RunSummary>();
  const rows: TableRow[] = lit.map((l) => {
    if (l.param !== param || l.param_value === null || l.sigma === null) throw new RunSummaryError(`Table ${table} literature row without ${param} or sigma: ${JSON.stringify(l)}`);
    const want = { dataset: 'mnist' as const, method: 'SPLITZ' as const, sigma: l.sigma, split: 1, ...REFERENCE, [param]: l.param_value };
    const r = oneRun(runs, want, `Table ${table} ${param} = ${l.param_value}`);
    if (r) used.add(r);
    const ours = r ? round(100 * accuracyAt(r.curve, l.eps), 2) : null;
    return { setting: PARAM_LABEL[param](l.param_value), [param]: l.param_value, eps: l.eps, paper: l.certified_accuracy, ours, difference: diff(ours, l.certified_accuracy, 2), our_run: r ? runLabel(r) : null };
  });
  const what = { V: 'the splitting layer', VI: 'Lip_theta (the Lipschitz threshold of eq. 17)', VII: 'gamma_train (the size of the training ball around x)' }[table];
  const name = { V: 'table_V_split', VI: 'table_VI_theta_lip', VII: 'table_VII_gamma_train' }[table];
  const title = `Table ${table}: certified test accuracy (%) of SPLITZ on MNIST, sigma = 0.75, varying ${what}`;
  const usedRuns = runs.filter((r) => used.has(r));
  return {
    name,
    title,
    caption:
      `${title}. Other settings at the reference (split 1, Lip_theta 0.5, gamma_train 1). eps: l2 radius, pixels in [0, 1]. 'paper': the SPLITZ paper's Table ${table}; ` +
      `difference = ours - paper (percentage points). ` +
      oursCaption(usedRuns, `configs/mnist-splitz-sigma0.75*.json`),
    columns: ['setting', param, 'eps', 'paper', 'ours', 'difference', 'our_run'],
    rows,
    runs: usedRuns,
  };
}

export function tableV(runs: readonly RunSummary[], lit: readonly AccuracyRow[] = loadLiterature('V')): ReportTable {
  return ablationTable('V', runs, lit);
}

export function tableVI(runs: readonly RunSummary[], lit: readonly AccuracyRow[] = loadLiterature('VI')): ReportTable {
  return ablationTable('VI', runs, lit);
}

export function tableVII(runs: readonly RunSummary[], lit: readonly AccuracyRow[] = loadLiterature('VII')): ReportTable {
  return ablationTable('VII', runs, lit);
}

/**
 * Beyond the paper: certified accuracy with the sound Lipschitz bound (the
 * `radius` column when bound = sound) beside the paper's power-iteration
 * bound (`radius_paper`, logged with certify.bound = both). The paper's
 * bound is a lower estimate of the spectral norm, so its radii are not
 * proven (METHOD.md); difference = paper bound - sound.
 */
export function tableBounds(runs: readonly RunSummary[], radii: readonly number[] = DEFAULT_RADII): ReportTable {
  const used = runs.filter((r) => r.bound === 'sound' && r.otherRadii.paper);
  const rows: TableRow[] = [];
  for (const r of used) {
    const p = r.otherRadii.paper;
    for (const eps of radii) {
      const sound = round(100 * accuracyAt(r.curve, eps), 2);
      const paper = round(100 * accuracyAt(p.curve, eps), 2);
      rows.push({ run: runLabel(r), sigma: r.sigma, eps, sound_bound: sound, paper_bound: paper, difference: round(paper - sound, 2) });
    }
    rows.push({ run: runLabel(r), sigma: r.sigma, eps: 'ACR', sound_bound: round(r.acr, 4), paper_bound: round(p.acr, 4), difference: round(p.acr - r.acr, 4) });
  }
  const title = "Beyond the paper: certified accuracy (%) with the sound vs the paper's (power-iteration) Lipschitz bound";
  return {
    name: 'table_bounds_sound_vs_paper',
    title,
    caption:
      `${title}. Same runs, same noise samples; only the bound on L(x, gamma) differs. The paper's power iteration under-estimates spectral norms, so its radii are not certified; difference = paper bound - sound (percentage points; ACR rows in l2 radius). ` +
      oursCaption(used, 'certify with bound = both'),
    columns: ['run', 'sigma', 'eps', 'sound_bound', 'paper_bound', 'difference'],
    rows,
    runs: used,
  };
}

/** The scale of the headline pair: the paper's full training schedule on the configs that have it (MNIST, sigma HEADLINE_SIGMA). */
export const HEADLINE_SCALE = 'headline';

/** The noise level of the headline pair (configs/mnist-{splitz,rs}-sigma0.75.json). */
export const HEADLINE_SIGMA = 0.75;

/** The paper's reference SPLITZ row at sigma = 0.75 (split 1, Lip_theta 0.5, gamma_train 1), as Table V prints it; Tables VI and VII repeat it. */
export function paperReferenceRow(lit: readonly AccuracyRow[] = loadLiterature('V')): AccuracyRow[] {
  return lit.filter((l) => l.param === 'split' && l.param_value === 1 && l.sigma === HEADLINE_SIGMA);
}

/** Every radius column of a run: its own (`bound`) and each other bound it logged (`radius_paper`, `radius_global`), as accuracy curves. */
export function boundCurves(r: RunSummary): Array<{ bound: string; curve: AccuracyCurve }> {
  return [{ bound: r.bound, curve: r.curve }, ...Object.entries(r.otherRadii).map(([bound, s]) => ({ bound, curve: s.curve }))];
}

/** The headline pair among runs of every scale: the reference SPLITZ and the RS run on MNIST at sigma 0.75, scale 'headline' (either may be missing). */
export function headlinePair(runs: readonly RunSummary[]): { splitz?: RunSummary; rs?: RunSummary } {
  const headline = pickRuns(runs, { scale: HEADLINE_SCALE });
  const find = (method: 'SPLITZ' | 'RS') => oneRun(headline, { dataset: 'mnist', method, sigma: HEADLINE_SIGMA, ...(method === 'SPLITZ' ? { split: 1 } : {}), ...refSettings(method) }, `headline ${method}`);
  return { splitz: find('SPLITZ'), rs: find('RS') };
}

/**
 * The headline pair: SPLITZ (reference settings) and RS on MNIST at sigma
 * 0.75, trained on the paper's full schedule (scale 'headline'), at each
 * eps of DEFAULT_RADII and as ACR. Takes runs of every scale and keeps the
 * headline ones, so it stands beside the main-scale tables instead of mixing
 * into them. 'paper': the sigma = 0.75 reference row of Tables V-VII (the
 * paper prints no per-eps RS numbers and no ACR at sigma 0.75); SPLITZ rows
 * also give the radius with the paper's power-iteration bound when logged.
 */
export function tableHeadline(runs: readonly RunSummary[], lit: readonly AccuracyRow[] = loadLiterature('V'), radii: readonly number[] = DEFAULT_RADII): ReportTable {
  const { splitz, rs } = headlinePair(runs);
  const pair = [
    { method: 'SPLITZ', run: splitz },
    { method: 'RS', run: rs },
  ];
  const reference = paperReferenceRow(lit);
  const paperAt = (eps: number) => reference.find((l) => Math.abs(l.eps - eps) < EPS_TOL)?.certified_accuracy ?? null;
  const rows: TableRow[] = [];
  for (const eps of radii) {
    for (const { method, run } of pair) {
      const ours = run ? round(100 * accuracyAt(run.curve, eps), 2) : null;
      const paper = method === 'SPLITZ' ? paperAt(eps) : null;
      const other = run?.otherRadii.paper;
      rows.push({ eps, method, paper, ours, difference: diff(ours, paper, 2), ours_paper_bound: other ? round(100 * accuracyAt(other.curve, eps), 2) : null, our_run: run ? runLabel(run) : null });
    }
  }
  for (const { method, run } of pair) {
    const other = run?.otherRadii.paper;
    rows.push({ eps: 'ACR', method, paper: null, ours: run ? round(run.acr, 4) : null, difference: null, ours_paper_bound: other ? round(other.acr, 4) : null, our_run: run ? runLabel(run) : null });
  }
  const used = pair.flatMap((p) => (p.run ? [p.run] : []));
  const title = "The headline pair: SPLITZ vs RS on MNIST at sigma = 0.75, the paper's full training schedule";
  return {
    name: 'table_headline_mnist_sigma0.75',
    title,
    caption:
      `${title}: certified test accuracy (%) at each eps (l2 radius, pixels in [0, 1]) and ACR. 'paper': the SPLITZ paper's sigma = 0.75 reference row of Tables V-VII (split 1, Lip_theta 0.5, gamma_train 1); the paper prints no RS numbers and no ACR at this sigma. ` +
      `'ours': radii with the bound each run certified with (named below; RS has none); 'ours_paper_bound': SPLITZ's radii from the same noise samples with the paper's power-iteration bound; difference = ours - paper (percentage points). ` +
      oursCaption(used, `configs/mnist-splitz-sigma0.75.json and mnist-rs-sigma0.75.json at scale '${HEADLINE_SCALE}'`),
    columns: ['eps', 'method', 'paper', 'ours', 'difference', 'ours_paper_bound', 'our_run'],
    rows,
    runs: used,
  };
}

/** Every table of the paper (I-VII) and the bound comparison, from the same runs. */
export function allTables(runs: readonly RunSummary[]): ReportTable[] {
  return [tableI(runs), tableII(runs), tableIII(runs), tableIV(runs), tableV(runs), tableVI(runs), tableVII(runs), tableBounds(runs)];
}

type DanfoModule = typeof import('danfojs-node');
let danfo: DanfoModule | undefined;

/**
 * A danfojs-node DataFrame of a table's rows (columns in the table's order).
 * danfojs-node is loaded on the first call (a few seconds: it brings its own
 * tfjs); empty cells become NaN in numeric columns, as in pandas.
 */
export function toDataFrame(table: ReportTable | { columns: string[]; rows: TableRow[] }): DataFrame {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  danfo ??= require('danfojs-node') as DanfoModule;
  if (!table.rows.length) return new danfo.DataFrame([], { columns: table.columns });
  const data = table.rows.map((r) => table.columns.map((c) => r[c] ?? null));
  return new danfo.DataFrame(data, { columns: table.columns });
}
