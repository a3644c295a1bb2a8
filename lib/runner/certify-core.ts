/**
 * Certifying one test image from a checkpoint (Algorithm 1): shared by the
 * main thread and the pool workers of `splitz certify --workers K`, so both
 * produce the same records. The noise of image idx depends only on
 * (seed, idx, phase, j) (lib/smoothing/noise.ts), hence the records do not
 * depend on which worker certified which image, or in which order.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CertifyConfig, ExperimentConfig } from '../config';
import { ImageDataset } from '../data/types';
import { CertifyRecord, recordFromResult } from '../eval/log';
import { loadCheckpoint } from '../io/checkpoint';
import { localLipschitzOf, paperLipschitz } from '../lipschitz/local';
import { WarmStartStore, affineInputShapes } from '../train/splitz';
import { SplitModel, splitModel } from '../models/split';
import { certify } from '../smoothing/certify';
import { splitzRadius } from '../smoothing/radius';
import { loadDataset } from './common';

/** Everything that changes a certification record (the sidecar JSON holds it; a resumed log must match). */
export interface CertifySettings extends Omit<CertifyConfig, 'images'> {
  sigma: number;
  split: number;
  /** Power-iteration steps of the `paper` bound at certification (the config's train.power_iterations). */
  paper_power_iterations: number;
}

export function certifySettingsOf(config: ExperimentConfig, overrides: Partial<CertifySettings> = {}): CertifySettings {
  const c = config.certify;
  return {
    sigma: config.sigma,
    split: config.split,
    n0: overrides.n0 ?? c.n0,
    n: overrides.n ?? c.n,
    alpha: overrides.alpha ?? c.alpha,
    batch_size: overrides.batch_size ?? c.batch_size,
    bound: overrides.bound ?? c.bound,
    gamma_search: overrides.gamma_search ?? c.gamma_search,
    seed: overrides.seed ?? c.seed,
    paper_power_iterations: overrides.paper_power_iterations ?? config.train.power_iterations,
  };
}

/** Columns of the log: Cohen's, SPLITZ's, and with bound 'both' the paper bound's radius, L and gamma. */
export function certifyColumns(settings: CertifySettings): string[] {
  const base = ['idx', 'label', 'predict', 'radius', 'correct', 'time', 'pA_lower', 'radius_fR', 'lipschitz', 'gamma', 'bound'];
  return settings.bound === 'both' ? [...base, 'radius_paper', 'lipschitz_paper', 'gamma_paper'] : base;
}

export interface CertifyContext {
  model: tfl.LayersModel;
  split: SplitModel;
  test: ImageDataset;
  settings: CertifySettings;
  /** Noise on a helper thread: off inside pool workers (the cores are taken). */
  pipeline: boolean | 'auto';
}

/** Loads the checkpoint and the test set. */
export async function openCertifyContext(checkpointDir: string, dataset: ExperimentConfig['dataset'], settings: CertifySettings, pipeline: boolean | 'auto'): Promise<CertifyContext> {
  const ck = await loadCheckpoint(checkpointDir);
  const split = splitModel(ck.model, settings.split);
  const test = await loadDataset(dataset, 'test');
  return { model: ck.model, split, test, settings, pipeline };
}

/**
 * The `paper` bound L(x, gamma) of one image as a function of gamma: power
 * iteration from start vectors drawn from the noise generator keyed by
 * (seed, idx, PHASE_WARM, k), so that the value does not depend on the
 * process, the worker or tf's random state (tf.randomNormal treats seed 0 as
 * "unseeded").
 */
export function paperBoundOf(split: SplitModel, x: tf.Tensor, iterations: number, seed: number, idx: number): { L: (gamma: number) => number; dispose: () => void } {
  const shapes = affineInputShapes(split);
  const store = new WarmStartStore(shapes, 1, seed);
  const starts = shapes.map((shape, k) => {
    const v = new Float32Array(store.sizes[k]);
    store.initial(idx, k, v, 0);
    return tf.tensor(v, [1, ...shape]);
  });
  const x1 = tf.expandDims(x, 0);
  return {
    L: (gamma: number) => paperLipschitz(split, x1, [gamma], { iterations, warmStart: starts })[0],
    dispose: () => tf.dispose([x1, ...starts]),
  };
}

/** CERTIFY of test image idx with the settings' bound(s): one sampling run, one or two radii. */
export async function certifyImage(ctx: CertifyContext, idx: number): Promise<CertifyRecord> {
  const t0 = process.hrtime.bigint();
  const { split, test, settings: st } = ctx;
  if (!Number.isInteger(idx) || idx < 0 || idx >= test.n) throw new Error(`image index ${idx} is outside the test set of ${test.n} images`);
  const d = test.shape[0] * test.shape[1] * test.shape[2];
  const x = tf.tensor3d(test.images.subarray(idx * d, (idx + 1) * d), test.shape);
  const label = test.labels[idx];
  try {
    const rs = st.split === 0;
    const sound = !rs && st.bound !== 'paper' ? localLipschitzOf(split, x, { mode: 'sound' }) : undefined;
    const paper = !rs && st.bound !== 'sound' ? paperBoundOf(split, x, st.paper_power_iterations, st.seed, idx) : undefined;
    const r = await certify(split, x, {
      sigma: st.sigma,
      n0: st.n0,
      n: st.n,
      alpha: st.alpha,
      batchSize: st.batch_size,
      seed: st.seed,
      idx,
      L: st.bound === 'paper' ? paper?.L : sound,
      radius: { method: st.gamma_search },
      pipeline: ctx.pipeline,
    });
    const extra: Record<string, number | string> = {};
    if (st.bound === 'both') {
      if (r.predict === -1 || rs) {
        extra.radius_paper = r.radius;
        extra.lipschitz_paper = r.lipschitz;
        extra.gamma_paper = r.gamma;
      } else {
        const p = await splitzRadius(r.radius_fR, paper!.L, { method: st.gamma_search });
        extra.radius_paper = p.radius;
        extra.lipschitz_paper = p.L;
        extra.gamma_paper = p.gamma;
      }
    }
    paper?.dispose();
    const rec = recordFromResult(idx, label, r, rs ? 'none' : st.bound === 'paper' ? 'paper' : 'sound', extra);
    rec.time = Number(process.hrtime.bigint() - t0) / 1e9;
    return rec;
  } finally {
    x.dispose();
  }
}
