/**
 * The model zoo against published facts: parameter counts of He et al.'s
 * CIFAR ResNets and of the RS-literature LeNet, Cohen et al.'s layer layout,
 * seeded repeatability, and f_R(f_L(x)) == f(x) for graph models.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../lib/backend';
import {
  ARCH_NAMES,
  archInfo,
  buildModel,
  leftModel,
  modelLayers,
  modelSignature,
  rightModel,
  signatureDifference,
  splitShape,
} from '../lib/models';

beforeAll(async () => {
  // Whatever backend this machine offers (wasm here): structure, not numerics, is under test.
  await initBackend();
});

function trainableParams(m: tfl.LayersModel): number {
  return m.trainableWeights.reduce((s, w) => s + (w.shape as number[]).reduce((p, d) => p * d, 1), 0);
}

/**
 * Trainable parameters of Cohen et al.'s PyTorch ResNet (bearpaw code: conv
 * without bias, BN weight+bias, 1x1 conv + BN shortcut at stage changes), by
 * counting its modules by hand, independently of the tfjs builder.
 */
function pytorchCifarResnetParams(depth: number): number {
  const n = (depth - 2) / 6;
  const conv = (cin: number, cout: number, k: number) => cin * cout * k * k;
  const bn = (c: number) => 2 * c;
  let total = conv(3, 16, 3) + bn(16);
  let inPlanes = 16;
  for (const planes of [16, 32, 64]) {
    for (let b = 0; b < n; b++) {
      total += conv(inPlanes, planes, 3) + bn(planes) + conv(planes, planes, 3) + bn(planes);
      if (inPlanes !== planes) total += conv(inPlanes, planes, 1) + bn(planes);
      inPlanes = planes;
    }
  }
  return total + 64 * 10 + 10;
}

/** Narrow Lipschitz-figure nets: structure is what these tests check, and the CPU backend is slow. */
const SMALL = { width: 1 / 16 };

/** One build per architecture, shared by the tests below (ResNets at split 0: Cohen et al.'s original stem). */
const cache = new Map<string, tfl.LayersModel>();
function built(arch: string): tfl.LayersModel {
  let m = cache.get(arch);
  if (!m) {
    const info = archInfo(arch);
    m = buildModel(arch, info.purpose === 'lipschitz' ? SMALL : arch === 'lenet' ? {} : { splitAfter: 0 });
    cache.set(arch, m);
  }
  return m;
}
afterAll(() => cache.forEach((m) => m.dispose()));

describe('every architecture', () => {
  test.each(ARCH_NAMES.map((a) => [a]))('%s builds, starts with Normalize and outputs [b, 10]', (arch) => {
    const info = archInfo(arch);
    const m = built(arch);
    expect(m.inputs[0].shape.slice(1)).toEqual(info.inputShape);
    expect(modelLayers(m)[0].getClassName()).toBe('Normalize');
    const y = tf.tidy(() => (m.predict(tf.randomUniform([2, ...info.inputShape])) as tf.Tensor).shape);
    expect(y).toEqual([2, 10]);
  });

  test('an unknown architecture names the known ones and the closest', () => {
    expect(() => buildModel('resnet111')).toThrow(/unknown architecture 'resnet111' \(did you mean 'resnet110'\?\).*lenet, resnet20/);
    expect(() => buildModel('lenet', { width: 2 })).toThrow(/option 'width' does not apply/);
  });
});

describe('parameter counts', () => {
  test("LeNet has 431,080 parameters (conv20@5x5, conv50@5x5, dense 500, dense 10)", () => {
    // 1*20*25+20 + 20*50*25+50 + 800*500+500 + 500*10+10
    expect(built('lenet').countParams()).toBe(431080);
  });

  test.each([
    [20, 0.27e6],
    [110, 1.7e6],
  ])('ResNet-%i matches the PyTorch count exactly and He et al.\'s %d within 2%%', (depth, published) => {
    const p = trainableParams(built(`resnet${depth}`));
    expect(p).toBe(pytorchCifarResnetParams(depth)); // 272,474 and 1,730,714
    expect(Math.abs(p - published) / published).toBeLessThan(0.02);
  });

  test('ResNet depth counts conv + dense layers on the main path (depth = 6n + 2)', () => {
    for (const depth of [20, 56] as const) {
      const layers = modelLayers(built(`resnet${depth}`));
      const mainConvs = layers.filter((l) => l.getClassName() === 'Conv2D' && !l.name.includes('down')).length;
      const dense = layers.filter((l) => l.getClassName() === 'Dense').length;
      expect(mainConvs + dense).toBe(depth);
      expect(layers.filter((l) => l.name.includes('down_conv')).length).toBe(2); // two stage changes
    }
  });

  test('splitAfter = 1 puts no batch norm in f_L: conv (with bias) then ReLU_theta', () => {
    const m = buildModel('resnet20', { splitAfter: 1, theta: 0.7 });
    const [norm, conv, act, next] = modelLayers(m);
    expect([norm.getClassName(), conv.getClassName(), act.getClassName()]).toEqual(['Normalize', 'Conv2D', 'ReLUTheta']);
    expect(conv.weights.map((w) => w.shape)).toEqual([[3, 3, 3, 16], [16]]);
    expect((act.getConfig() as { theta: number }).theta).toBe(0.7);
    expect(next.getClassName()).not.toBe('BatchNormalization');
    // bias (+16) replaces BN's gamma and beta (-32)
    expect(trainableParams(m)).toBe(pytorchCifarResnetParams(20) + 16 - 32);
    m.dispose();
  });

  test("4C3F follows Huang et al.: maps 32, 16, 16, 8 at 32/32/64/64 channels, dense 512, 512, 10 (x width)", () => {
    const m = built('4c3f');
    const convs = modelLayers(m).filter((l) => l.getClassName() === 'Conv2D');
    expect(convs.map((l) => (l.outputShape as number[]).slice(1))).toEqual([[32, 32, 2], [16, 16, 2], [16, 16, 4], [8, 8, 4]]);
    const dense = modelLayers(m).filter((l) => l.getClassName() === 'Dense');
    expect(dense.map((l) => (l.outputShape as number[])[1])).toEqual([32, 32, 10]);
  });

  test('VGG-16 has 13 convs + 3 dense; AlexNet 5 + 3; SqueezeNet 8 fire modules', () => {
    const count = (arch: string, cls: string) => modelLayers(built(arch)).filter((l) => l.getClassName() === cls).length;
    expect([count('vgg16', 'Conv2D'), count('vgg16', 'Dense')]).toEqual([13, 3]);
    expect([count('alexnet', 'Conv2D'), count('alexnet', 'Dense')]).toEqual([5, 3]);
    expect(count('squeezenet', 'Concatenate')).toBe(8);
    // ResNet-18/34: 1 stem conv + 2 per block + 3 shortcut convs, and one dense: 18 and 34 on the main path.
    expect(count('resnet18', 'Conv2D') - 3 + 1).toBe(18);
    expect(count('resnet34', 'Conv2D') - 3 + 1).toBe(34);
  });
});

describe('seeds', () => {
  const weightsOf = (m: tfl.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

  test.each([['resnet20'], ['4c3f']])('%s: the same seed gives identical weights, another seed different ones', (arch) => {
    const opts = arch === '4c3f' ? { ...SMALL, seed: 11 } : { seed: 11 };
    const a = buildModel(arch, opts);
    const b = buildModel(arch, opts);
    const c = buildModel(arch, { ...opts, seed: 12 });
    const wa = weightsOf(a);
    expect(weightsOf(b)).toEqual(wa);
    // the first conv kernel differs under another seed
    expect(weightsOf(c)[0]).not.toEqual(wa[0]);
    [a, b, c].forEach((m) => m.dispose());
  });
});

describe('split into f_L and f_R', () => {
  test.each([
    ['resnet20', { splitAfter: 1, seed: 3 }, 3],
    ['squeezenet', { splitAfter: 1, seed: 3, width: 0.25 }, 3],
    ['lenet', { splitAfter: 2, seed: 3 }, 6],
    ['resnet20', { splitAfter: 1, seed: 3 }, 0],
  ] as const)('%s %j at %i: f_R(f_L(x)) == f(x)', (arch, options, s) => {
    const m = buildModel(arch, options);
    const fR = rightModel(m, s);
    const maxDiff = tf.tidy(() => {
      const x = tf.randomUniform([2, ...archInfo(arch).inputShape], 0, 1, 'float32', 5);
      const u = s === 0 ? x : (leftModel(m, s).predict(x) as tf.Tensor);
      expect(u.shape.slice(1)).toEqual(splitShape(m, s));
      return tf.max(tf.abs(tf.sub(fR.predict(u) as tf.Tensor, m.predict(x) as tf.Tensor))).dataSync()[0];
    });
    expect(maxDiff).toBe(0);
    // f_R shares the model's weights: the same variables, not copies
    const shared = new Set(m.weights.map((w) => w.id));
    expect(fR.weights.every((w) => shared.has(w.id))).toBe(true);
    m.dispose();
  });

  test('the split at the stem of a ResNet has shape 32x32x16; a cut inside a block is refused', () => {
    const m = buildModel('resnet20');
    expect(splitShape(m, 3)).toEqual([32, 32, 16]);
    expect(() => rightModel(m, 5)).toThrow(/skip connection|chain/);
    expect(() => leftModel(m, 0)).toThrow(/identity/);
    m.dispose();
  });

  test('signatures tell a split-1 LeNet from a split-2 one', () => {
    const a = modelSignature(buildModel('lenet', { splitAfter: 1 }));
    const b = modelSignature(buildModel('lenet', { splitAfter: 2 }));
    expect(signatureDifference(a, a)).toBeUndefined();
    expect(signatureDifference(a, b)).toMatch(/layer 5: expected ReLU, found ReLUTheta theta=1/);
  });
});
