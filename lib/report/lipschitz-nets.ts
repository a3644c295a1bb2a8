/**
 * The networks of the Lipschitz figures (Fig. 1, 5, 6) and the rows of the
 * three CSVs those figures are drawn from (scripts/figures.ts documents the
 * columns):
 *
 *   global_layers.csv   figure (1a|5), net, layer, kind, lipschitz, upper, upper_method, note
 *   local_images.csv    figure (1b|6a), net, gamma, image, layer, bound, note
 *   local_testset.csv   figure (1c|6b), net, gamma, image, layer, bound, note
 *
 * Notebook 05 computes them for untrained nets (quick mode);
 * `npm run lipschitz-nets` (scripts/lipschitz-nets.ts) for the same nets
 * trained on CIFAR-10 here. Both call these functions, so the two sets of
 * CSVs differ only in the weights and in what their `note` says.
 *
 * `lipschitz` is the power-iteration estimate of a layer's spectral norm (the
 * paper's method, a lower estimate); `upper` a proven upper bound. The local
 * bound at depth k is the product of the first k factors of eq. 18.
 */
import seedrandom from 'seedrandom';
import * as tfl from '@tensorflow/tfjs-layers';
import { tf } from '../backend';
import { ImageDataset } from '../data/types';
import { BuildOptions, buildModel } from '../models';
import { SplitModel, splitModel } from '../models/split';
import { BoundMode, localLipschitz } from '../lipschitz/local';
import { globalLayerLipschitz } from '../lipschitz/global';

export type LipschitzArch = 'vgg16' | 'resnet18' | 'squeezenet' | '4c3f' | 'alexnet' | 'resnet34';

export interface LipschitzNet {
  arch: LipschitzArch;
  /** Name in the figures, e.g. 'VGG-16'. */
  label: string;
  /** Figure of its per-layer spectral norms. */
  figure: '1a' | '5';
  /**
   * When the net also serves the local-bound figures: which (per image, test-set
   * distribution) and its name there. Such a net is built with
   * splitAfter = LOCAL_DEPTH, so its first LOCAL_DEPTH affine layers use
   * ReLU_theta (theta = 1) and can form f_L.
   */
  local?: { figures: readonly ['1b', '1c'] | readonly ['6a', '6b']; label: string };
  /** Adam learning rate it is trained with by default (`npm run lipschitz-nets -- --lr` overrides it for all nets). */
  learningRate: number;
}

/** Depths 1..LOCAL_DEPTH of the local-bound figures (Fig. 1b/c, 6a/b show the first four layers). */
export const LOCAL_DEPTH = 4;
/** gamma of the local-bound figures (l2 radius, pixels in [0, 1]). */
export const LOCAL_GAMMA = 0.1;

/**
 * The six nets of Fig. 1 and 5. Fig. 6 uses AlexNet in the paper; ours cannot
 * put four layers in f_L (its overlapping 3x3/2 max-pool is not 1-Lipschitz in
 * l2, so splitModel refuses it), so 4C3F serves Fig. 6 instead.
 */
export const LIPSCHITZ_NETS: readonly LipschitzNet[] = [
  // VGG-16 has no batch norm and 16 layers: with Adam at 1e-3 it stays at chance (loss 2.302 after 250
  // steps at width 0.25, measured here); at 1e-4 it learns within the first 50 steps.
  { arch: 'vgg16', label: 'VGG-16', figure: '1a', local: { figures: ['1b', '1c'], label: 'VGG-16' }, learningRate: 1e-4 },
  { arch: 'resnet18', label: 'ResNet-18', figure: '1a', learningRate: 1e-3 },
  { arch: 'squeezenet', label: 'SqueezeNet', figure: '1a', learningRate: 1e-3 },
  { arch: '4c3f', label: '4C3F', figure: '5', local: { figures: ['6a', '6b'], label: '4C3F (Fig. 6 uses AlexNet, see text)' }, learningRate: 1e-3 },
  { arch: 'alexnet', label: 'AlexNet', figure: '5', learningRate: 1e-3 },
  { arch: 'resnet34', label: 'ResNet-34', figure: '5', learningRate: 1e-3 },
];

/** The entry of LIPSCHITZ_NETS for `arch`, or an error naming the six. */
export function lipschitzNet(arch: string): LipschitzNet {
  const n = LIPSCHITZ_NETS.find((x) => x.arch === arch);
  if (!n) throw new Error(`'${arch}' is not a net of the Lipschitz figures; they are: ${LIPSCHITZ_NETS.map((x) => x.arch).join(', ')}`);
  return n;
}

/** Build options of a net: splitAfter = LOCAL_DEPTH for the nets of the local figures (the same weights either way). */
export function lipschitzBuildOptions(net: LipschitzNet, options: { width: number; seed?: number }): BuildOptions {
  return { width: options.width, seed: options.seed ?? 0, ...(net.local ? { splitAfter: LOCAL_DEPTH } : {}) };
}

export function buildLipschitzNet(net: LipschitzNet, options: { width: number; seed?: number }): tfl.LayersModel {
  return buildModel(net.arch, lipschitzBuildOptions(net, options));
}

/**
 * The net column: its label, the width and where its weights come from
 * ('untrained', 'trained 2 epochs on CIFAR-10', ...).
 */
export function netName(label: string, width: number, weights: string): string {
  return `${label} (width ${width}, ${weights})`;
}

/** The method of a local bound, as the net column of the local CSVs names it. */
export function boundMethodName(mode: BoundMode): string {
  return mode === 'paper' ? 'power iteration' : 'sound upper bound';
}

/**
 * Seed of the power iterations' random start vectors. Not 0: tf.randomNormal
 * treats seed 0 as "no seed" (Math.random), which made the estimates change
 * from run to run by a few percent.
 */
export const POWER_SEED = 1;

export type GlobalLayerRow = {
  figure: '1a' | '5';
  net: string;
  layer: number;
  kind: 'conv' | 'dense';
  lipschitz: number;
  upper: number;
  upper_method: string;
  note: string;
};

export type LocalBoundRow = {
  figure: '1b' | '1c' | '6a' | '6b';
  net: string;
  gamma: number;
  /** A label ('test #12 (cat)') in local_images.csv, the test-set index in local_testset.csv. */
  image: string | number;
  /** Depth k: the bound of the first k affine layers. */
  layer: number;
  bound: number;
  note: string;
};

/**
 * One row per affine layer of `model` (conv and dense, in order): the
 * power-iteration estimate of its spectral norm on the input shape it sees
 * (`iterations` steps, 50 by default) and a proven upper bound.
 */
export function globalLayerRows(model: tfl.LayersModel, options: { figure: '1a' | '5'; net: string; note: string; iterations?: number; seed?: number }): GlobalLayerRow[] {
  const norms = globalLayerLipschitz(model, { mode: 'both', iterations: options.iterations ?? 50, seed: options.seed ?? POWER_SEED });
  return norms.map((l, k) => ({
    figure: options.figure,
    net: options.net,
    layer: k + 1,
    kind: l.kind,
    lipschitz: l.powerIteration,
    upper: l.upper,
    upper_method: l.upperMethod,
    note: options.note,
  }));
}

/** A one-line summary of global rows, for progress output. */
export function describeGlobalRows(rows: GlobalLayerRow[]): string {
  const v = rows.map((r) => r.lipschitz);
  return `${rows.length} affine layers; power iteration ${Math.min(...v).toFixed(2)} … ${Math.max(...v).toFixed(2)}`;
}

export interface DepthBoundOptions {
  gamma?: number;
  /** 'paper' (power iteration, default) or 'sound' (proven upper bound; tens of seconds per image for VGG-16's first layers). */
  mode?: BoundMode;
  /** Power-iteration steps (default 20). */
  iterations?: number;
  /** Seed of the start vectors (default POWER_SEED; layer k uses seed + k). */
  seed?: number;
  /** Images per localLipschitz call (default 50). */
  batchSize?: number;
}

/**
 * L(x, gamma) of the first k affine layers of f_L, k = 1..s, for test images
 * `indices` of `data`: out[i][k-1]. One localLipschitz call per batch gives
 * every depth, since the bound of eq. 18 is the product of per-layer factors.
 */
export function depthBounds(split: SplitModel, data: ImageDataset, indices: readonly number[], options: DepthBoundOptions = {}): number[][] {
  const d = data.shape[0] * data.shape[1] * data.shape[2];
  const batchSize = options.batchSize ?? 50;
  const out: number[][] = [];
  for (let s = 0; s < indices.length; s += batchSize) {
    const chunk = indices.slice(s, s + batchSize);
    const flat = new Float32Array(chunk.length * d);
    chunk.forEach((i, b) => {
      if (!Number.isInteger(i) || i < 0 || i >= data.n) throw new Error(`depthBounds: image ${i} is out of range for ${data.name} with ${data.n} images`);
      flat.set(data.images.subarray(i * d, (i + 1) * d), b * d);
    });
    const x = tf.tensor4d(flat, [chunk.length, ...data.shape]);
    try {
      const r = localLipschitz(split, x, options.gamma ?? LOCAL_GAMMA, { mode: options.mode ?? 'paper', iterations: options.iterations ?? 20, seed: options.seed ?? POWER_SEED });
      r.vectors?.forEach((v) => v.dispose());
      chunk.forEach((_, b) => {
        let p = 1;
        out.push(r.perLayer.map((f) => (p *= f[b])));
      });
    } finally {
      x.dispose();
    }
  }
  return out;
}

/**
 * The images of the local figures in a test set of n images: three drawn with
 * seed 'fig1-images' (the per-image panels, Fig. 1b / 6a) and every
 * (n / count)-th image, `count` of them (the distribution panels, Fig. 1c /
 * 6b; 200 by default, every 50th of CIFAR-10's 10,000).
 */
export function localFigureImages(n: number, count = 200): { images: number[]; testset: number[] } {
  if (!Number.isInteger(n) || n < 1) throw new Error(`localFigureImages: the test set must have at least one image, got ${n}`);
  const rng = seedrandom('fig1-images');
  const images = Array.from({ length: 3 }, () => Math.floor(rng() * n));
  const m = Math.min(count, n);
  const stride = Math.floor(n / m);
  return { images, testset: Array.from({ length: m }, (_, i) => i * stride) };
}

/** 'test #1384 (automobile)': how the per-image figures name an image. */
export function imageLabel(data: ImageDataset, i: number): string {
  return `test #${i} (${data.classes[data.labels[i]] ?? data.labels[i]})`;
}

export interface LocalRowsOptions extends DepthBoundOptions {
  /** The net's label in the local figures and its weights ('untrained', ...): see netName. */
  label: string;
  width: number;
  weights: string;
  figures: readonly ['1b', '1c'] | readonly ['6a', '6b'];
  note: string;
  /** Test-set indices of the per-image panel and of the distribution panel. */
  images: readonly number[];
  testset: readonly number[];
}

/**
 * The rows of local_images.csv and local_testset.csv for one split model
 * (depths 1..s, where s is the split's number of affine layers).
 */
export function localBoundRows(split: SplitModel, data: ImageDataset, options: LocalRowsOptions): { images: LocalBoundRow[]; testset: LocalBoundRow[] } {
  const gamma = options.gamma ?? LOCAL_GAMMA;
  const net = `${netName(options.label, options.width, options.weights)}, ${boundMethodName(options.mode ?? 'paper')}`;
  const perImage = depthBounds(split, data, options.images, options);
  const all = depthBounds(split, data, options.testset, options);
  const images: LocalBoundRow[] = [];
  const testset: LocalBoundRow[] = [];
  options.images.forEach((i, b) =>
    perImage[b].forEach((bound, k) => images.push({ figure: options.figures[0], net, gamma, image: imageLabel(data, i), layer: k + 1, bound, note: options.note })),
  );
  options.testset.forEach((i, b) => all[b].forEach((bound, k) => testset.push({ figure: options.figures[1], net, gamma, image: i, layer: k + 1, bound, note: options.note })));
  return { images, testset };
}

/** The three CSVs' rows. */
export interface LipschitzTables {
  global: GlobalLayerRow[];
  images: LocalBoundRow[];
  testset: LocalBoundRow[];
}

/** File names of the three tables, as scripts/figures.ts and notebook 05 read them. */
export const LIPSCHITZ_FILES = { global: 'global_layers.csv', images: 'local_images.csv', testset: 'local_testset.csv' } as const;

export interface NetTablesOptions {
  width: number;
  /** Where the weights come from, for the net column: 'untrained', 'trained 2 epochs on CIFAR-10', ... */
  weights: string;
  /** The note of this net's rows (scripts/figures.ts shows the distinct notes of a figure as its subtitle). */
  note: string;
  /** The note of its local-bound rows, when it differs (default `note`). */
  localNote?: string;
  /** Test set of the local bounds; without it only the global rows are computed. */
  test?: ImageDataset;
  /** Images of the local figures (default localFigureImages(test.n, testsetImages)). */
  images?: readonly number[];
  testset?: readonly number[];
  /** Size of the distribution panel's image set when `testset` is not given (default 200). */
  testsetImages?: number;
  /** Power-iteration steps of the global norms (default 50) and of the local bounds (default 20). */
  globalIterations?: number;
  localIterations?: number;
  gamma?: number;
  batchSize?: number;
}

/**
 * Every row one net contributes: its per-layer norms, and, for the nets of
 * the local figures (built with splitAfter = LOCAL_DEPTH), the local bounds of
 * its first LOCAL_DEPTH layers at the figure images.
 */
export function netTables(net: LipschitzNet, model: tfl.LayersModel, options: NetTablesOptions): LipschitzTables {
  const global = globalLayerRows(model, { figure: net.figure, net: netName(net.label, options.width, options.weights), note: options.note, iterations: options.globalIterations });
  if (!net.local || !options.test) return { global, images: [], testset: [] };
  const picks = localFigureImages(options.test.n, options.testsetImages);
  const local = localBoundRows(splitModel(model, LOCAL_DEPTH), options.test, {
    label: net.local.label,
    width: options.width,
    weights: options.weights,
    figures: net.local.figures,
    note: options.localNote ?? options.note,
    images: options.images ?? picks.images,
    testset: options.testset ?? picks.testset,
    gamma: options.gamma,
    iterations: options.localIterations,
    batchSize: options.batchSize,
  });
  return { global, ...local };
}
