/**
 * Parking an unfinished campaign run in the repository, so that a later
 * session on a fresh clone resumes it instead of starting over.
 *
 * A run's working state lives in runs/<id>/ (not committed: checkpoints every
 * epoch, logs appended as it goes). `npm run campaign -- --park` copies what
 * resuming needs into data/in-progress/<id>/, to be committed; a campaign
 * that finds no runs/<id>/ but a parked copy restores it and resumes. A parked
 * run is never a result: the reports read data/results only, and publishing
 * the run removes its parked copy.
 *
 * What resuming needs: the training log, the last checkpoint (model,
 * optimizer, training state), the best checkpoint, the power-iteration
 * vectors the last checkpoint names (SPLITZ runs only), the certification logs
 * with their sidecars, and the campaign's stdout of both steps. The vectors
 * hold one vector per training image (164 MiB for LeNet on MNIST, 527 MiB for
 * ResNet-20 on CIFAR-10): too large to commit. They are needed only while
 * training goes on, so a run whose training is done is parked without them,
 * and a SPLITZ run still training is parked only when they are small (never
 * at the campaign's scales).
 */
import * as fs from 'fs';
import * as path from 'path';
import { readJsonLines } from '../lib/io/jsonl';
import { readCertifyLog } from '../lib/eval/log';
import { isCertifyLog, isCertifySidecar, isWarmFile } from '../lib/runner/files';
import { dirBytes, publishDir } from './publish';
import { plannedTraining } from './train-progress';

/** A parked run larger than this is refused (the repository carries every parked copy in its history). */
export const MAX_PARKED_BYTES = 20 * 1024 * 1024;

/** The manifest of a parked run. */
export const PARKED_MANIFEST = 'PARKED.json';

export interface ParkedManifest {
  id: string;
  parked: string;
  epochs_trained: number;
  training_done: boolean;
  images_certified: Record<string, number>;
  /** Files of the run directory left out, and why. */
  left_out: Array<{ file: string; bytes: number; why: string }>;
}

/** What a parked copy holds, in words: "165 epochs trained (training done); certify-n100000.tsv: 14 images certified". */
export function describeParked(m: ParkedManifest): string {
  const images = Object.entries(m.images_certified).map(([f, k]) => `; ${f}: ${k} images certified`).join('');
  return `${m.epochs_trained} epochs trained${m.training_done ? ' (training done)' : ''}${images}`;
}

/** The campaign's stdout files of run ID (runs/campaign/<id>.train.out, .certify.out), as parked names. */
export function stepOutputs(campaignDir: string, id: string): Array<{ from: string; parked: string }> {
  return (['train', 'certify'] as const).map((step) => ({ from: path.join(campaignDir, `${id}.${step}.out`), parked: `${step}.out` }));
}

/**
 * Whether the training of a run is over: the campaign certifies only after
 * `splitz train` returned success, so a certification log in the run
 * directory says so; so does an early_stop line in the training log, or as
 * many epochs as the plan allows.
 */
export function trainingDone(runDir: string): boolean {
  if (fs.existsSync(runDir) && fs.readdirSync(runDir).some(isCertifyLog)) return true;
  const log = path.join(runDir, 'train-log.jsonl');
  if (!fs.existsSync(log)) return false;
  const lines = readJsonLines(log);
  if (lines.some((l) => l.type === 'early_stop')) return true;
  // Every epoch the plan allows is in the log.
  const train = plannedTraining(lines);
  return train?.epochs !== undefined && lines.filter((l) => l.type === 'epoch').length >= train.epochs + (train.extra_epochs ?? 0);
}

/**
 * Copies the resumable state of runs/<id>/ (RUNDIR) and its step outputs into
 * PARKED (replacing an earlier parked copy; built beside it and renamed in).
 * Throws, leaving any earlier parked copy alone, when the run cannot be
 * parked: no training log, or more state than MAX_PARKED_BYTES.
 */
export function parkRun(id: string, runDir: string, campaignDir: string, parked: string, now = new Date()): ParkedManifest {
  const logFile = path.join(runDir, 'train-log.jsonl');
  if (!fs.existsSync(logFile)) throw new Error(`${id}: ${runDir} holds no training log; nothing to park`);
  const done = trainingDone(runDir);
  const entries = fs.readdirSync(runDir).filter((f) => !f.includes('.tmp-')); // temp files of interrupted writes are not state
  const leftOut: ParkedManifest['left_out'] = [];
  const keep: string[] = [];
  for (const f of entries) {
    if (done && isWarmFile(f)) {
      leftOut.push({ file: f, bytes: dirBytes(path.join(runDir, f)), why: 'power-iteration vectors, needed only while training; training is done' });
      continue;
    }
    keep.push(f);
  }
  const sizes = keep.map((f) => ({ f, bytes: dirBytes(path.join(runDir, f)) })).sort((a, b) => b.bytes - a.bytes);
  const total = sizes.reduce((s, x) => s + x.bytes, 0);
  if (total > MAX_PARKED_BYTES) {
    const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
    const why = isWarmFile(sizes[0].f) ? ' (power-iteration vectors, one per training image, which training resumes from: let the run finish training in one session)' : '';
    throw new Error(`${id}: its state is ${mb(total)}, more than the ${mb(MAX_PARKED_BYTES)} a parked run may take; the largest part is ${sizes[0].f}, ${mb(sizes[0].bytes)}${why}; keep this work tree to resume it`);
  }
  const lines = readJsonLines(logFile);
  const certified: Record<string, number> = {};
  for (const f of keep.filter(isCertifyLog)) {
    // A partial last line (a kill mid-write) is not a record: resuming drops it.
    certified[f] = readCertifyLog(path.join(runDir, f), { partialLastLine: 'drop' }).records.length;
  }
  const manifest: ParkedManifest = {
    id,
    parked: now.toISOString(),
    epochs_trained: lines.filter((l) => l.type === 'epoch').length,
    training_done: done,
    images_certified: certified,
    left_out: leftOut,
  };
  publishDir(parked, (tmp) => {
    for (const f of keep) fs.cpSync(path.join(runDir, f), path.join(tmp, 'run', f), { recursive: true });
    for (const o of stepOutputs(campaignDir, id)) if (fs.existsSync(o.from)) fs.copyFileSync(o.from, path.join(tmp, o.parked));
    fs.writeFileSync(path.join(tmp, PARKED_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  });
  return manifest;
}

/** The parked copy's manifest, or undefined when PARKED holds none. */
export function readParked(parked: string): ParkedManifest | undefined {
  const f = path.join(parked, PARKED_MANIFEST);
  return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, 'utf8')) as ParkedManifest) : undefined;
}

/**
 * Restores a parked run into RUNDIR (which must not exist yet) and its step
 * outputs into CAMPAIGNDIR. A certification sidecar names its checkpoint by
 * absolute path, and a resumed log must certify the same checkpoint: the path
 * is moved to this clone's run directory.
 */
export function restoreRun(id: string, parked: string, runDir: string, campaignDir: string): ParkedManifest {
  const manifest = readParked(parked);
  if (!manifest) throw new Error(`${parked}: no ${PARKED_MANIFEST}; not a parked run`);
  if (fs.existsSync(runDir)) throw new Error(`${id}: ${runDir} exists already; a parked copy is restored only where the run has no directory`);
  publishDir(runDir, (tmp) => fs.cpSync(path.join(parked, 'run'), tmp, { recursive: true }));
  for (const f of fs.readdirSync(runDir).filter(isCertifySidecar)) {
    const file = path.join(runDir, f);
    const side = JSON.parse(fs.readFileSync(file, 'utf8')) as { checkpoint?: { dir?: string } };
    if (side.checkpoint?.dir) {
      side.checkpoint.dir = path.join(runDir, path.basename(side.checkpoint.dir));
      fs.writeFileSync(file, JSON.stringify(side, null, 2) + '\n');
    }
  }
  fs.mkdirSync(campaignDir, { recursive: true });
  for (const o of stepOutputs(campaignDir, id)) {
    const from = path.join(parked, o.parked);
    if (fs.existsSync(from) && !fs.existsSync(o.from)) fs.copyFileSync(from, o.from);
  }
  return manifest;
}
