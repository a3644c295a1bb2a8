/**
 * `splitz toy`: the toy example of Appendix B (eqs. 27-32), computed with the
 * library's own bound code on a real two-layer model:
 *
 *   x -> Linear1(W1) -> ReLU_theta (theta = 1) -> Linear2(W2) -> y,
 *   x = [1, -1, 0], l2 radius gamma = 0.1, W1 = diag(2, 2, 1), W2 = [1, 1, 1].
 *
 * f_L is the whole network (s = 2; the last affine layer is the model's last,
 * so no mask follows it) and there is no normalization.
 * The paper gets intervals [1.8, 2.2], [-2.2, -1.8], [-0.1, 0.1], I^v = diag(0, 0, 1),
 * local bound ||W2 I^v|| ||I^v W1|| = 1, and states the global bound
 * ||W2|| ||W1|| as 4. The exact product is 2 * sqrt(3) = 3.4641...
 * (||[1, 1, 1]||_2 = sqrt(3)); the paper's 4 over-states it, and the point of
 * the example (local 1 << global) stands either way.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ReLUTheta } from '../models/layers';
import { splitModel } from '../models/split';
import { intervalBounds, localLipschitz } from '../lipschitz/local';
import { globalLipschitzOfSplit } from '../lipschitz/global';

export const TOY_W1 = [
  [2, 0, 0],
  [0, 2, 0],
  [0, 0, 1],
];
export const TOY_W2 = [[1, 1, 1]];
export const TOY_X = [1, -1, 0];
export const TOY_GAMMA = 0.1;
export const TOY_THETA = 1;

/** The two-layer network of eq. 27 as a tfjs model (tfjs dense kernels are [in, out] = W^T). */
export function toyModel(W1 = TOY_W1, W2 = TOY_W2, theta = TOY_THETA): tfl.Sequential {
  const d1 = tfl.layers.dense({ units: W1.length, useBias: false, inputShape: [W1[0].length], name: 'linear1' });
  const d2 = tfl.layers.dense({ units: W2.length, useBias: false, name: 'linear2' });
  const model = tfl.sequential({ name: 'toy', layers: [d1, new ReLUTheta({ theta, name: 'relu_theta' }), d2] });
  const transpose = (W: number[][]) => W[0].map((_, j) => W.map((row) => row[j]));
  d1.setWeights([tf.tensor2d(transpose(W1))]);
  d2.setWeights([tf.tensor2d(transpose(W2))]);
  return model;
}

export interface ToyResult {
  /** [LB, UB] of Linear1's output over the ball (eq. 29). */
  intervals: [number, number][];
  /** Diagonal of I^v_1 (eq. 30). */
  varying: number[];
  /** ||I^v W1|| and ||W2 I^v|| (sound bounds). */
  factors: number[];
  /** Local bound (eq. 31), sound and paper modes. */
  localSound: number;
  localPaper: number;
  /** Global bound ||W2|| ||W1|| (eq. 32), sound and paper modes. */
  globalSound: number;
  globalPaper: number;
}

export function runToy(): ToyResult {
  const model = toyModel();
  const split = splitModel(model, 2);
  const x = tf.tensor2d([TOY_X]);
  try {
    const iv = intervalBounds(split, x, TOY_GAMMA)[0];
    const l1 = iv.layers[0];
    const intervals = Array.from(l1.lb).map((lb, i) => [lb, l1.ub[i]] as [number, number]);
    const sound = localLipschitz(split, x, TOY_GAMMA, { mode: 'sound' });
    const paper = localLipschitz(split, x, TOY_GAMMA, { mode: 'paper', iterations: 50, seed: 1 });
    paper.vectors?.forEach((v) => v.dispose());
    return {
      intervals,
      varying: Array.from(l1.outMask!),
      factors: sound.perLayer.map((p) => p[0]),
      localSound: sound.L[0],
      localPaper: paper.L[0],
      globalSound: globalLipschitzOfSplit(split, { mode: 'sound' }).L,
      globalPaper: globalLipschitzOfSplit(split, { mode: 'paper', iterations: 50 }).L,
    };
  } finally {
    x.dispose();
    model.dispose();
  }
}

const fmt = (v: number, d = 6) => (Math.abs(v) < 1e-12 ? '0' : v.toFixed(d));

export function formatToy(r: ToyResult): string {
  const lines: string[] = [];
  lines.push('Appendix B toy example: x -> W1 -> ReLU_theta (theta = 1) -> W2 -> y');
  lines.push(`  x = [${TOY_X.join(', ')}], l2 radius gamma = ${TOY_GAMMA}`);
  lines.push(`  W1 = [${TOY_W1.map((r) => `[${r.join(', ')}]`).join(', ')}], W2 = [${TOY_W2[0].join(', ')}]`);
  lines.push('');
  lines.push('Interval bounds of W1 x\' over the ball (z_i = W1_i x +/- gamma ||W1_i||):');
  r.intervals.forEach(([lb, ub], i) => lines.push(`  z${i + 1} in [${fmt(lb, 4)}, ${fmt(ub, 4)}]   varying: ${r.varying[i] ? 'yes' : 'no'} (UB > 0 and LB < theta)`));
  lines.push(`I^v_1 = diag(${r.varying.join(', ')})`);
  lines.push('');
  lines.push(`Local bound  ||W2 I^v|| * ||I^v W1|| = ${fmt(r.factors[1])} * ${fmt(r.factors[0])} = ${fmt(r.localSound)}   (sound; paper/power iteration: ${fmt(r.localPaper)}; paper eq. 31: 1)`);
  lines.push(`Global bound ||W2|| * ||W1||         = ${fmt(r.globalSound)}   (= 2 * sqrt(3); power iteration: ${fmt(r.globalPaper)}; the paper's eq. 32 states 4)`);
  lines.push(`The local bound is ${fmt(r.globalSound / r.localSound, 2)}x tighter than the global one.`);
  return lines.join('\n');
}
