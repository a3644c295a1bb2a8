/**
 * Diagnostics that need a run's model, not just its logs: each published (or
 * quick) run keeps its certified checkpoint in `best/` beside its
 * certification log, and the log names the test images it certified.
 *
 * They take minutes over all published runs (power iterations, Jacobians,
 * eigendecompositions), so each run can keep its results in
 * `diagnostics.json` beside its log, one entry per report, keyed by a
 * fingerprint of everything the result depends on: the report's name,
 * version and options, the number of images, the bytes of the certification
 * log and of the checkpoint. A changed input misses the cache; a changed
 * measurement must bump its report's version (test/published.test.ts
 * recomputes one run's entries and compares).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { gather } from '../data/batches';
import { ImageDataset } from '../data/types';
import { CertifyRecord, readCertifyLog } from '../eval/log';
import { writeFileAtomic } from '../io/atomic';
import { checkpointExists, loadCheckpoint } from '../io/checkpoint';
import { SplitModel, splitModel } from '../models/split';
import { loadDataset } from '../runner/common';
import { RunSummary } from './tables';

/** Where and how a report keeps its per-run results (see above). */
export interface DiagnosticsCache {
  /** The report's entry in diagnostics.json. */
  name: string;
  /** Bump when the measurement changes: entries of another version are recomputed. */
  version: number;
  /** The options the measurement depends on (part of the fingerprint). */
  options?: unknown;
  /** Write new or changed entries (`npm run claims`); otherwise only read them. */
  write?: boolean;
  /** A run without a current entry is an error instead of being measured. */
  require?: boolean;
}

/**
 * How a report's caller uses the cache: 'read' current entries (and measure
 * the rest), 'write' what it measures too, or 'require' a current entry for
 * every run (an error names the run otherwise: the test of the published
 * runs). Undefined: measure everything.
 */
export type DiagnosticsCacheUse = 'read' | 'write' | 'require';

/** The cache settings of a report, or undefined without a cache. */
export function diagnosticsCache(use: DiagnosticsCacheUse | undefined, name: string, version: number, options?: unknown): DiagnosticsCache | undefined {
  if (use === undefined) return undefined;
  if (use !== 'read' && use !== 'write' && use !== 'require') throw new Error(`${name}: cache must be 'read', 'write' or 'require', got '${String(use)}'`);
  return { name, version, options, write: use === 'write', require: use === 'require' };
}

/** The file beside a run's certification log that holds its cached diagnostics. */
export const DIAGNOSTICS_FILE = 'diagnostics.json';

interface CacheEntry {
  version: number;
  fingerprint: string;
  /** The measured value; null for undefined. */
  value: unknown;
}

function fingerprintOf(cache: DiagnosticsCache, maxImages: number, r: RunSummary, ckDir: string): string {
  const h = createHash('sha256');
  const run = { config: r.config, scale: r.scale, method: r.method, dataset: r.dataset, sigma: r.sigma, split: r.split, gamma_train: r.gamma_train ?? null };
  h.update(JSON.stringify({ name: cache.name, version: cache.version, options: cache.options ?? null, maxImages, run }));
  h.update(fs.readFileSync(r.certifyLog));
  for (const f of fs.readdirSync(ckDir).sort()) {
    h.update(`\0${f}\0`);
    h.update(fs.readFileSync(path.join(ckDir, f)));
  }
  return h.digest('hex');
}

function readEntries(file: string): Record<string, CacheEntry> {
  if (!fs.existsSync(file)) return {};
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, CacheEntry>;
  } catch {
    return {}; // an unreadable cache is recomputed (and rewritten when writing)
  }
}

/** JSON of a measured value, typed arrays as plain arrays: what a fresh and a cached result both become, so they print alike. */
function toJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v)));
}

/**
 * Calls `measure` for each run whose best checkpoint sits beside its
 * certification log (`best/`, as data/results and the quick runs keep it),
 * with f_L and f_R cut at the run's split and the first `maxImages` test
 * images of that log (the images it certified) with their log records, in
 * the log's order. Runs
 * without a checkpoint there are left out: `skipped` says which.
 */
export async function measurePublishedCheckpoints<T>(
  runs: readonly RunSummary[],
  maxImages: number,
  measure: (run: RunSummary, split: SplitModel, x: tf.Tensor, records: CertifyRecord[]) => T,
  cache?: DiagnosticsCache,
): Promise<{ rows: T[]; skipped: string[] }> {
  const rows: T[] = [];
  const skipped: string[] = [];
  const tests = new Map<string, ImageDataset>();
  for (const r of runs) {
    const ckDir = path.join(path.dirname(r.certifyLog), 'best');
    if (!checkpointExists(ckDir)) {
      skipped.push(`${r.config} (${r.scale}): no checkpoint at ${ckDir}`);
      continue;
    }
    const cacheFile = path.join(path.dirname(r.certifyLog), DIAGNOSTICS_FILE);
    const fingerprint = cache ? fingerprintOf(cache, maxImages, r, ckDir) : '';
    const entries = cache ? readEntries(cacheFile) : {};
    const hit = cache ? entries[cache.name] : undefined;
    if (cache && hit && hit.version === cache.version && hit.fingerprint === fingerprint) {
      rows.push((hit.value ?? undefined) as T);
      continue;
    }
    if (cache?.require) {
      const why = !hit ? 'has no' : hit.version !== cache.version ? `has version ${hit.version} of the` : 'has an out-of-date';
      throw new Error(`${cacheFile} ${why} '${cache.name}' entry (version ${cache.version}): run \`npm run claims\` and commit it`);
    }
    if (!tests.has(r.dataset)) tests.set(r.dataset, await loadDataset(r.dataset, 'test'));
    const test = tests.get(r.dataset) as ImageDataset;
    const records = readCertifyLog(r.certifyLog).records.slice(0, maxImages);
    const idx = records.map((x) => x.idx);
    const ck = await loadCheckpoint(ckDir);
    const x = tf.tensor4d(gather(test, idx).images, [idx.length, ...test.shape]);
    try {
      const measured = measure(r, splitModel(ck.model, r.split), x, records);
      const value = cache ? toJson(measured) : measured;
      rows.push((value ?? undefined) as T);
      if (cache?.write) {
        entries[cache.name] = { version: cache.version, fingerprint, value };
        writeFileAtomic(cacheFile, JSON.stringify(entries, null, 1) + '\n');
      }
    } finally {
      x.dispose();
      ck.model.dispose();
    }
  }
  return { rows, skipped };
}
