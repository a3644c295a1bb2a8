/**
 * The training noise delta of eq. 17, keyed so that a resumed run draws what
 * an uninterrupted one does (see ./splitz.ts for all of training's seeded
 * randomness). No TensorFlow.js here: ./noise-feed-worker.ts loads this
 * module on a worker thread.
 */
import { GaussianStream, deriveSeed } from '../smoothing/noise';

/** Noise-stream phases of training (certification uses 1..3, lib/smoothing/noise.ts). */
export const PHASE_HOLDOUT = 128;
export const PHASE_WARM = 129;
export const PHASE_TRAIN = 256;

/**
 * Training noise delta of one step: Q * B * D normals times sigma, draw-major
 * (draw q of input i at (q * B + i) * D); draw q of step j of epoch e comes
 * from GaussianStream(deriveSeed(seed, e, PHASE_TRAIN + q, j)). Written into
 * `out` when it has exactly Q * B * D entries (a buffer reused across steps).
 */
export function trainingNoise(seed: number, epoch: number, step: number, Q: number, B: number, D: number, sigma: number, out?: Float32Array): Float32Array {
  const buf = out && out.length === Q * B * D ? out : new Float32Array(Q * B * D);
  for (let q = 0; q < Q; q++) new GaussianStream(deriveSeed(seed, epoch, PHASE_TRAIN + q, step)).fill(buf, q * B * D, B * D, sigma);
  return buf;
}
