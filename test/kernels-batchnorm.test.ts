/**
 * The fused training-mode batch norm (lib/kernels/batchnorm.ts: one forward
 * and one gradient kernel in WebAssembly SIMD), the layer that uses it
 * (lib/models/batchnorm.ts) and the SIMD ReLU gradient (lib/kernels/relu.ts),
 * against
 *   (a) tfjs' own composition on the cpu backend (tf.moments + tf.batchNorm,
 *       the stock tfjs-layers BatchNormalization): values and gradients,
 *   (b) central finite differences on wasm (float64 sums of the float32 loss).
 * Shapes cover the SIMD paths (C % 4 == 0, more rows than one 64-row block)
 * and the scalar paths (C = 3, 5, 6), rank 2 and 4.
 * Tolerance: max |wasm - cpu| <= 1e-4 * max(1, max |cpu|).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import seedrandom from 'seedrandom';
import { initBackend, tf } from '../lib/backend';
import { BN_TRAIN_KERNEL, batchNormTraining, hasFusedBatchNormTraining } from '../lib/kernels/batchnorm';
import { BatchNormalization, batchNormalization } from '../lib/models/batchnorm';

const REL_TOL = 1e-4;

function randn(n: number, rng: () => number, mean = 0, sd = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + sd * Math.sqrt(-2 * Math.log(rng() + 1e-12)) * Math.cos(2 * Math.PI * rng());
  return out;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = REL_TOL): void {
  expect(got.length).toBe(want.length);
  let err = 0;
  let s = 1;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    s = Math.max(s, Math.abs(want[i]));
  }
  if (!(err <= tol * s)) throw new Error(`${what}: max abs error ${err} > ${tol} * ${s}`);
}

interface Data {
  x: Float32Array;
  shape: number[];
  gamma: Float32Array;
  beta: Float32Array;
  /** Projections of y, mean and variance in the loss. */
  ry: Float32Array;
  rm: Float32Array;
  rv: Float32Array;
}

function makeData(shape: number[], seed: string): Data {
  const rng = seedrandom(seed);
  const C = shape[shape.length - 1];
  const n = shape.reduce((a, b) => a * b, 1);
  // An offset mean and a non-unit scale, so centring matters.
  return { x: randn(n, rng, 0.7, 1.9), shape, gamma: randn(C, rng, 1, 0.5), beta: randn(C, rng), ry: randn(n, rng), rm: randn(C, rng), rv: randn(C, rng) };
}

const EPS = 1e-3;

/** L = sum(y ry) + sum(mean rm) + sum(variance rv) and its gradients w.r.t. x, gamma, beta, on the current backend. */
async function lossAndGrads(d: Data, useOp: boolean): Promise<{ y: Float32Array; mean: Float32Array; variance: Float32Array; loss: number; grads: Float32Array[] }> {
  const x = tf.tensor(d.x, d.shape);
  const gamma = tf.tensor1d(d.gamma);
  const beta = tf.tensor1d(d.beta);
  const ry = tf.tensor(d.ry, d.shape);
  const rm = tf.tensor1d(d.rm);
  const rv = tf.tensor1d(d.rv);
  const forward = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    if (useOp) return batchNormTraining(xx, g, b, EPS);
    const { mean, variance } = tf.moments(xx, [...Array(xx.rank - 1).keys()]);
    return { y: tf.batchNorm(xx, mean, variance, b, g, EPS), mean, variance };
  };
  const out = forward(x, gamma, beta);
  const f = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const o = forward(xx, g, b);
    return tf.addN([tf.sum(tf.mul(o.y, ry)), tf.sum(tf.mul(o.mean, rm)), tf.sum(tf.mul(o.variance, rv))]) as tf.Scalar;
  };
  const { value, grads } = tf.valueAndGrads(f)([x, gamma, beta]);
  const res = {
    y: (await out.y.data()) as Float32Array,
    mean: (await out.mean.data()) as Float32Array,
    variance: (await out.variance.data()) as Float32Array,
    loss: (await value.data())[0],
    grads: await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array)),
  };
  tf.dispose([x, gamma, beta, ry, rm, rv, out.y, out.mean, out.variance, value, ...grads]);
  return res;
}

const SHAPES: number[][] = [
  [6, 3, 3, 4],
  [16, 8, 8, 16], // 1024 rows: several 64-row blocks
  [5, 7, 5, 32],
  [4, 3, 3, 3], // scalar paths
  [3, 5, 2, 6],
  [9, 5], // rank 2
  [1, 1, 1, 8], // one row: variance 0
];

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

test('the fused kernel is used on wasm and not on cpu', async () => {
  await tf.setBackend('wasm');
  expect(hasFusedBatchNormTraining()).toBe(true);
  expect(tf.getKernel(BN_TRAIN_KERNEL, 'wasm')).toBeDefined();
  await tf.setBackend('cpu');
  expect(hasFusedBatchNormTraining()).toBe(false);
  await tf.setBackend('wasm');
});

describe.each(SHAPES.map((s) => [s]))('batchNormTraining x %j', (shape) => {
  test('y, mean, variance and the gradients w.r.t. x, gamma, beta (through all three outputs) match tf.moments + tf.batchNorm on cpu', async () => {
    const d = makeData(shape, `bn ${shape}`);
    await tf.setBackend('cpu');
    const ref = await lossAndGrads(d, false);
    await tf.setBackend('wasm');
    const got = await lossAndGrads(d, true);
    expectClose(got.y, ref.y, 'y');
    expectClose(got.mean, ref.mean, 'mean');
    expectClose(got.variance, ref.variance, 'variance');
    expectClose([got.loss], [ref.loss], 'loss');
    ['dx', 'dgamma', 'dbeta'].forEach((name, i) => expectClose(got.grads[i], ref.grads[i], name));
  });
});

test('gradients on wasm agree with central finite differences of the fused forward (float32, |fd - g| <= 1e-2 (1 + |g|))', async () => {
  await tf.setBackend('wasm');
  const d = makeData([4, 3, 3, 8], 'bn fd');
  const got = await lossAndGrads(d, true);
  const loss = (p: Data) =>
    tf.tidy(() => {
      const o = batchNormTraining(tf.tensor(p.x, p.shape), tf.tensor1d(p.gamma), tf.tensor1d(p.beta), EPS);
      const parts = [tf.sum(tf.mul(o.y, tf.tensor(p.ry, p.shape))), tf.sum(tf.mul(o.mean, tf.tensor1d(p.rm))), tf.sum(tf.mul(o.variance, tf.tensor1d(p.rv)))];
      return parts.reduce<number>((a, t) => a + t.dataSync()[0], 0);
    });
  const h = 1e-2;
  const fields = ['x', 'gamma', 'beta'] as const;
  fields.forEach((field, gi) => {
    const n = d[field].length;
    for (const k of [0, Math.floor(n / 3), n - 1]) {
      const plus = { ...d, [field]: d[field].slice() };
      const minus = { ...d, [field]: d[field].slice() };
      plus[field][k] += h;
      minus[field][k] -= h;
      const fd = (loss(plus) - loss(minus)) / (2 * h);
      const g = got.grads[gi][k];
      if (!(Math.abs(fd - g) <= 1e-2 * (1 + Math.abs(g)))) throw new Error(`d${field}[${k}]: finite difference ${fd} vs gradient ${g}`);
    }
  });
});

/** One training call of a batch-norm layer (built with given weights), its moving statistics after, and gradients. */
async function layerRun(make: () => tfl.layers.Layer, d: Data): Promise<{ y: Float32Array; moving: Float32Array[]; grads: Float32Array[] }> {
  const layer = make();
  const x = tf.tensor(d.x, d.shape);
  tf.dispose(layer.apply(x, { training: false }) as tf.Tensor); // build
  const C = d.gamma.length;
  layer.setWeights([tf.tensor1d(d.gamma), tf.tensor1d(d.beta), tf.tensor1d(d.rm), tf.tensor1d(d.rv.map((v) => 1 + Math.abs(v)))]);
  expect(layer.weights.map((w) => w.shape)).toEqual([[C], [C], [C], [C]]);
  const ry = tf.tensor(d.ry, d.shape);
  const y = layer.apply(x, { training: true }) as tf.Tensor;
  const moving = await Promise.all(layer.getWeights().slice(2).map(async (w) => (await w.data()) as Float32Array));
  const vars = [tf.variable(x), ...layer.trainableWeights.map((w) => w.read() as tf.Variable)];
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(vars[0], { training: true }) as tf.Tensor, ry)) as tf.Scalar, vars);
  const res = { y: (await y.data()) as Float32Array, moving, grads: await Promise.all(vars.map(async (v) => (await grads[v.name].data()) as Float32Array)) };
  tf.dispose([x, ry, y, vars[0], ...Object.values(grads)]);
  layer.dispose();
  return res;
}

test.each([[[8, 4, 4, 16]], [[5, 3, 3, 3]]])('the BatchNormalization layer on wasm (fused) equals the stock tfjs-layers layer on cpu: output, moving statistics, gradients (x %j)', async (shape) => {
  const d = makeData(shape, `layer ${shape}`);
  const args = { axis: -1, momentum: 0.9, epsilon: 1e-5 };
  await tf.setBackend('cpu');
  const ref = await layerRun(() => tfl.layers.batchNormalization(args), d);
  await tf.setBackend('wasm');
  const got = await layerRun(() => batchNormalization(args), d);
  expectClose(got.y, ref.y, 'y');
  expectClose(got.moving[0], ref.moving[0], 'moving mean');
  expectClose(got.moving[1], ref.moving[1], 'moving variance');
  ['dx', 'dgamma', 'dbeta'].forEach((name, i) => expectClose(got.grads[i], ref.grads[i], name));
});

test('the layer serialises as BatchNormalization and loads back into the fused class; inference mode is the stock one', async () => {
  await tf.setBackend('wasm');
  const input = tfl.input({ shape: [4, 4, 8] });
  const out = batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5, name: 'bn' }).apply(input) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  const json = model.toJSON(undefined, false) as { config: { layers: Array<{ class_name: string }> } };
  expect(json.config.layers.map((l) => l.class_name)).toContain('BatchNormalization');
  const copy = await tfl.models.modelFromJSON(json as unknown as tf.io.ModelJSON['modelTopology'] as never);
  expect(copy.getLayer('bn')).toBeInstanceOf(BatchNormalization);
  const x = tf.randomNormal([2, 4, 4, 8], 0, 1, 'float32', 3);
  copy.getLayer('bn').setWeights(model.getLayer('bn').getWeights());
  expectClose(await (copy.predict(x) as tf.Tensor).data(), await (model.predict(x) as tf.Tensor).data(), 'inference output');
  tf.dispose(x);
  model.dispose();
  copy.dispose();
});

test('ReLU gradient on wasm (SIMD): dy where x > 0, 0 at x <= 0 (including x = 0), any length; equal to cpu', async () => {
  const rng = seedrandom('relu');
  for (const n of [1, 7, 64, 1003]) {
    const x = randn(n, rng);
    for (let i = 0; i < n; i += 5) x[i] = 0; // exact zeros: step(0) = 0
    const dy = randn(n, rng);
    const grad = async (backend: string) => {
      await tf.setBackend(backend);
      const xt = tf.tensor1d(x);
      const dyt = tf.tensor1d(dy);
      const g = tf.grad((v: tf.Tensor) => tf.relu(v))(xt, dyt);
      const out = (await g.data()) as Float32Array;
      tf.dispose([xt, dyt, g]);
      return out;
    };
    const ref = await grad('cpu');
    const got = await grad('wasm');
    // cpu's dy * 0 keeps the sign of dy (-0); the wasm kernel writes +0: equal values.
    expect(Array.from(got, (v) => v + 0)).toEqual(Array.from(ref, (v) => v + 0));
    for (let i = 0; i < n; i++) expect(got[i]).toBe(x[i] > 0 ? dy[i] : 0);
  }
});

test('FusedBatchNorm (inference) on wasm, SIMD where the statistics are per channel, else built in: equal to cpu with and without offset/scale', async () => {
  const rng = seedrandom('bn inference');
  const cases: Array<{ x: number[]; stat: number[] }> = [
    { x: [4, 3, 3, 16], stat: [16] },
    { x: [5, 2, 7, 3], stat: [3] }, // scalar path
    { x: [6, 8], stat: [1, 8] }, // broadcast shape, one value per channel
    { x: [2, 3, 4], stat: [3, 4] }, // not per channel: built-in kernel
  ];
  for (const c of cases) {
    const n = c.x.reduce((a, b) => a * b, 1);
    const k = c.stat.reduce((a, b) => a * b, 1);
    const x = randn(n, rng, 0.5, 2);
    const [mean, offset, scale] = [randn(k, rng), randn(k, rng), randn(k, rng, 1, 0.3)];
    const variance = randn(k, rng).map((v) => 0.1 + v * v);
    for (const withAffine of [true, false]) {
      const run = async (backend: string) => {
        await tf.setBackend(backend);
        const t = (v: Float32Array, s: number[]) => tf.tensor(v, s);
        const y = tf.tidy(() => tf.batchNorm(t(x, c.x), t(mean, c.stat), t(variance, c.stat), withAffine ? t(offset, c.stat) : undefined, withAffine ? t(scale, c.stat) : undefined, 1e-3));
        const out = (await y.data()) as Float32Array;
        y.dispose();
        return out;
      };
      const ref = await run('cpu');
      const got = await run('wasm');
      expectClose(got, ref, `batchNorm x [${c.x}], statistics [${c.stat}], affine ${withAffine}`);
    }
  }
});
