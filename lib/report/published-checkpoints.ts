/**
 * Diagnostics that need a run's model, not just its logs: each published (or
 * quick) run keeps its certified checkpoint in `best/` beside its
 * certification log, and the log names the test images it certified.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { gather } from '../data/batches';
import { ImageDataset } from '../data/types';
import { CertifyRecord, readCertifyLog } from '../eval/log';
import { checkpointExists, loadCheckpoint } from '../io/checkpoint';
import { SplitModel, splitModel } from '../models/split';
import { loadDataset } from '../runner/common';
import { RunSummary } from './tables';

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
    if (!tests.has(r.dataset)) tests.set(r.dataset, await loadDataset(r.dataset, 'test'));
    const test = tests.get(r.dataset) as ImageDataset;
    const records = readCertifyLog(r.certifyLog).records.slice(0, maxImages);
    const idx = records.map((x) => x.idx);
    const ck = await loadCheckpoint(ckDir);
    const x = tf.tensor4d(gather(test, idx).images, [idx.length, ...test.shape]);
    try {
      rows.push(measure(r, splitModel(ck.model, r.split), x, records));
    } finally {
      x.dispose();
      ck.model.dispose();
    }
  }
  return { rows, skipped };
}
