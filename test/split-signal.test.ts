/**
 * splitSignal against values computed by hand in plain JavaScript: f_L is a
 * 1x1 convolution (u = a x + b) followed by ReLU_theta, so the spread of
 * f_L(x) across images and where the pre-activations fall are known exactly.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../lib/backend';
import { loadMnist } from '../lib/data/mnist';
import { appendRecord } from '../lib/eval/log';
import { saveCheckpoint } from '../lib/io/checkpoint';
import { ReLUTheta } from '../lib/models/layers';
import { lenet } from '../lib/models/lenet';
import { splitModel } from '../lib/models/split';
import { splitSignal, splitSignalRows } from '../lib/report/split-signal';
import { RunSummary } from '../lib/report/tables';

beforeAll(async () => {
  await initBackend();
});

const N = 40;
const H = 4;

/** conv 1x1 (u = a x + b) -> ReLU_theta -> dense: f_L is the first two. */
function model(a: number, b: number, theta: number): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.conv2d({ inputShape: [H, H, 1], filters: 1, kernelSize: 1, useBias: true, kernelInitializer: tfl.initializers.constant({ value: a }), biasInitializer: tfl.initializers.constant({ value: b }) }));
  m.add(new ReLUTheta({ theta }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 2 }));
  return m;
}

/** Inputs in (0.05, 0.95), deterministic. */
function inputs(): { x: tf.Tensor; v: Float32Array } {
  const v = new Float32Array(N * H * H);
  let s = 12345;
  for (let i = 0; i < v.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    v[i] = 0.05 + 0.9 * (s / 2147483648);
  }
  return { x: tf.tensor4d(v, [N, H, H, 1]), v };
}

/** sqrt of the summed across-image population variances of f(v). */
function spreadByHand(v: Float32Array, f: (t: number) => number): number {
  const D = H * H;
  let sumVar = 0;
  for (let j = 0; j < D; j++) {
    let m = 0;
    for (let i = 0; i < N; i++) m += f(v[i * D + j]);
    m /= N;
    let q = 0;
    for (let i = 0; i < N; i++) q += (f(v[i * D + j]) - m) ** 2;
    sumVar += q / N;
  }
  return Math.sqrt(sumVar);
}

describe('splitSignal', () => {
  test('a linear f_L: the spread scales with a, the snr divides by sigma, every unit is linear', () => {
    const { x, v } = inputs();
    const m = model(0.3, 0.01, 10);
    const s = splitSignal(splitModel(m, 1), x, 0.5);
    const want = spreadByHand(v, (t) => 0.3 * t + 0.01);
    expect(s.units).toBe(H * H);
    expect(s.images).toBe(N);
    expect(s.spread).toBeCloseTo(want, 5);
    expect(s.spread).toBeCloseTo(0.3 * spreadByHand(v, (t) => t), 5);
    expect(s.coordinate_std).toBeCloseTo(want / H, 6);
    expect(s.snr).toBeCloseTo(want / 0.5, 5);
    expect(s.linear_fraction).toBe(1);
    expect(s.below_fraction).toBe(0);
    expect(s.clipped_fraction).toBe(0);
    // f_L = 0.3 x + 0.01 with every unit linear: its Jacobian is 0.3 I, and the one-layer bound is the same.
    expect(s.stretch_images).toBe(Math.min(50, N));
    expect(s.jacobian_norm as number).toBeCloseTo(0.3, 3);
    expect(s.bound_at_x as number).toBeCloseTo(0.3, 3);
    expect(s.bound_train).toBeNull();
    expect(s.bound_over_jacobian as number).toBeCloseTo(1, 3);
    x.dispose();
    m.dispose();
  });

  test('the stretch of f_L: ||J(x)|| = a on a linear f_L; L(x, gamma_train) counts the units the ball can switch on', () => {
    const { x } = inputs();
    // u = 2 x - 0.8 clipped to [0, 0.5]: at x some units are off or clipped, but within gamma = 10 of x every unit can vary.
    const m = model(2, -0.8, 0.5);
    const s = splitSignal(splitModel(m, 1), x, 1, { gammaTrain: 10, stretchImages: 5, iterations: 50 });
    expect(s.stretch_images).toBe(5);
    expect(s.jacobian_norm as number).toBeCloseTo(2, 2);
    expect(s.bound_at_x as number).toBeCloseTo(2, 2);
    expect(s.bound_train as number).toBeCloseTo(2, 2);
    x.dispose();
    m.dispose();
  });

  test('a shifted, clipped f_L: the fractions are the hand counts, the spread is of the clipped outputs', () => {
    const { x, v } = inputs();
    const a = 2;
    const b = -0.8;
    const theta = 0.5;
    const m = model(a, b, theta);
    const s = splitSignal(splitModel(m, 1), x, 1);
    const pre = Array.from(v, (t) => Math.fround(a * t + b));
    const below = pre.filter((p) => p <= 0).length / pre.length;
    const clipped = pre.filter((p) => p >= theta).length / pre.length;
    // The inputs put mass in all three regions, so the test can tell them apart.
    expect(below).toBeGreaterThan(0.2);
    expect(clipped).toBeGreaterThan(0.2);
    expect(s.below_fraction).toBeCloseTo(below, 12);
    expect(s.clipped_fraction).toBeCloseTo(clipped, 12);
    expect(s.linear_fraction).toBeCloseTo(1 - below - clipped, 12);
    expect(s.spread).toBeCloseTo(spreadByHand(v, (t) => Math.min(theta, Math.max(0, a * t + b))), 5);
    x.dispose();
    m.dispose();
  });

  test('RS (s = 0): the pixels themselves, no ReLU_theta', () => {
    const { x, v } = inputs();
    const m = model(1, 0, 1);
    const s = splitSignal(splitModel(m, 0), x, 0.25);
    expect(s.spread).toBeCloseTo(spreadByHand(v, (t) => t), 5);
    expect(s.snr).toBeCloseTo(spreadByHand(v, (t) => t) / 0.25, 4);
    expect(s.linear_fraction).toBeNull();
    expect(s.jacobian_norm).toBeNull();
    expect(s.stretch_images).toBe(0);
    x.dispose();
    m.dispose();
  });

  test('bad input is refused with what to pass', () => {
    const m = model(1, 0, 1);
    const one = tf.zeros([1, H, H, 1]);
    expect(() => splitSignal(splitModel(m, 1), one, 0.5)).toThrow(/at least 2 images/);
    expect(() => splitSignal(splitModel(m, 1), one, 0)).toThrow(/sigma must be > 0/);
    one.dispose();
    m.dispose();
  });
});

describe('splitSignalRows', () => {
  test("measures each run's checkpoint on the images its certification log holds, and names the runs it cannot", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'split-signal-'));
    const m = lenet({ splitAfter: 1, seed: 5 });
    await saveCheckpoint(path.join(dir, 'a', 'best'), m, { arch: 'lenet' });
    const idx = [7, 3, 11];
    for (const i of idx) appendRecord(path.join(dir, 'a', 'certify-n100.tsv'), { idx: i, label: 0, predict: 0, radius: 0.1, correct: 1, time: 1 });
    fs.mkdirSync(path.join(dir, 'b'));
    fs.copyFileSync(path.join(dir, 'a', 'certify-n100.tsv'), path.join(dir, 'b', 'certify-n100.tsv'));
    const run = (name: string) => ({ config: name, scale: 'test', method: 'SPLITZ', sigma: 0.5, split: 1, dataset: 'mnist', certifyLog: path.join(dir, name, 'certify-n100.tsv') }) as unknown as RunSummary;

    const { rows, skipped } = await splitSignalRows([run('a'), run('b')], { maxImages: 2 });
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(/^b \(test\): no checkpoint at .*b\/best/);
    // By hand: the log's first two images, in the log's order.
    const test = loadMnist('test');
    const px = new Float32Array(2 * 784);
    px.set(test.images.subarray(7 * 784, 8 * 784), 0);
    px.set(test.images.subarray(3 * 784, 4 * 784), 784);
    const x = tf.tensor4d(px, [2, 28, 28, 1]);
    const want = splitSignal(splitModel(m, 1), x, 0.5);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ config: 'a', scale: 'test', method: 'SPLITZ', sigma: 0.5, split: 1, images: 2 });
    expect(rows[0].spread).toBeCloseTo(want.spread, 5);
    expect(rows[0].linear_fraction).toBeCloseTo(want.linear_fraction as number, 12);
    // Two different images are apart: the spread is not zero.
    expect(want.spread).toBeGreaterThan(0.01);
    x.dispose();
    m.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
