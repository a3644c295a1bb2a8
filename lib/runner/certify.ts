/**
 * `splitz certify`: per-image certification records of a trained model
 * (lib/eval's TSV log, Cohen's columns first), resumable, shardable and
 * parallel.
 *
 *  - Resume: the log is append-only; a killed run is continued with
 *    --resume at the first image of the selection that has no record (a
 *    partial last line, from a kill mid-write, is discarded first).
 *  - Shards: --shard i/N certifies the images at positions p of the selection
 *    with p % N == i; `splitz merge` joins the shard logs.
 *  - Workers: --workers K certifies on K pool threads (lib/parallel), each
 *    with its own backend; records are written in selection order, so the log
 *    equals a one-worker log except for the time column, because the noise
 *    of image idx depends only on (seed, idx, phase, j).
 *  - Sidecar <log>.json: config, scale, checkpoint, settings, seeds, and per
 *    invocation the command line and backend. A resumed log must have the
 *    same settings and checkpoint.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { ExperimentConfig, ImageSelection, loadConfig, selectImages } from '../config';
import { CertifyRecord, appendRecord, completeLinesLength, readCertifyLog } from '../eval/log';
import { checkpointExists, loadCheckpoint } from '../io/checkpoint';
import type { BackendName } from '../backend';
import { CERTIFY_NOISE_GENERATOR } from '../smoothing/philox';
import { CertifySettings, certifyColumns, certifyImage, certifySettingsOf, openCertifyContext } from './certify-core';
import { RunnerError, archOptionsOf, defaultRunDir, loadDataset, writeFileAtomic } from './common';
import { runCheckpointDir } from './train';
import { certifyLogName } from './files';

export interface CertifyRunOptions {
  /** Scale of a config target (default 'paper'). */
  scale?: string;
  /** Checkpoint directory to use with a config target (default: the run's best/, else its last checkpoint). */
  checkpoint?: string;
  /** 'all', 'every:K[:OFFSET]', 'first:N', 'list:I,J,...' or 'I,J,...' (default: the config's certify.images). */
  images?: string;
  n?: number;
  n0?: number;
  alpha?: number;
  batch?: number;
  bound?: 'sound' | 'paper' | 'both';
  gammaSearch?: 'binary' | 'fixedpoint' | 'onestep' | 'grid';
  seed?: number;
  workers?: number;
  /** 'i/N'. */
  shard?: string;
  /** Log path (default <run dir>/certify-n<n>[-shard<i>of<N>].tsv). */
  out?: string;
  resume?: boolean;
  commandLine?: string;
  onStart?(info: { out: string; total: number; done: number; todo: number; checkpoint: string; settings: CertifySettings; workers: number }): void;
  /** After each record is on disk. Throwing aborts the run (tests simulate kills this way). */
  onRecord?(rec: CertifyRecord, done: number, total: number): void;
}

export interface CertifyRunResult {
  out: string;
  sidecar: string;
  /** Every record of the log after the run (including earlier ones of a resumed log). */
  records: CertifyRecord[];
  certified: number;
  seconds: number;
}

/** Parses --images. */
export function parseImages(spec: string): ImageSelection {
  const s = spec.trim();
  if (s === 'all') return 'all';
  let m = /^every:(\d+)(?::(\d+))?$/.exec(s);
  if (m) {
    const every = Number(m[1]);
    if (every < 1) throw new RunnerError(`--images ${spec}: every:K needs K >= 1`);
    return m[2] !== undefined ? { every, offset: Number(m[2]) } : { every };
  }
  m = /^first:(\d+)$/.exec(s);
  if (m) {
    if (Number(m[1]) < 1) throw new RunnerError(`--images ${spec}: first:N needs N >= 1`);
    return { first: Number(m[1]) };
  }
  m = /^(?:list:)?(\d+(?:,\d+)*)$/.exec(s);
  if (m) return { list: m[1].split(',').map(Number) };
  throw new RunnerError(`--images '${spec}' is not understood; use all, every:K[:OFFSET], first:N, list:I,J,... or I,J,...`);
}

/** Parses --shard i/N. */
export function parseShard(spec: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new RunnerError(`--shard '${spec}' must be i/N with 0 <= i < N, e.g. 0/2`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

/** The config and checkpoint a certify target names: a config file, a run directory, or a checkpoint directory. */
export async function resolveTarget(target: string, scale?: string, checkpoint?: string): Promise<{ config: ExperimentConfig; checkpoint: string }> {
  const p = path.resolve(target);
  if (!fs.existsSync(p)) throw new RunnerError(`${p} not found: give an experiment config (configs/*.json), a run directory or a checkpoint directory`);
  let config: ExperimentConfig;
  let ckDir: string;
  const isCheckpointFile = fs.statSync(p).isFile() && ['meta.json', 'model.json'].includes(path.basename(p));
  if (fs.statSync(p).isDirectory() || isCheckpointFile) {
    const dir = isCheckpointFile ? path.dirname(p) : p;
    if (checkpointExists(dir)) ckDir = dir;
    else {
      const run = runCheckpointDir(dir);
      if (!run) throw new RunnerError(`${dir} is neither a checkpoint (model.json, weights.bin, meta.json) nor a run directory with best/ or checkpoint/`);
      ckDir = run.dir;
    }
    const meta = JSON.parse(fs.readFileSync(path.join(ckDir, 'meta.json'), 'utf8')) as { config?: ExperimentConfig };
    if (!meta.config) throw new RunnerError(`${ckDir}/meta.json holds no experiment config; certify it through its config file instead (splitz certify CONFIG --checkpoint ${ckDir})`);
    config = meta.config;
  } else {
    config = loadConfig(p, { scale });
    if (checkpoint) {
      // A run directory stands for its best (else last) checkpoint.
      const c = path.resolve(checkpoint);
      ckDir = checkpointExists(c) ? c : (runCheckpointDir(c)?.dir ?? c);
    } else {
      const runDir = path.resolve(defaultRunDir(config));
      const run = runCheckpointDir(runDir);
      if (!run) {
        throw new RunnerError(`no checkpoint for ${config.name} at scale '${config.scale.name}' in ${runDir}: train it first (splitz train ${target} --scale ${config.scale.name}) or pass --checkpoint DIR`);
      }
      ckDir = run.dir;
    }
  }
  // Missing files and a different architecture are CheckpointErrors with the details.
  const ck = await loadCheckpoint(ckDir, { expectArch: { arch: config.arch, options: archOptionsOf(config) } });
  ck.model.dispose();
  return { config, checkpoint: ckDir };
}

/** Drops a partial last line (a kill mid-append) so appends start on a fresh line. */
export function repairPartialLine(file: string): boolean {
  if (!fs.existsSync(file)) return false;
  const buf = fs.readFileSync(file);
  const keep = completeLinesLength(buf);
  if (keep === buf.length) return false;
  fs.truncateSync(file, keep);
  return true;
}

interface Sidecar {
  format: 'splitz-certify-log';
  config: { file: string; name: string; scale: ExperimentConfig['scale'] };
  checkpoint: { dir: string; epoch: unknown; which: unknown };
  settings: CertifySettings;
  images: { selection: ImageSelection; shard: string | null; total: number };
  seeds: { noise: number; note: string; noise_generator?: string };
  /** noise_generator: absent in logs written before it was recorded (those used sfc32 + polar, lib/smoothing/noise.ts). */
  runs: Array<{ started: string; command: string | null; backend: string; workers: number; resumed: boolean; images_before?: number; noise_generator?: string }>;
}

function settingsKey(s: CertifySettings): string {
  const keys = Object.keys(s).sort() as (keyof CertifySettings)[];
  return JSON.stringify(keys.map((k) => [k, s[k]]));
}

/** Certifies the selected images of a trained model into a TSV log. */
export async function runCertify(target: string, options: CertifyRunOptions = {}): Promise<CertifyRunResult> {
  const t0 = Date.now();
  const { config, checkpoint } = await resolveTarget(target, options.scale, options.checkpoint);
  const settings = certifySettingsOf(config, { n: options.n, n0: options.n0, alpha: options.alpha, batch_size: options.batch, bound: options.bound, gamma_search: options.gammaSearch, seed: options.seed });
  for (const [k, v] of Object.entries({ n: settings.n, n0: settings.n0, batch: settings.batch_size })) {
    if (!Number.isInteger(v) || v < 1) throw new RunnerError(`--${k} must be a positive integer, got ${v}`);
  }
  if (!(settings.alpha > 0 && settings.alpha < 0.5)) throw new RunnerError(`--alpha must be in (0, 0.5), got ${settings.alpha}`);
  if (!['sound', 'paper', 'both'].includes(settings.bound)) throw new RunnerError(`--bound must be sound, paper or both, got '${settings.bound}'`);
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new RunnerError(`--workers must be a positive integer, got ${options.workers}`);
  const shard = options.shard ? parseShard(options.shard) : undefined;
  const selection = options.images ? parseImages(options.images) : config.certify.images;

  // The selection needs the test-set size; the main thread certifies with it too when workers = 1.
  const ctx = workers === 1 ? await openCertifyContext(checkpoint, config.dataset, settings, 'auto') : undefined;
  const testN = ctx ? ctx.test.n : (await loadDataset(config.dataset, 'test')).n;
  let all: number[];
  try {
    all = selectImages(selection, testN);
  } catch (e) {
    throw new RunnerError((e as Error).message);
  }
  const mine = shard ? all.filter((_, p) => p % shard.count === shard.index) : all;

  const runDir = path.dirname(checkpoint);
  const out = path.resolve(options.out ?? path.join(runDir, certifyLogName(settings.n, shard ?? undefined)));
  const sidecarFile = `${out}.json`;
  const columns = certifyColumns(settings);
  const exists = fs.existsSync(out) && fs.statSync(out).size > 0;
  const done = new Set<number>();
  let sidecar: Sidecar | undefined;
  if (exists) {
    if (!options.resume) throw new RunnerError(`${out} already exists; pass --resume to continue it, or --out FILE for a new log`);
    repairPartialLine(out);
    if (fs.existsSync(sidecarFile)) {
      sidecar = JSON.parse(fs.readFileSync(sidecarFile, 'utf8')) as Sidecar;
      if (settingsKey(sidecar.settings) !== settingsKey(settings)) {
        throw new RunnerError(`${out} was written with settings ${JSON.stringify(sidecar.settings)}, not ${JSON.stringify(settings)}; resume with the same options or write a new log (--out)`);
      }
      if (path.resolve(sidecar.checkpoint.dir) !== checkpoint) throw new RunnerError(`${out} certifies checkpoint ${sidecar.checkpoint.dir}, not ${checkpoint}; use --out for a new log`);
    }
    if (fs.statSync(out).size > 0) {
      const log = readCertifyLog(out);
      if (log.columns.join('\t') !== columns.join('\t')) throw new RunnerError(`${out} has columns ${log.columns.join(', ')}, this run writes ${columns.join(', ')}; use --out for a new log`);
      const wanted = new Set(mine);
      for (const r of log.records) {
        if (!wanted.has(r.idx)) throw new RunnerError(`${out} holds image ${r.idx}, which is not in this run's selection${shard ? ` (shard ${options.shard})` : ''}; resume with the same --images/--shard, or use --out`);
        if (done.has(r.idx)) throw new RunnerError(`${out} holds image ${r.idx} twice`);
        done.add(r.idx);
      }
    }
  }
  const todo = mine.filter((i) => !done.has(i));
  const meta = JSON.parse(fs.readFileSync(path.join(checkpoint, 'meta.json'), 'utf8')) as { epoch?: unknown; best?: unknown };
  const backend = tf.getBackend();
  const runInfo = { started: new Date().toISOString(), command: options.commandLine ?? null, backend, workers, resumed: exists, images_before: done.size, noise_generator: CERTIFY_NOISE_GENERATOR };
  // A log resumed by another noise generator holds images of both (each image's draws come from one); say so.
  const earlier = sidecar?.seeds.noise_generator ?? 'sfc32 + polar (lib/smoothing/noise.ts GaussianStream, before the generator was recorded)';
  sidecar = sidecar
    ? {
        ...sidecar,
        seeds: earlier.includes(CERTIFY_NOISE_GENERATOR) ? sidecar.seeds : { ...sidecar.seeds, noise_generator: `${earlier}; then ${CERTIFY_NOISE_GENERATOR} (see runs)` },
        runs: [...sidecar.runs, runInfo],
      }
    : {
        format: 'splitz-certify-log',
        config: { file: config.source.file, name: config.name, scale: config.scale },
        checkpoint: { dir: checkpoint, epoch: meta.epoch ?? null, which: meta.best ? 'best' : 'last' },
        settings,
        images: { selection, shard: options.shard ?? null, total: all.length },
        seeds: { noise: settings.seed, note: 'value k of the noise of sample j of image idx in phase p depends only on (seed, idx, p, j, k): lib/smoothing/noise.ts', noise_generator: CERTIFY_NOISE_GENERATOR },
        runs: [runInfo],
      };
  writeFileAtomic(sidecarFile, JSON.stringify(sidecar, null, 2) + '\n');
  options.onStart?.({ out, total: mine.length, done: done.size, todo: todo.length, checkpoint, settings, workers });

  let count = done.size;
  const write = (rec: CertifyRecord) => {
    appendRecord(out, rec, { columns });
    count++;
    options.onRecord?.(rec, count, mine.length);
  };
  if (ctx) {
    try {
      for (const idx of todo) write(await certifyImage(ctx, idx));
    } finally {
      ctx.model.dispose();
    }
  } else if (todo.length) {
    const { createPool } = await import('../parallel');
    const { OPEN_TASK, IMAGE_TASK } = await import('./certify-tasks');
    const entry = path.join(__dirname, `certify-tasks${path.extname(__filename)}`);
    const pool = await createPool({ workers, entry, backend: backend as BackendName });
    try {
      await pool.broadcast(OPEN_TASK, { checkpoint, dataset: config.dataset, settings });
      // All images are queued at once (free workers take the next); records are written in selection order.
      const pending = todo.map((idx) => pool.run<CertifyRecord>(IMAGE_TASK, idx));
      pending.forEach((p) => p.catch(() => undefined)); // failures surface in order below
      for (const p of pending) write(await p);
    } finally {
      await pool.close();
    }
  }
  const records = fs.existsSync(out) && fs.statSync(out).size > 0 ? readCertifyLog(out).records : [];
  return { out, sidecar: sidecarFile, records, certified: todo.length, seconds: (Date.now() - t0) / 1000 };
}
