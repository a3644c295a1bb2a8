/**
 * Checkpoints: the standard TensorFlow.js layout, exact round trips (custom
 * layers and batch-norm statistics included), atomic replacement, optimizer
 * state, and clear errors for missing or mismatched checkpoints.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../lib/backend';
import { CheckpointError, checkpointExists, loadCheckpoint, loadUserModel, saveCheckpoint, writeLayersModel } from '../lib/io';
import { Normalize, ReLUTheta, buildModel, modelLayers } from '../lib/models';

let root: string;
beforeAll(async () => {
  await initBackend();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-ckpt-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Replaces every weight (batch-norm moving statistics included) by seeded random values, so a round trip has something to lose. */
function randomiseWeights(m: tfl.LayersModel, seed: number): void {
  // getWeights() returns the variables themselves: not to be disposed here.
  tf.tidy(() => m.setWeights(m.getWeights().map((w, i) => tf.randomUniform(w.shape, 0.5, 1.5, 'float32', seed + i))));
}

function predictions(m: tfl.LayersModel, seed = 9): Float32Array {
  return tf.tidy(() => {
    const x = tf.randomUniform([3, ...(m.inputs[0].shape.slice(1) as number[])], 0, 1, 'float32', seed);
    return (m.predict(x) as tf.Tensor).dataSync() as Float32Array;
  });
}

describe('save and load', () => {
  test.each([
    ['lenet', { splitAfter: 2, theta: 0.7, seed: 1 }],
    ['resnet20', { splitAfter: 1, theta: 0.7, seed: 1 }],
  ] as const)('%s round-trips with identical predictions', async (arch, options) => {
    const m = buildModel(arch, options);
    randomiseWeights(m, 100);
    const dir = path.join(root, `rt-${arch}`);
    await saveCheckpoint(dir, m, { arch, archOptions: options, epoch: 3, metrics: { loss: 0.5 }, seeds: { train: 1 } });
    expect(checkpointExists(dir)).toBe(true);

    // the standard layers layout that tfjs-node's file:// handler reads
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.modelTopology).toBeDefined();
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    const nFloats = m.weights.reduce((s, w) => s + (w.shape as number[]).reduce((p, d) => p * d, 1), 0);
    expect(fs.statSync(path.join(dir, 'weights.bin')).size).toBe(4 * nFloats);

    const { model, meta } = await loadCheckpoint(dir, { expectArch: { arch, options } });
    expect(meta.epoch).toBe(3);
    expect(meta.metrics).toEqual({ loss: 0.5 });
    expect(Array.from(predictions(model))).toEqual(Array.from(predictions(m)));
    // the custom layers came back with their settings
    const layers = modelLayers(model);
    expect(layers[0].getClassName()).toBe('Normalize');
    const relus = layers.filter((l) => l.getClassName() === 'ReLUTheta');
    expect(relus.length).toBe(options.splitAfter);
    expect(relus.every((l) => (l.getConfig() as { theta: number }).theta === 0.7)).toBe(true);
    model.dispose();
    m.dispose();
  });

  test('a model.json path works as well as its directory', async () => {
    const m = buildModel('lenet', { seed: 2 });
    const dir = path.join(root, 'by-json');
    await saveCheckpoint(dir, m, { arch: 'lenet' });
    const { model } = await loadCheckpoint(path.join(dir, 'model.json'));
    expect(Array.from(predictions(model))).toEqual(Array.from(predictions(m)));
  });
});

describe('atomic writes', () => {
  test('a newer save replaces the older one and leaves no temporary directories', async () => {
    const dir = path.join(root, 'replace');
    const m = buildModel('lenet', { seed: 3 });
    await saveCheckpoint(dir, m, { arch: 'lenet', epoch: 1 });
    randomiseWeights(m, 7);
    await saveCheckpoint(dir, m, { arch: 'lenet', epoch: 2 });
    const { model, meta } = await loadCheckpoint(dir);
    expect(meta.epoch).toBe(2);
    expect(Array.from(predictions(model))).toEqual(Array.from(predictions(m)));
    expect(fs.readdirSync(root).filter((f) => f.startsWith('replace'))).toEqual(['replace']);
  });

  test('a failure in the middle of a save leaves the previous checkpoint intact', async () => {
    const dir = path.join(root, 'crash');
    const m = buildModel('lenet', { seed: 4 });
    await saveCheckpoint(dir, m, { arch: 'lenet', epoch: 1 });
    const before = predictions(m);
    const weightsBefore = fs.readFileSync(path.join(dir, 'weights.bin'));

    randomiseWeights(m, 8);
    // A BigInt cannot be written as JSON: the save throws after model.json and
    // weights.bin of the new checkpoint were already written (to the temporary directory).
    await expect(saveCheckpoint(dir, m, { arch: 'lenet', epoch: 2, bad: BigInt(1) })).rejects.toThrow(/BigInt/);

    expect(fs.readFileSync(path.join(dir, 'weights.bin')).equals(weightsBefore)).toBe(true);
    const { model, meta } = await loadCheckpoint(dir);
    expect(meta.epoch).toBe(1);
    expect(Array.from(predictions(model))).toEqual(Array.from(before));
    expect(fs.readdirSync(root).filter((f) => f.startsWith('crash'))).toEqual(['crash']);
  });

  test('a crash between the two renames is pointed out by the loader', async () => {
    const dir = path.join(root, 'halfway');
    await saveCheckpoint(dir, buildModel('lenet', { seed: 5 }), { arch: 'lenet' });
    fs.renameSync(dir, `${dir}.old-4242`);
    await expect(loadCheckpoint(dir)).rejects.toThrow(/halfway\.old-4242: rename it to .*halfway to recover/);
  });
});

describe('optimizer state', () => {
  test("Adam's step, m and v are saved and restore into a new optimizer", async () => {
    // A small dense net: what matters here is the optimizer's state, not the architecture (and conv backprop on the CPU backend is slow).
    const m = tfl.sequential({
      layers: [
        new Normalize({ mean: [0.5], std: [0.25], inputShape: [6] }),
        tfl.layers.dense({ units: 5 }),
        new ReLUTheta({ theta: 1 }),
        tfl.layers.dense({ units: 4 }),
      ],
    });
    const opt = tf.train.adam(1e-3);
    const x = tf.randomUniform([4, 6], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 4);
    for (let i = 0; i < 2; i++) {
      opt.minimize(() => tf.losses.softmaxCrossEntropy(y, m.apply(x) as tf.Tensor) as tf.Scalar);
    }
    const dir = path.join(root, 'adam');
    await saveCheckpoint(dir, m, { epoch: 1 }, { optimizer: opt });
    const saved = await opt.getWeights();

    const { meta, optimizerWeights } = await loadCheckpoint(dir);
    expect(meta.optimizer?.className).toBe('Adam');
    expect(optimizerWeights).toBeDefined();
    // iterations + one m and one v per trainable weight (2 kernels, 2 biases)
    expect(optimizerWeights!.length).toBe(1 + 2 * 4);
    expect(optimizerWeights!.map((w) => w.name)).toEqual(saved.map((w) => w.name));
    for (let i = 0; i < saved.length; i++) {
      expect(Array.from(optimizerWeights![i].tensor.dataSync())).toEqual(Array.from(saved[i].tensor.dataSync()));
    }
    expect(optimizerWeights![0].tensor.dataSync()[0]).toBe(2); // two steps taken
    const restored = tf.train.adam(1e-3);
    await restored.setWeights(optimizerWeights!);
    expect(restored.iterations).toBe(2);
  });
});

describe('errors', () => {
  test('a missing checkpoint names the path and what a checkpoint contains', async () => {
    const p = path.join(root, 'nope');
    await expect(loadCheckpoint(p)).rejects.toThrow(CheckpointError);
    await expect(loadCheckpoint(p)).rejects.toThrow(/no checkpoint at .*nope: expected a directory with model\.json, weights\.bin and meta\.json/);
  });

  test('a missing weights file is named', async () => {
    const dir = path.join(root, 'noweights');
    await saveCheckpoint(dir, buildModel('lenet', { seed: 7 }), { arch: 'lenet' });
    fs.rmSync(path.join(dir, 'weights.bin'));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/noweights\/weights\.bin is missing/);
  });

  test('a checkpoint of another architecture says what was expected and what was found', async () => {
    const dir = path.join(root, 'lenet1');
    const m = buildModel('lenet', { splitAfter: 1, seed: 8 });
    await saveCheckpoint(dir, m, { arch: 'lenet', archOptions: { splitAfter: 1 } });
    await expect(loadCheckpoint(dir, { expectArch: 'resnet20' })).rejects.toThrow(
      /holds 'lenet' \{"splitAfter":1\}, but 'resnet20' was expected/,
    );
    await expect(loadCheckpoint(dir, { expectArch: { arch: 'lenet', options: { splitAfter: 2 } } })).rejects.toThrow(
      /differs from 'lenet' \{"splitAfter":2\}: layer 5: expected ReLUTheta theta=1, found ReLU/,
    );
    await expect(loadCheckpoint(dir, { expectArch: { arch: 'lenet', options: { splitAfter: 1, theta: 0.5 } } })).rejects.toThrow(/theta=0\.5, found ReLUTheta theta=1/);
    await expect(loadCheckpoint(dir, { expectModel: buildModel('lenet', { splitAfter: 3 }) })).rejects.toThrow(/differs from the structure/);
    await expect(loadCheckpoint(dir, { expectArch: { arch: 'lenet', options: { splitAfter: 1 } } })).resolves.toBeDefined();
  });
});

describe('user-supplied TensorFlow.js models', () => {
  test('a plain layers model with sharded weights loads and predicts the same', async () => {
    const m = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [32, 32, 3], filters: 4, kernelSize: 3, activation: 'relu' }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 10 }),
      ],
    });
    const dir = path.join(root, 'user');
    fs.mkdirSync(dir);
    await writeLayersModel(dir, m);
    // split weights.bin into two shards, as tensorflowjs_converter writes them
    const bin = fs.readFileSync(path.join(dir, 'weights.bin'));
    const cut = 1000;
    fs.writeFileSync(path.join(dir, 'group1-shard1of2.bin'), bin.subarray(0, cut));
    fs.writeFileSync(path.join(dir, 'group1-shard2of2.bin'), bin.subarray(cut));
    fs.rmSync(path.join(dir, 'weights.bin'));
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    json.weightsManifest[0].paths = ['group1-shard1of2.bin', 'group1-shard2of2.bin'];
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));

    const loaded = await loadUserModel(dir);
    expect(Array.from(predictions(loaded))).toEqual(Array.from(predictions(m)));
  });

  test('graph models, unknown layer classes and missing files give clear errors', async () => {
    const dir = path.join(root, 'bad');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
    await expect(loadUserModel(dir)).rejects.toThrow(/graph model; splitz needs a layers model/);

    const m = buildModel('lenet', { seed: 9 });
    const dir2 = path.join(root, 'unknown-layer');
    fs.mkdirSync(dir2);
    await writeLayersModel(dir2, m);
    const text = fs.readFileSync(path.join(dir2, 'model.json'), 'utf8').replace(/"ReLUTheta"/g, '"MyClippedReLU"');
    fs.writeFileSync(path.join(dir2, 'model.json'), text);
    await expect(loadUserModel(dir2)).rejects.toThrow(/layer class 'MyClippedReLU'.*register it/);

    await expect(loadUserModel(path.join(root, 'absent', 'model.json'))).rejects.toThrow(/absent\/model\.json not found/);
  });
});
