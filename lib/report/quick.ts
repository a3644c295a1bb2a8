/**
 * Quick mode of the notebooks: small, honest runs made with the same config
 * files and the same `splitz train` / `splitz certify` commands as the long
 * runs, at a scale named 'quick' that the notebook declares (its note says
 * what was shortened), so every table and figure can label them.
 *
 *  - `runScale()`: 'quick' (default) or 'full', from SPLITZ_SCALE.
 *  - `ensureQuickRuns(specs)`: for each spec, writes a derived config
 *    (the file under configs/ plus `scales.quick`) to runs/quick/configs/,
 *    then trains and certifies it in runs/quick/<config name>/ with the CLI
 *    in child processes, two at a time on a 2-core machine. A run already on
 *    disk with the same settings is reused; a config with stored results in
 *    data/results is not run again (the stored run is the better one).
 *  - `ourRuns(scale)`: the run summaries the tables use, one per config
 *    (pickRuns: the scale most configs ran at, else the config's most
 *    trustworthy one): quick mode reads data/results and runs/quick, full
 *    mode data/results only. `allOurRuns(scale)`: every run of those roots,
 *    each scale (the headline pair's table takes its own scale from these).
 *
 * Nothing here trains a long run: the notebooks call it with a few hundred
 * steps per run.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { resolveConfig, ExperimentConfig } from '../config';
import { projectRoot } from '../data/files';
import { trainingIdentity } from '../runner/common';
import { certifySettingsOf } from '../runner/certify-core';
import { certifyLogName } from '../runner/files';
import { LogFormatError, readCertifyLog } from '../eval/log';
import { MACHINE_FILE, RunSummary, findCertifyLogs, pickRuns, summarizeRun } from './tables';

export type RunScale = 'quick' | 'full';

/** The scale the notebooks run at: SPLITZ_SCALE (or `requested`), 'quick' by default. */
export function runScale(requested?: string): RunScale {
  const s = (requested ?? process.env.SPLITZ_SCALE ?? 'quick').trim().toLowerCase();
  if (s !== 'quick' && s !== 'full') throw new Error(`SPLITZ_SCALE must be 'quick' or 'full', got '${s}'`);
  return s;
}

/** Where the quick runs live: <project>/runs/quick. */
export function quickRoot(): string {
  return path.join(projectRoot(), 'runs', 'quick');
}

/** Where stored long-run results live: <project>/data/results. */
export function resultsRoot(): string {
  return path.join(projectRoot(), 'data', 'results');
}

/** One quick run: a config file of configs/ and what the quick scale changes in it. */
export interface QuickSpec {
  /** Config name, e.g. 'mnist-splitz-sigma0.75' (configs/<config>.json). */
  config: string;
  /** Why and how the run is shortened: recorded as the scale's note in every log. */
  note: string;
  /** Overrides merged into the config like any scale (arch, arch_options, train.*, certify.*). */
  overrides: Record<string, unknown>;
}

/** The quick scale of the MNIST configs: LeNet, 120 steps, 20 test images, n = 1,000. */
export const MNIST_QUICK: Omit<QuickSpec, 'config'> = {
  note:
    "Notebook quick run, NOT the paper's: 1 epoch = 120 Adam steps (batch 64) on 7,680 MNIST training images at the paper's starting lr (0.001) and lambda, " +
    'no early-stopping extension (one held-out check on 1,000 images); 20 test images (every 500th), n = 1,000 (n0 = 100, alpha = 0.001). Shows the pipeline and trends only.',
  overrides: {
    train: { epochs: 1, schedule_mode: 'compress', extra_epochs: 0, subset: 7680, holdout: 1000, batch_size: 64 },
    certify: { images: { every: 500 }, n: 1000 },
  },
};

/** The quick scale of the CIFAR-10 configs: ResNet-20 at width 0.5, 100 steps, 20 test images, n = 500. */
export const CIFAR10_QUICK: Omit<QuickSpec, 'config'> = {
  note:
    "Notebook quick run, NOT the paper's: ResNet-20 at width 0.5 (8/16/32 channels) instead of ResNet-110, 1 epoch = 100 Adam steps (batch 64) on 6,400 CIFAR-10 training images, " +
    'no early-stopping extension (held-out check on 500 images); 20 test images (every 500th), n = 500 (n0 = 100, alpha = 0.001). Shows the pipeline only.',
  overrides: {
    arch: 'resnet20',
    arch_options: { width: 0.5 },
    train: { epochs: 1, schedule_mode: 'compress', extra_epochs: 0, subset: 6400, holdout: 500, batch_size: 64 },
    certify: { images: { every: 500 }, n: 500, batch_size: 500 },
  },
};

/** The quick spec of a config of configs/ (by its dataset prefix). */
export function quickSpec(config: string): QuickSpec {
  if (config.startsWith('mnist-')) return { config, ...MNIST_QUICK };
  if (config.startsWith('cifar10-')) return { config, ...CIFAR10_QUICK };
  throw new Error(`quickSpec: '${config}' is not an mnist-* or cifar10-* config of configs/`);
}

/** The machine, written beside the logs of a quick run (Table IV names it). */
export function machineInfo(): { cpu: string; cores: number; platform: string; node: string } {
  const cpus = os.cpus();
  return { cpu: cpus[0]?.model?.trim() ?? 'unknown CPU', cores: cpus.length, platform: `${os.platform()} ${os.arch()}`, node: process.version };
}

export interface QuickRunStatus {
  config: string;
  /** 'stored': data/results already has this config, nothing was run. */
  source: 'stored' | 'quick';
  runDir: string | null;
  trained: 'now' | 'reused' | 'no';
  certified: 'now' | 'reused' | 'no';
  trainSeconds: number;
  certifySeconds: number;
  log: string | null;
}

/** Writes runs/quick/configs/<name>.json: the config file with `scales.quick` added. Returns its path and the resolved config. */
export function writeQuickConfig(spec: QuickSpec, root = quickRoot()): { file: string; config: ExperimentConfig } {
  const src = path.join(projectRoot(), 'configs', `${spec.config}.json`);
  if (!fs.existsSync(src)) throw new Error(`quick run '${spec.config}': ${src} not found (give the name of a file in configs/ without .json)`);
  const raw = JSON.parse(fs.readFileSync(src, 'utf8')) as Record<string, unknown> & { scales: Record<string, unknown>; notes?: string[] };
  raw.scales = { ...raw.scales, quick: { note: spec.note, ...spec.overrides } };
  raw.notes = [...(raw.notes ?? []), `Derived from configs/${spec.config}.json by a notebook (lib/report/quick.ts): scale 'quick' added.`];
  const file = path.join(root, 'configs', `${spec.config}.json`);
  const config = resolveConfig(raw, file, { scale: 'quick' });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(raw, null, 2) + '\n');
  return { file, config };
}

/** Config names that have a certification log in data/results (the stored long runs). */
export function storedConfigs(root = resultsRoot()): Map<string, RunSummary> {
  const out = new Map<string, RunSummary>();
  for (const r of pickRuns(findCertifyLogs([root]).flatMap((f) => safeSummary(f)))) out.set(r.config, r);
  return out;
}

function safeSummary(file: string): RunSummary[] {
  try {
    return [summarizeRun(file)];
  } catch {
    return [];
  }
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The CLI in a child process (one backend per process, so two runs use both cores). */
function splitz(args: string[], log: (line: string) => void): Promise<number> {
  const bin = path.join(projectRoot(), 'bin', 'splitz.js');
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: projectRoot(), env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve((Date.now() - t0) / 1000);
      else {
        const tail = out.split('\n').filter((l) => l.trim() && !/^Warn|tensorflow\/tfjs-node|^={5,}|^Hi there/.test(l)).slice(-8).join('\n');
        log(`splitz ${args.join(' ')} failed (exit ${code}):\n${tail}`);
        reject(new Error(`splitz ${args[0]} ${path.basename(args[1] ?? '')} failed (exit ${code}): ${tail.split('\n').pop()}`));
      }
    });
  });
}

/**
 * Whether `logFile` is a finished certification with these settings and this
 * image selection: its sidecar says so, and it holds as many whole records as
 * the sidecar's image total. A torn last line (a run killed mid-write) is not a
 * record, so such a log is certified again rather than reused short.
 */
export function certificationComplete(logFile: string, settings: object, selection: unknown): boolean {
  const side = readJson<{ settings?: unknown; images?: { selection?: unknown; total?: number } }>(`${logFile}.json`);
  if (side === undefined || !fs.existsSync(logFile)) return false;
  if (JSON.stringify(side.settings) !== JSON.stringify(settings) || JSON.stringify(side.images?.selection) !== JSON.stringify(selection)) return false;
  let records: number;
  try {
    records = readCertifyLog(logFile, { partialLastLine: 'drop' }).records.length;
  } catch (e) {
    if (e instanceof LogFormatError) return false; // unreadable: certify again
    throw e;
  }
  return records === side.images?.total;
}

async function oneRun(spec: QuickSpec, root: string, log: (line: string) => void): Promise<QuickRunStatus> {
  const { file, config } = writeQuickConfig(spec, root);
  const runDir = path.join(root, config.name);
  const status: QuickRunStatus = { config: config.name, source: 'quick', runDir, trained: 'no', certified: 'no', trainSeconds: 0, certifySeconds: 0, log: null };

  // Training: reuse a finished run with the same training settings, else start afresh.
  const meta = readJson<{ config?: ExperimentConfig }>(path.join(runDir, 'best', 'meta.json'));
  const finished = meta?.config && trainingIdentity(meta.config) === trainingIdentity(config) && fs.existsSync(path.join(runDir, 'checkpoint', 'meta.json'));
  if (finished) status.trained = 'reused';
  else {
    fs.rmSync(runDir, { recursive: true, force: true });
    status.trainSeconds = await splitz(['train', file, '--scale', 'quick', '--out', runDir, '--no-progress'], log);
    status.trained = 'now';
  }

  // Certification: reuse a complete log with the same settings and images.
  const settings = certifySettingsOf(config);
  const logFile = path.join(runDir, certifyLogName(settings.n));
  if (status.trained === 'reused' && certificationComplete(logFile, settings, config.certify.images)) status.certified = 'reused';
  else {
    fs.rmSync(logFile, { force: true });
    fs.rmSync(`${logFile}.json`, { force: true });
    status.certifySeconds = await splitz(['certify', runDir, '--no-progress'], log);
    status.certified = 'now';
  }
  status.log = logFile;
  fs.writeFileSync(path.join(runDir, MACHINE_FILE), JSON.stringify(machineInfo(), null, 2) + '\n');
  return status;
}

export interface EnsureOptions {
  /** Default runs/quick. */
  root?: string;
  /** Runs at the same time (child processes). Default: min(2, CPU cores). */
  parallel?: number;
  /** Progress lines (default console.log). */
  log?: (line: string) => void;
  /** Skip configs with stored results in data/results (default true). */
  useStored?: boolean;
}

/**
 * Trains and certifies every spec at scale 'quick' (or reuses what is on
 * disk), `parallel` at a time; prints one line per run.
 */
export async function ensureQuickRuns(specs: readonly QuickSpec[], options: EnsureOptions = {}): Promise<QuickRunStatus[]> {
  const root = options.root ?? quickRoot();
  const log = options.log ?? ((l: string) => console.log(l));
  const parallel = Math.max(1, options.parallel ?? Math.min(2, os.cpus().length));
  const stored = options.useStored === false ? new Map<string, RunSummary>() : storedConfigs();
  const results: QuickRunStatus[] = new Array(specs.length);
  let next = 0;
  const worker = async () => {
    while (next < specs.length) {
      const i = next++;
      const spec = specs[i];
      const s = stored.get(spec.config);
      if (s) {
        results[i] = { config: spec.config, source: 'stored', runDir: null, trained: 'no', certified: 'no', trainSeconds: 0, certifySeconds: 0, log: s.certifyLog };
        log(`${spec.config}: stored results at scale '${s.scale}' in data/results, no quick run`);
        continue;
      }
      const r = await oneRun(spec, root, log);
      const t = r.trained === 'reused' ? 'training reused' : `trained in ${r.trainSeconds.toFixed(0)} s`;
      const c = r.certified === 'reused' ? 'certification reused' : `certified in ${r.certifySeconds.toFixed(0)} s`;
      log(`${spec.config} (quick): ${t}, ${c} -> ${path.relative(projectRoot(), r.log ?? '')}`);
      results[i] = r;
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, specs.length) }, worker));
  return results;
}

/**
 * Every run summary of our result roots, at every scale. Quick mode:
 * data/results and runs/quick (the roots `npm run reproduce` passes to
 * `npm run figures`; other runs under runs/, e.g. half-finished long runs,
 * are left out); full mode: data/results only.
 */
export function allOurRuns(scale: RunScale = runScale()): RunSummary[] {
  const roots = scale === 'full' ? [resultsRoot()] : [resultsRoot(), quickRoot()];
  return findCertifyLogs(roots).flatMap((f) => safeSummary(f));
}

/** Our run summaries for the tables and figures, one per config (pickRuns: one scale across configs where it can). */
export function ourRuns(scale: RunScale = runScale()): RunSummary[] {
  return pickRuns(allOurRuns(scale));
}
