/**
 * The nets of the Lipschitz figures trained here (scripts/lipschitz-nets.ts)
 * on a tiny synthetic dataset: the three CSVs have the columns and rows
 * scripts/figures.ts reads, the note says what ran, a second call resumes
 * (trains nothing again), a checkpoint made with other settings is refused,
 * bad options are one-line errors. Also trainBasic's crop/flip option.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import seedrandom from 'seedrandom';
import { initBackend } from '../lib/backend';
import { ImageDataset } from '../lib/data/types';
import { parseCsv } from '../lib/report/render';
import { buildModel } from '../lib/models';
import { trainBasic } from '../lib/train/basic';
import { LOCAL_DEPTH, localFigureImages } from '../lib/report/lipschitz-nets';
import { LipschitzNetsOptions, UsageError, checkpointDir, evenSubset, parseArgs, runLipschitzNets, runNote, stepsFor } from '../scripts/lipschitz-nets';

const ROOT = path.join(__dirname, '..');

function synthetic(name: string, n: number, seed: string): ImageDataset {
  const rng = seedrandom(seed);
  return {
    name,
    images: Float32Array.from({ length: n * 32 * 32 * 3 }, () => rng()),
    labels: Uint8Array.from({ length: n }, (_, i) => i % 10),
    n,
    shape: [32, 32, 3],
    classes: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
  };
}

let dir: string;
let base: LipschitzNetsOptions;
beforeAll(async () => {
  await initBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-lipnets-'));
  base = {
    train: synthetic('synthetic', 32, 'train'),
    test: synthetic('synthetic', 10, 'test'),
    width: 0.25,
    epochs: 1,
    batchSize: 16,
    learningRate: 1e-3,
    augment: true,
    nets: ['4c3f', 'alexnet'],
    runsDir: path.join(dir, 'runs'),
    outDir: path.join(dir, 'out'),
    globalIterations: 5,
    localIterations: 3,
    testsetImages: 4,
    log: () => undefined,
  };
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const read = (f: string) => parseCsv(fs.readFileSync(path.join(dir, 'out', f), 'utf8'));
const header = (f: string) => fs.readFileSync(path.join(dir, 'out', f), 'utf8').split('\n')[0];

test('trains each net, checkpoints it, writes the three CSVs and provenance.json', async () => {
  const lines: string[] = [];
  const r = await runLipschitzNets({ ...base, log: (l) => lines.push(l) });
  expect(r.nets.map((n) => [n.arch, n.trained, n.steps])).toEqual([
    ['4c3f', 'now', 2],
    ['alexnet', 'now', 2],
  ]);
  for (const n of r.nets) {
    expect(fs.existsSync(path.join(checkpointDir(base, n.arch), 'model.json'))).toBe(true);
    expect(n.test_accuracy).toBeGreaterThanOrEqual(0);
    expect(n.test_accuracy).toBeLessThanOrEqual(1);
  }
  expect(path.basename(checkpointDir(base, '4c3f'))).toBe('4c3f-w0.25-e1');
  expect(lines.filter((l) => / epoch 1\/1: loss \d.* test accuracy /.test(l))).toHaveLength(2);

  expect(header('global_layers.csv')).toBe('figure,net,layer,kind,lipschitz,upper,upper_method,note');
  expect(header('local_images.csv')).toBe('figure,net,gamma,image,layer,bound,note');
  expect(header('local_testset.csv')).toBe('figure,net,gamma,image,layer,bound,note');
  const global = read('global_layers.csv');
  // 4C3F: 4 conv + 3 dense; AlexNet: 5 conv + 3 dense; both in Fig. 5.
  expect(global.map((g) => `${g.net}:${g.layer}`)).toEqual([
    ...[1, 2, 3, 4, 5, 6, 7].map((k) => `4C3F (width 0.25, trained 1 epoch):${k}`),
    ...[1, 2, 3, 4, 5, 6, 7, 8].map((k) => `AlexNet (width 0.25, trained 1 epoch):${k}`),
  ]);
  expect(new Set(global.map((g) => g.figure))).toEqual(new Set([5]));
  for (const g of global) expect(Number(g.lipschitz)).toBeGreaterThan(0);
  // One note for the figure, naming both nets' accuracies.
  const notes = [...new Set(global.map((g) => String(g.note)))];
  expect(notes).toHaveLength(1);
  expect(notes[0]).toMatch(/^ours: trained on CIFAR-10 here \(synthetic\).*width 0\.25, 1 epoch\(s\).*2 Adam steps, batch 16.*crop \+ flip.*4C3F \d+\.\d%, AlexNet \d+\.\d%$/);

  const images = read('local_images.csv');
  const picks = localFigureImages(10, 4);
  expect(images).toHaveLength(3 * LOCAL_DEPTH);
  expect(images.map((r) => r.image)).toEqual(picks.images.flatMap((i) => Array(LOCAL_DEPTH).fill(`test #${i} (${base.test.classes[base.test.labels[i]]})`)));
  expect(new Set(images.map((r) => `${r.figure} ${r.net} ${r.gamma}`))).toEqual(new Set(['6a 4C3F (Fig. 6 uses AlexNet, see text) (width 0.25, trained 1 epoch), power iteration 0.1']));
  expect(String(images[0].note)).toMatch(/4C3F \d+\.\d%; f_L = its first 4 layers.*instead of the paper's AlexNet/);
  const testset = read('local_testset.csv');
  expect(testset.map((r) => `${r.figure}:${r.image}:${r.layer}`)).toEqual(picks.testset.flatMap((i) => [1, 2, 3, 4].map((k) => `6b:${i}:${k}`)));
  for (const r of [...images, ...testset]) expect(Number(r.bound)).toBeGreaterThan(0);

  const prov = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'provenance.json'), 'utf8'));
  expect(prov.nets.map((n: { arch: string }) => n.arch)).toEqual(['4c3f', 'alexnet']);
  expect(prov.nets[0].train_seconds).toBeGreaterThan(0);
  expect(typeof prov.backend).toBe('string');
  expect(prov.machine.cores).toBeGreaterThan(0);
  expect(prov.files).toEqual(['global_layers.csv', 'local_images.csv', 'local_testset.csv']);
  // The code version and the trained weights travel with the CSVs.
  expect(prov.code.commit).toMatch(/^([0-9a-f]{40}|unknown)$/);
  expect(prov.nets[0].trained_with_code).toBe(prov.code.commit);
  expect(prov.checkpoints.map((c: { dir: string }) => c.dir)).toEqual([path.join('checkpoints', '4c3f-w0.25-e1'), path.join('checkpoints', 'alexnet-w0.25-e1')]);
  for (const c of prov.checkpoints) {
    expect(fs.readdirSync(path.join(dir, 'out', c.dir)).sort()).toEqual(['meta.json', 'model.json', 'weights.bin']);
    // Buffer.equals: jest's toEqual walks a 5 MB buffer byte by byte for a minute and a half.
    expect(fs.readFileSync(path.join(dir, 'out', c.dir, 'weights.bin')).equals(fs.readFileSync(path.join(dir, 'runs', path.basename(c.dir), 'weights.bin')))).toBe(true);
  }
});

test('a second call resumes: no net is trained again, the CSVs are the same', async () => {
  const before = fs.readFileSync(path.join(dir, 'out', 'global_layers.csv'), 'utf8');
  const saved = fs.readFileSync(path.join(checkpointDir(base, '4c3f'), 'meta.json'), 'utf8');
  const lines: string[] = [];
  const r = await runLipschitzNets({ ...base, log: (l) => lines.push(l) });
  expect(r.nets.map((n) => n.trained)).toEqual(['resumed', 'resumed']);
  expect(lines.filter((l) => l.includes('not trained again'))).toHaveLength(2);
  expect(lines.some((l) => l.includes('epoch'))).toBe(false);
  expect(fs.readFileSync(path.join(checkpointDir(base, '4c3f'), 'meta.json'), 'utf8')).toBe(saved);
  expect(fs.readFileSync(path.join(dir, 'out', 'global_layers.csv'), 'utf8')).toBe(before);
});

test('a checkpoint trained with other settings is refused; bad options are UsageErrors', async () => {
  await expect(runLipschitzNets({ ...base, learningRate: 0.01 })).rejects.toThrow(/4c3f-w0\.25-e1 holds 4c3f trained with .*"lr":0\.001.*not .*"lr":0\.01.*remove it/);
  await expect(runLipschitzNets({ ...base, width: 0 })).rejects.toThrow(UsageError);
  await expect(runLipschitzNets({ ...base, epochs: -1 })).rejects.toThrow(/--epochs must be a positive number/);
  await expect(runLipschitzNets({ ...base, batchSize: 33 })).rejects.toThrow(/--batch-size must be an integer in 1\.\.32/);
  await expect(runLipschitzNets({ ...base, subset: 8 })).rejects.toThrow(/--batch-size must be an integer in 1\.\.8 /);
  await expect(runLipschitzNets({ ...base, nets: ['vgg17' as never] })).rejects.toThrow(/not a net of the Lipschitz figures/);
});

test('the note names the JPEG re-encoding and the subsets', () => {
  const o = { ...base, train: { ...base.train, name: 'cifar10-jpeg' }, subset: 16, testSubset: 5 };
  const note = runNote(o, [{ arch: 'vgg16', label: 'VGG-16', test_accuracy: 0.4567, steps: 1 }]);
  expect(note).toContain('cifar10-jpeg: the JPEG re-encoding of CIFAR-10, lossy, not bit-identical to the official release');
  expect(note).toContain('1 epoch(s) on 16 of the 32 training images (1 Adam steps');
  expect(note).toContain('test accuracy on 5 of the 10 test images: VGG-16 45.7%');
  expect(runNote(base, [])).toContain('on the 32 training images');
  // Each net's own learning rate unless --lr sets one for all.
  const both = [{ arch: 'vgg16', label: 'VGG-16', test_accuracy: 0.5, steps: 1 }, { arch: '4c3f', label: '4C3F', test_accuracy: 0.5, steps: 1 }] as const;
  expect(runNote({ ...base, learningRate: undefined }, both)).toContain('lr VGG-16 0.0001, 4C3F 0.001,');
  expect(runNote({ ...base, learningRate: 0.002 }, both)).toContain('lr 0.002,');
  expect(stepsFor(50000, 128, 2)).toEqual({ perEpoch: 390, total: 780 });
  expect(stepsFor(50000, 128, 0.02).total).toBe(8);
});

test('subsets are evenly spaced: every class of a set stored class by class', () => {
  const sorted: ImageDataset = { ...synthetic('sorted', 100, 's'), labels: Uint8Array.from({ length: 100 }, (_, i) => Math.floor(i / 10)) };
  const s = evenSubset(sorted, 20, '--subset');
  expect(Array.from(s.labels)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]);
  expect(Array.from(evenSubset(sorted, 30, '--subset').labels.slice(0, 4))).toEqual([0, 0, 0, 0]); // every 3rd: 0, 3, 6, 9
  expect(evenSubset(sorted, undefined, '--subset')).toBe(sorted);
  expect(() => evenSubset(sorted, 101, '--subset')).toThrow('--subset must be an integer in 1..100 (the images of sorted), got 101');
});

test('command line: defaults, and bad options as one-line errors before any data is loaded', () => {
  expect(parseArgs([])).toMatchObject({ width: 0.25, epochs: 2, batchSize: 128, learningRate: undefined, augment: true, nets: undefined, subset: undefined, logEvery: 50 });
  expect(parseArgs(['--lr', '0.01']).learningRate).toBe(0.01);
  expect(parseArgs([]).outDir).toBe(path.join(ROOT, 'data', 'results', 'lipschitz'));
  expect(parseArgs(['--epochs', '0.02', '--nets', 'vgg16, 4c3f', '--no-augment', '--subset', '500', '--out', 'x'])).toMatchObject({
    epochs: 0.02,
    nets: ['vgg16', '4c3f'],
    augment: false,
    subset: 500,
    outDir: path.resolve('x'),
  });
  for (const [args, msg] of [
    [['--width', 'abc'], "--width must be a number, got 'abc'"],
    [['--width', '-1'], '--width must be a positive number'],
    [['--epochs', '0'], '--epochs must be a positive number'],
    [['--nets', 'vgg16,vgg17'], "--nets: 'vgg17' is not a net of the Lipschitz figures"],
    [['--batch-size', '1.5'], '--batch-size must be a positive integer'],
    [['--subset', '0'], '--subset must be a positive integer'],
    [['--bogus'], "unknown option '--bogus'"],
  ] as const) {
    expect(() => parseArgs([...args])).toThrow(UsageError);
    expect(() => parseArgs([...args])).toThrow(msg);
  }
  const r = spawnSync(process.execPath, [require.resolve('ts-node/dist/bin.js'), '--transpile-only', path.join(ROOT, 'scripts', 'lipschitz-nets.ts'), '--nets', 'vgg17'], { encoding: 'utf8', cwd: ROOT });
  expect(r.status).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^lipschitz-nets: --nets: 'vgg17' is not a net of the Lipschitz figures/);
}, 60000);

test('trainBasic augment: crop + flip changes the batches, a zero crop without flips does not', () => {
  const data = synthetic('synthetic', 32, 'aug');
  const run = (augment: boolean | { pad: number; flipProb: number } | undefined) => {
    const m = buildModel('4c3f', { width: 0.125, seed: 0 });
    const losses = trainBasic(m, data, { steps: 3, batchSize: 8, seed: 1, augment });
    m.dispose();
    return losses;
  };
  const plain = run(undefined);
  expect(run({ pad: 0, flipProb: 0 })).toEqual(plain);
  expect(run(true)).not.toEqual(plain);
});
