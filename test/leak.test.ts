/**
 * No tensor leaks in the hot loops (issue 5): after a warm-up, the number of
 * live tensors (and bytes on the backend) is the same after every training
 * step and every sampling call. Runs on wasm, through the splitz kernels.
 * The long run (2,000 steps, 200 images, with process RSS) is bench/leak.ts.
 */
import { initBackend, tf } from '../lib/backend';
import { lenet } from '../lib/models/lenet';
import { cifarResnet } from '../lib/models/resnet';
import { splitModel } from '../lib/models/split';
import { trainableVariables } from '../lib/train/basic';
import { localLipschitzTensor } from '../lib/lipschitz/local';
import { sampleCounts, toSplitPoint } from '../lib/smoothing/sample';
import { randomNormalTensor } from '../lib/kernels/random';

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

/** numTensors and numBytes after each of `steps` calls, from the `warm`-th on. */
async function footprint(step: () => void | Promise<void>, steps: number, warm = 3): Promise<{ tensors: number[]; bytes: number[] }> {
  const tensors: number[] = [];
  const bytes: number[] = [];
  for (let i = 0; i < steps; i++) {
    await step();
    if (i >= warm) {
      tensors.push(tf.memory().numTensors);
      bytes.push(tf.memory().numBytes);
    }
  }
  return { tensors, bytes };
}

function expectFlat(xs: number[], what: string): void {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  if (lo !== hi) throw new Error(`${what} not flat: ranges ${lo}..${hi} (${xs.join(', ')})`);
}

test('SPLITZ training step (noise at the split + eq. 17 Lipschitz term, warm-started power iteration): flat tensor count', async () => {
  const base = tf.memory().numTensors;
  const split = splitModel(lenet({ splitAfter: 1, seed: 1 }), 1);
  const x = tf.randomUniform([16, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5], 'int32'), 10);
  const opt = tf.train.adam(1e-3);
  const vars = trainableVariables(split.model);
  let warm: tf.Tensor[] | undefined;
  let seed = 0;
  const step = () => {
    const z = randomNormalTensor([16, ...split.splitShape], 0.75, seed++);
    opt.minimize(
      () => {
        const ce = tf.losses.softmaxCrossEntropy(y, split.fR(tf.add(split.fL(x), z))) as tf.Scalar;
        const lip = localLipschitzTensor(split, x, 1, { iterations: 5, warmStart: warm, seed: 3 });
        if (warm) tf.dispose(warm);
        warm = lip.vectors.map((v) => tf.keep(v));
        return tf.add(tf.mul(0.2, ce), tf.mul(0.8, tf.mean(tf.maximum(0.5, lip.L)))) as tf.Scalar;
      },
      false,
      vars,
    );
    z.dispose();
  };
  const f = await footprint(step, 25);
  expectFlat(f.tensors, 'numTensors');
  expectFlat(f.bytes, 'numBytes');
  tf.dispose([x, y, ...(warm ?? [])]);
  opt.dispose();
  split.model.dispose();
  // Everything made above is gone again, except a constant tfjs optimizers keep
  // after dispose() (one scalar for Adam/SGD, measured; not per step).
  expect(tf.memory().numTensors - base).toBeLessThanOrEqual(1);
});

test('ResNet training step (batch norm, strided convs, 1x1 shortcuts: every replaced kernel): flat tensor count', async () => {
  const model = cifarResnet(20, { splitAfter: 0, seed: 0, width: 0.25 });
  const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 2);
  const y = tf.oneHot(tf.tensor1d([1, 2, 3, 4], 'int32'), 10);
  const opt = tf.train.momentum(0.1, 0.9);
  const vars = trainableVariables(model);
  let seed = 0;
  const f = await footprint(() => {
    const z = randomNormalTensor([4, 32, 32, 3], 0.25, seed++);
    opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(tf.add(x, z), { training: true }) as tf.Tensor) as tf.Scalar, false, vars);
    z.dispose();
  }, 8);
  expectFlat(f.tensors, 'numTensors');
  expectFlat(f.bytes, 'numBytes');
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
}, 120000);

test('Monte Carlo sampling (sampleCounts on f_R): no tensor survives a call', async () => {
  const split = splitModel(lenet({ splitAfter: 1, seed: 2 }), 1);
  const u0 = tf.tidy(() => split.fL(tf.randomUniform([1, 28, 28, 1], 0, 1, 'float32', 3)));
  const point = await toSplitPoint(u0);
  u0.dispose();
  const before = tf.memory().numTensors;
  let idx = 0;
  const f = await footprint(async () => {
    const c = await sampleCounts(split.fR, point, 250, { sigma: 0.75, batchSize: 100, idx: idx++, numClasses: 10, pipeline: false });
    expect(c.reduce((a, b) => a + b, 0)).toBe(250);
  }, 12, 0);
  expect(f.tensors.every((n) => n === before)).toBe(true);
  expectFlat(f.bytes, 'numBytes');
  split.model.dispose();
});
