/**
 * jacobianNorm (lib/lipschitz/jacobian.ts) against closed forms and against
 * the bound of eq. 18: for a one-layer f_L the two agree at gamma = 0 (both are
 * ||I W'|| with the ReLU_theta mask at x); for deeper f_L the bound, a product
 * of per-layer norms, can only be larger.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../lib/backend';
import { loadMnist } from '../lib/data/mnist';
import { jacobianNorm, jacobianSingularValues } from '../lib/lipschitz/jacobian';
import { intervalBounds, localLipschitz } from '../lib/lipschitz/local';
import { left64 } from '../lib/lipschitz/ops64';
import { ReLUTheta } from '../lib/models/layers';
import { lenet } from '../lib/models/lenet';
import { splitModel } from '../lib/models/split';
import { lenetWithBias } from './lenet-helpers';

beforeAll(async () => {
  await initBackend();
});

/** dense 2 -> 3 (kernel [[2, 1, 0], [1, 2, 0]], bias 5) -> ReLU_theta -> dense 2: J = mask * K^T. */
function denseModel(theta: number): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ inputShape: [2], units: 3 }));
  m.add(new ReLUTheta({ theta }));
  m.add(tfl.layers.dense({ units: 2 }));
  m.layers[0].setWeights([tf.tensor2d([2, 1, 0, 1, 2, 0], [2, 3]), tf.tensor1d([5, 5, 5])]);
  return m;
}

function mnistImages(count: number): tf.Tensor4D {
  let images: Float32Array;
  try {
    images = loadMnist('test').images.slice(0, count * 784);
  } catch {
    images = tf.randomUniform([count * 784], 0, 1, 'float32', 1).dataSync() as Float32Array;
  }
  return tf.tensor4d(images, [count, 28, 28, 1]);
}

describe('jacobianNorm', () => {
  test('closed forms: sigma_max of the rows the ReLU_theta passes (3 with every unit linear, sqrt 5 with one clipped)', () => {
    const all = denseModel(10); // pre-activations in (5, 8): every unit passes, J = K^T, singular values 3 and 1
    const x = tf.tensor2d([0.3, 0.6, 0.9, 0.1], [2, 2]);
    const J = jacobianNorm(splitModel(all, 1), x, { iterations: 50 });
    for (const v of J) expect(Math.abs(v - 3)).toBeLessThan(3e-3);
    // theta 6.5 at x = (0.9, 0.1): unit 0 sits at 6.9 (clipped, slope 0), unit 1 at 6.1 (linear): J = [[0, 0], [1, 2], [0, 0]].
    const clipped = denseModel(6.5);
    const J2 = jacobianNorm(splitModel(clipped, 1), tf.tensor2d([0.9, 0.1], [1, 2]), { iterations: 50 });
    expect(Math.abs(J2[0] - Math.sqrt(5))).toBeLessThan(3e-3);
    all.dispose();
    clipped.dispose();
  });

  test('s = 0 (f_L the identity) gives 1; bad arguments are refused with a message', () => {
    const m = lenet({ splitAfter: 0, seed: 1 });
    const x = tf.zeros([2, 28, 28, 1]);
    expect(Array.from(jacobianNorm(splitModel(m, 0), x))).toEqual([1, 1]);
    const sp1 = splitModel(lenet({ splitAfter: 1, seed: 1 }), 1);
    expect(() => jacobianNorm(sp1, tf.zeros([2, 28, 28]))).toThrow(/x must be a batch of shape \[batch, 28, 28, 1\]/);
    expect(() => jacobianNorm(sp1, x, { iterations: 0 })).toThrow(/iterations must be an integer >= 1/);
    expect(() => jacobianNorm(sp1, x, { step: 0 })).toThrow(/step must be a finite number > 0/);
  });

  test('LeNet s = 1: equals the sound bound at gamma = 0 (same mask, one layer)', () => {
    const sp = splitModel(lenetWithBias(1, 21), 1);
    const x = mnistImages(2);
    const J = jacobianNorm(sp, x, { iterations: 300 });
    const L = localLipschitz(sp, x, 0, { mode: 'sound' }).L;
    for (let b = 0; b < 2; b++) {
      expect(J[b]).toBeLessThanOrEqual(L[b] * (1 + 1e-3));
      expect(J[b]).toBeGreaterThan(L[b] * (1 - 2e-3));
    }
  });

  test.each([2, 3])('LeNet s = %i: never above the sound bound at gamma = 0, and well below it (product of norms vs norm of the product)', (s) => {
    const sp = splitModel(lenetWithBias(s, 5), s);
    const x = mnistImages(1);
    const J = jacobianNorm(sp, x, { iterations: 100 });
    const L = localLipschitz(sp, x, 0, { mode: 'sound' }).L;
    expect(J[0]).toBeGreaterThan(0);
    expect(J[0]).toBeLessThanOrEqual(L[0] * (1 + 1e-3));
    expect(J[0]).toBeLessThan(0.9 * L[0]);
  });
});

describe('jacobianSingularValues', () => {
  test('closed forms: [3, 1] with every unit linear, [sqrt 5, 0] with one clipped', () => {
    const all = denseModel(10);
    const s = jacobianSingularValues(splitModel(all, 1), tf.tensor1d([0.3, 0.6]));
    expect(s).toHaveLength(2);
    expect(s[0]).toBeCloseTo(3, 3);
    expect(s[1]).toBeCloseTo(1, 3);
    const clipped = denseModel(6.5);
    const s2 = jacobianSingularValues(splitModel(clipped, 1), tf.tensor2d([0.9, 0.1], [1, 2]));
    expect(s2[0]).toBeCloseTo(Math.sqrt(5), 3);
    expect(s2[1]).toBeCloseTo(0, 3);
    all.dispose();
    clipped.dispose();
  });

  test("LeNet s = 1: the largest is the sound bound at gamma = 0, and the squares sum to ||I W'||_F^2 of the rows the mask keeps", () => {
    const sp = splitModel(lenetWithBias(1, 21), 1);
    const x = mnistImages(1);
    const s = jacobianSingularValues(sp, x);
    expect(s).toHaveLength(784);
    for (let i = 1; i < s.length; i++) expect(s[i]).toBeLessThanOrEqual(s[i - 1]);
    const L = localLipschitz(sp, x, 0, { mode: 'sound' }).L[0];
    expect(s[0]).toBeLessThanOrEqual(L * (1 + 1e-3));
    expect(s[0]).toBeGreaterThan(L * (1 - 1e-3));
    // Frobenius norm by hand: the float64 operator W' (normalization folded in) on the rows whose unit is linear at x.
    const W = left64(sp).affines[0].W;
    const mask = intervalBounds(sp, x, 0)[0].layers[0].outMask as Uint8Array;
    let frob2 = 0;
    for (let r = 0; r < W.rows; r++) if (mask[r]) for (let k = W.rowStart[r]; k < W.rowStart[r + 1]; k++) frob2 += W.vals[k] ** 2;
    const sum2 = s.reduce((a, v) => a + v * v, 0);
    expect(Math.abs(sum2 / frob2 - 1)).toBeLessThan(2e-3);
  });

  test('s = 0 gives ones; too many inputs and a batch are refused with a message', () => {
    const x = tf.zeros([28, 28, 1]);
    expect(Array.from(jacobianSingularValues(splitModel(lenet({ splitAfter: 0, seed: 1 }), 0), x)).every((v) => v === 1)).toBe(true);
    const sp1 = splitModel(lenet({ splitAfter: 1, seed: 1 }), 1);
    expect(() => jacobianSingularValues(sp1, x, { maxInputs: 100 })).toThrow(/784 coordinates, more than maxInputs = 100/);
    expect(() => jacobianSingularValues(sp1, tf.zeros([2, 28, 28, 1]))).toThrow(/x must be one input of shape \[28, 28, 1\]/);
  });
});
