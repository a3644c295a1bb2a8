/**
 * splitModel: f_R(f_L(x)) is the model's own output, the cut sits where the
 * paper puts it (after the s-th affine layer and its ReLU_theta), and models
 * that cannot be split there are refused with a reason.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../lib/backend';
import { lenet } from '../lib/models/lenet';
import { Normalize, ReLUTheta } from '../lib/models/layers';
import { SplitError, splitModel } from '../lib/models/split';

beforeAll(async () => {
  await initBackend();
});

describe('splitModel on LeNet', () => {
  const x = () => tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 7);

  test.each([0, 1, 2, 3, 4])('s = %i: f_R(f_L(x)) equals model.predict(x) exactly', (s) => {
    const model = lenet({ splitAfter: Math.min(s, 3), seed: 3 });
    const sp = splitModel(model, s);
    const xs = x();
    const u = sp.fL(xs);
    const y = sp.fR(u);
    const ref = model.predict(xs) as tf.Tensor;
    expect(u.shape.slice(1)).toEqual(sp.splitShape);
    expect(Array.from(y.dataSync())).toEqual(Array.from(ref.dataSync()));
    tf.dispose([xs, u, y, ref]);
    model.dispose();
  });

  test('where the cut is, and what goes with f_L', () => {
    const m0 = lenet({ splitAfter: 1, seed: 1 });
    const s0 = splitModel(m0, 0);
    // Plain RS: noise in raw pixel space, normalization belongs to f_R.
    expect(s0.leftLayers).toHaveLength(0);
    expect(s0.normalize).toBeUndefined();
    expect(s0.rightLayers[0]).toBeInstanceOf(Normalize);
    expect(s0.splitShape).toEqual([28, 28, 1]);

    const s1 = splitModel(m0, 1);
    expect(s1.leftOps.map((o) => o.kind)).toEqual(['normalize', 'conv', 'relu_theta']);
    expect(s1.splitShape).toEqual([24, 24, 20]);
    expect(s1.normalize).toBeInstanceOf(Normalize);
    expect(s1.endsWithReLUTheta).toBe(true);

    const m2 = lenet({ splitAfter: 2, seed: 1 });
    const s2 = splitModel(m2, 2);
    // The first max-pool (disjoint 2x2 windows) sits inside f_L.
    expect(s2.leftOps.map((o) => o.kind)).toEqual(['normalize', 'conv', 'relu_theta', 'maxpool', 'conv', 'relu_theta']);
    expect(s2.splitShape).toEqual([8, 8, 50]);

    const m3 = lenet({ splitAfter: 3, seed: 1 });
    expect(splitModel(m3, 3).splitShape).toEqual([500]);
    // Model-final affine layer: f_R is the identity and no mask follows.
    const s4 = splitModel(m3, 4);
    expect(s4.rightLayers).toHaveLength(0);
    expect(s4.endsWithReLUTheta).toBe(false);
    [m0, m2, m3].forEach((m) => m.dispose());
  });

  test('refuses a cut that is not followed by ReLU_theta, and bad s', () => {
    const m = lenet({ splitAfter: 1, seed: 1 });
    expect(() => splitModel(m, 2)).toThrow(SplitError);
    expect(() => splitModel(m, 2)).toThrow(/followed by ReLU.*not by ReLUTheta/);
    expect(() => splitModel(m, 5)).toThrow(/only 4 affine/);
    expect(() => splitModel(m, -1)).toThrow(/non-negative integer/);
    m.dispose();
  });
});

describe('splitModel refuses layers f_L cannot bound', () => {
  test('overlapping max-pool inside f_L', () => {
    const m = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [8, 8, 1] }),
        new ReLUTheta(),
        tfl.layers.maxPooling2d({ poolSize: 3, strides: 1 }),
        tfl.layers.conv2d({ filters: 2, kernelSize: 2 }),
        new ReLUTheta(),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 3 }),
      ],
    });
    expect(splitModel(m, 1).splitShape).toEqual([6, 6, 2]);
    expect(() => splitModel(m, 2)).toThrow(/overlapping max-pool/);
    m.dispose();
  });

  test('built-in activation and unsupported layers', () => {
    const m = tfl.sequential({
      layers: [tfl.layers.dense({ units: 4, activation: 'relu', inputShape: [3] }), new ReLUTheta(), tfl.layers.dense({ units: 2 })],
    });
    expect(() => splitModel(m, 1)).toThrow(/built-in activation 'relu'/);
    m.dispose();
    const m2 = tfl.sequential({
      layers: [tfl.layers.dense({ units: 4, inputShape: [3] }), tfl.layers.dropout({ rate: 0.5 }), new ReLUTheta(), tfl.layers.dense({ units: 2 })],
    });
    expect(() => splitModel(m2, 1)).toThrow(SplitError);
    m2.dispose();
  });

  test('a functional chain splits like a sequential one; a skip connection is refused', () => {
    const inp = tfl.input({ shape: [6, 6, 2] });
    const h = new ReLUTheta().apply(tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(inp)) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 2 }).apply(tfl.layers.flatten().apply(h)) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: inp, outputs: out });
    const sp = splitModel(m, 1);
    const xs = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 2);
    const u = sp.fL(xs);
    const y = sp.fR(u);
    const ref = m.predict(xs) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual(Array.from(ref.dataSync()));
    tf.dispose([xs, u, y, ref]);

    const inp2 = tfl.input({ shape: [4] });
    const a = new ReLUTheta().apply(tfl.layers.dense({ units: 4 }).apply(inp2)) as tfl.SymbolicTensor;
    const b = tfl.layers.add().apply([a, inp2]) as tfl.SymbolicTensor;
    const m2 = tfl.model({ inputs: inp2, outputs: b });
    expect(() => splitModel(m2, 1)).toThrow(/skip connection/);
  });
});

test('ResNet-20 (graph model): split after the stem conv, f_R(f_L(x)) equals model.predict(x)', () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { buildModel } = require('../lib/models') as typeof import('../lib/models');
  const m = buildModel('resnet20', { splitAfter: 1, seed: 1 });
  const sp = splitModel(m, 1);
  expect(sp.splitShape).toEqual([32, 32, 16]);
  const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 2);
  const u = sp.fL(x);
  const y = sp.fR(u);
  const ref = m.predict(x) as tf.Tensor;
  expect(Array.from(y.dataSync())).toEqual(Array.from(ref.dataSync()));
  tf.dispose([x, u, y, ref]);
});
