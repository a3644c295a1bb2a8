/**
 * Backend conformance: on every backend present (wasm and cpu here,
 * tensorflow where tfjs-node is installed), the gradients of
 * L = sum(layer(x) * r) with respect to the input x and to every trainable
 * weight must
 *   (1) agree with the cpu backend:  max |g - g_cpu| <= 1e-4 * max(1, max |g_cpu|), and
 *   (2) agree with central finite differences of L computed on that backend in
 *       float32, at 6 coordinates of x and of each weight:
 *       |fd - g| <= 1e-2 * (1 + |g|), with eps = 1e-2.
 *       L is piecewise linear (conv, dense, pooling, ReLU_theta) or smooth
 *       (batch norm), so the only errors are float32 rounding of L (|L| ~ 10,
 *       ~1e-6 relative, divided by 2 eps) and, for batch norm, O(eps^2).
 *       Inputs are drawn away from the kinks of ReLU_theta (0 and theta).
 * Batch norm runs in training mode (batch statistics), as in training.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import seedrandom from 'seedrandom';
import { availableBackends, initBackend, tf } from '../lib/backend';
import { ReLUTheta } from '../lib/models/layers';
import { batchNormalization } from '../lib/models/batchnorm';

const REL_TOL = 1e-4;
const FD_EPS = 1e-2;
const FD_TOL = 1e-2;

interface Case {
  name: string;
  inputShape: number[];
  make: () => tfl.layers.Layer;
  /** Keep input values this far from the points where the layer is not differentiable. */
  avoid?: number[];
}

const CASES: Case[] = [
  { name: 'conv2d stride 1 same', inputShape: [2, 7, 7, 3], make: () => tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: 1, padding: 'same' }) },
  { name: 'conv2d stride 1 valid', inputShape: [2, 8, 8, 2], make: () => tfl.layers.conv2d({ filters: 3, kernelSize: 5, strides: 1, padding: 'valid' }) },
  { name: 'conv2d stride 2 same', inputShape: [2, 9, 9, 3], make: () => tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }) },
  { name: 'conv2d stride 2 valid', inputShape: [2, 9, 8, 2], make: () => tfl.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'valid' }) },
  { name: 'dense', inputShape: [4, 12], make: () => tfl.layers.dense({ units: 5 }) },
  { name: 'maxPooling2d 2x2', inputShape: [2, 6, 6, 3], make: () => tfl.layers.maxPooling2d({ poolSize: 2 }) },
  { name: 'maxPooling2d 3x3 stride 2 same', inputShape: [2, 7, 7, 2], make: () => tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }) },
  { name: 'averagePooling2d 2x2', inputShape: [2, 6, 6, 3], make: () => tfl.layers.averagePooling2d({ poolSize: 2 }) },
  { name: 'averagePooling2d 3x3 stride 2 same', inputShape: [2, 7, 7, 2], make: () => tfl.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }) },
  { name: 'batchNormalization (training)', inputShape: [6, 3, 3, 4], make: () => tfl.layers.batchNormalization({ axis: -1 }) },
  // splitz's layer (one fused kernel on wasm, lib/kernels/batchnorm.ts), odd channel count too
  { name: 'BatchNormalization, fused (training)', inputShape: [6, 3, 3, 4], make: () => batchNormalization({ axis: -1 }) },
  { name: 'BatchNormalization, fused (training), 5 channels', inputShape: [5, 3, 2, 5], make: () => batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 }) },
  { name: 'relu', inputShape: [3, 10], make: () => tfl.layers.reLU(), avoid: [0] },
  { name: 'ReLUTheta', inputShape: [3, 10], make: () => new ReLUTheta({ theta: 0.7 }), avoid: [0, 0.7] },
];

function randn(n: number, rng: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(rng() + 1e-12)) * Math.cos(2 * Math.PI * rng());
  return out;
}

interface Grads {
  loss: number;
  /** Gradient w.r.t. x, then each trainable weight, in layer order. */
  grads: Float32Array[];
  /** Finite differences at the probed coordinates, same order. */
  fd: Array<Array<{ k: number; fd: number }>>;
}

/** Everything evaluated on the current backend from the same float32 data. */
async function evaluate(c: Case, x0: Float32Array, weights0: Float32Array[], r0: Float32Array, probes: number[][]): Promise<Grads> {
  const layer = c.make();
  const x = tf.variable(tf.tensor(x0, c.inputShape), true, undefined);
  const out = layer.apply(x, { training: true }) as tf.Tensor; // builds the layer
  const r = tf.tensor(r0, out.shape);
  out.dispose();
  layer.setWeights(layer.getWeights().map((w, i) => tf.tensor(weights0[i], w.shape)));
  const vars = [x, ...layer.trainableWeights.map((w) => w.read() as tf.Variable)];
  const lossFn = () => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, r)) as tf.Scalar;
  const { value, grads } = tf.variableGrads(lossFn, vars);
  const order = vars.map((v) => grads[v.name]);
  const res: Grads = { loss: (await value.data())[0], grads: [], fd: [] };
  for (const g of order) res.grads.push((await g.data()) as Float32Array);
  for (let vi = 0; vi < vars.length; vi++) {
    const v = vars[vi];
    const base = (await v.data()) as Float32Array;
    const fds: Array<{ k: number; fd: number }> = [];
    for (const k of probes[vi]) {
      const at = (delta: number) => {
        const p = base.slice();
        p[k] += delta;
        v.assign(tf.tensor(p, v.shape));
        return tf.tidy(() => lossFn().dataSync()[0]);
      };
      const plus = at(FD_EPS);
      const minus = at(-FD_EPS);
      v.assign(tf.tensor(base, v.shape));
      fds.push({ k, fd: (plus - minus) / (2 * FD_EPS) });
    }
    res.fd.push(fds);
  }
  tf.dispose([value, ...order, r]);
  x.dispose();
  layer.dispose();
  return res;
}

let backends: string[] = [];

beforeAll(async () => {
  await initBackend({ force: 'cpu' });
  backends = await availableBackends();
});

test('wasm and cpu are among the backends tested', () => {
  expect(backends).toEqual(expect.arrayContaining(['wasm', 'cpu']));
});

describe.each(CASES)('$name', (c) => {
  test('input and weight gradients agree with cpu and with finite differences on every backend', async () => {
    const rng = seedrandom(c.name);
    let x0 = randn(c.inputShape.reduce((a, b) => a * b), rng);
    if (c.avoid) {
      // Push values out of a 0.05-neighbourhood of each kink.
      x0 = x0.map((v) => {
        for (const a of c.avoid!) if (Math.abs(v - a) < 0.05) return a + (v >= a ? 0.05 : -0.05) + 0.01 * Math.sign(v - a || 1);
        return v;
      });
    }
    // Weights and the projection r from the same seed on every backend.
    await tf.setBackend('cpu');
    const probeLayer = c.make();
    const probeOut = probeLayer.apply(tf.zeros(c.inputShape), { training: true }) as tf.Tensor;
    const outSize = probeOut.size;
    const weights0 = probeLayer.weights.map((w) => {
      const v = randn(w.shape.reduce((a: number, b) => a * (b ?? 1), 1), rng);
      // Batch norm's moving variance must stay positive (unused in training mode, but keep it valid).
      return w.shape.length === 1 && /variance/.test(w.name) ? v.map((t) => 1 + Math.abs(t)) : v;
    });
    const nTrainable = probeLayer.trainableWeights.length;
    probeOut.dispose();
    probeLayer.dispose();
    const r0 = randn(outSize, rng);
    const sizes = [x0.length, ...weights0.slice(0, nTrainable).map((w) => w.length)];
    const probes = sizes.map((n) => Array.from({ length: Math.min(6, n) }, (_, i) => Math.floor(((i + 0.5) / Math.min(6, n)) * n)));

    await tf.setBackend('cpu');
    const ref = await evaluate(c, x0, weights0, r0, probes);
    for (const b of backends) {
      await tf.setBackend(b);
      const got = b === 'cpu' ? ref : await evaluate(c, x0, weights0, r0, probes);
      expect(got.grads.length).toBe(ref.grads.length);
      got.grads.forEach((g, i) => {
        const want = ref.grads[i];
        let err = 0;
        let scale = 1;
        for (let k = 0; k < want.length; k++) {
          err = Math.max(err, Math.abs(g[k] - want[k]));
          scale = Math.max(scale, Math.abs(want[k]));
        }
        if (!(err <= REL_TOL * scale)) throw new Error(`${c.name} on ${b}: gradient ${i === 0 ? 'w.r.t. x' : `w.r.t. weight ${i}`} differs from cpu by ${err} (> ${REL_TOL} * ${scale})`);
        for (const { k, fd } of got.fd[i]) {
          if (!(Math.abs(fd - g[k]) <= FD_TOL * (1 + Math.abs(g[k])))) {
            throw new Error(`${c.name} on ${b}: gradient ${i === 0 ? 'w.r.t. x' : `w.r.t. weight ${i}`}[${k}] = ${g[k]}, central difference ${fd}`);
          }
        }
      });
      // A layer with weights must expose gradients for them (the case is not vacuous).
      if (sizes.length > 1) expect(got.grads.length).toBeGreaterThan(1);
    }
  });
});
