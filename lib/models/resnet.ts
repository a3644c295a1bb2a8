/**
 * Residual networks with basic blocks, as functional tfjs-layers models.
 *
 * - `cifarResnet(depth)`: the CIFAR-10 ResNet of Cohen et al. (2019), code
 *   from bearpaw/pytorch-classification: stem conv3x3(16) + BN + ReLU, three
 *   stages of (depth - 2) / 6 basic blocks at 16/32/64 channels (strides
 *   1/2/2), a 1x1 conv + BN shortcut where the shape changes ("option B"),
 *   global average pooling, dense 10. Depth 110 is the paper's CIFAR-10 model;
 *   20/32/56 are the same family for budgets a CPU can carry.
 * - `resnet18Cifar` / `resnet34Cifar`: He et al.'s ResNet-18/34 ([2,2,2,2] /
 *   [3,4,6,3] basic blocks at 64/128/256/512 channels, strides 1/2/2/2) on
 *   32x32 inputs. By default the ImageNet stem is kept (7x7/2 conv + BN +
 *   ReLU + 3x3/2 max-pool), so feature maps run 16 -> 8 -> 8/4/2/1; with
 *   `stem: 'cifar'` it becomes one 3x3/1 conv without max-pool, the usual
 *   CIFAR adaptation (kuangliu/pytorch-cifar). Used for the Lipschitz figures.
 *
 * Every model starts with `Normalize`, so f_L includes the normalisation and
 * radii are in raw pixel space (METHOD.md).
 *
 * Split: the stem conv is the only affine layer before the residual graph
 * branches, so splitAfter is 0 (RS) or 1. With splitAfter = 1 the stem is
 * conv3x3 (with bias) followed directly by ReLU_theta, WITHOUT the batch
 * norm of the original: f_L = Normalize -> conv -> ReLU_theta is then exactly
 * the one-layer chain whose local bound Appendix B computes (a batch norm in
 * between would be one more affine map inside the bound). This is a
 * deviation from Cohen et al.'s network, made for SPLITZ only; splitAfter = 0
 * keeps the original stem (conv without bias + BN + ReLU).
 *
 * Padding is TensorFlow's 'same': for the stride-2 3x3 convs it pads
 * (0 before, 1 after) where PyTorch pads (1, 1). Output shapes and parameter
 * counts are identical; only the alignment of the sampling grid differs.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { CIFAR10_MEAN, CIFAR10_STD } from '../data/stats';
import { InitSource, ZooOptions, checkSeed, checkSplit, checkWidth, scaled } from './common';
import { Normalize, ReLUTheta } from './layers';
import { batchNormalization } from './batchnorm';

export type CifarResnetDepth = 20 | 32 | 56 | 110;
export const CIFAR_RESNET_DEPTHS: readonly CifarResnetDepth[] = [20, 32, 56, 110];

/** PyTorch's BatchNorm2d defaults (momentum 0.1 there is 0.9 here: the weight of the old running value). */
const BN = { axis: -1, momentum: 0.9, epsilon: 1e-5 };

type ST = tfl.SymbolicTensor;

interface Stage {
  planes: number;
  blocks: number;
  stride: number;
}

interface BasicResnetSpec {
  name: string;
  stemChannels: number;
  /** ImageNet stem: 7x7/2 conv and a 3x3/2 max-pool; otherwise one 3x3/1 conv. */
  imagenetStem: boolean;
  stages: Stage[];
  options: ZooOptions;
}

function basicBlock(x: ST, inPlanes: number, planes: number, stride: number, prefix: string, init: InitSource): ST {
  const conv = (filters: number, kernelSize: number, s: number, name: string) =>
    tfl.layers.conv2d({ filters, kernelSize, strides: s, padding: 'same', useBias: false, kernelInitializer: init.heConv(), name });
  let y = conv(planes, 3, stride, `${prefix}_conv1`).apply(x) as ST;
  y = batchNormalization({ ...BN, name: `${prefix}_bn1` }).apply(y) as ST;
  y = tfl.layers.reLU({ name: `${prefix}_relu1` }).apply(y) as ST;
  y = conv(planes, 3, 1, `${prefix}_conv2`).apply(y) as ST;
  y = batchNormalization({ ...BN, name: `${prefix}_bn2` }).apply(y) as ST;
  let shortcut = x;
  if (stride !== 1 || inPlanes !== planes) {
    shortcut = conv(planes, 1, stride, `${prefix}_down_conv`).apply(x) as ST;
    shortcut = batchNormalization({ ...BN, name: `${prefix}_down_bn` }).apply(shortcut) as ST;
  }
  const sum = tfl.layers.add({ name: `${prefix}_add` }).apply([y, shortcut]) as ST;
  return tfl.layers.reLU({ name: `${prefix}_relu2` }).apply(sum) as ST;
}

function basicResnet(spec: BasicResnetSpec): tfl.LayersModel {
  const o = spec.options;
  const splitAfter = checkSplit(spec.name, o.splitAfter, 1, 1, 'only the stem conv precedes the residual branches');
  const width = checkWidth(spec.name, o.width);
  checkSeed(spec.name, o.seed);
  const theta = o.theta ?? 1;
  const init = new InitSource(o.seed);

  const input = tfl.input({ shape: [32, 32, 3], name: 'image' });
  let x = new Normalize({ mean: CIFAR10_MEAN, std: CIFAR10_STD, name: 'normalize' }).apply(input) as ST;
  const stem = scaled(spec.stemChannels, width);
  const kernelSize = spec.imagenetStem ? 7 : 3;
  const strides = spec.imagenetStem ? 2 : 1;
  if (splitAfter >= 1) {
    // f_L = Normalize -> conv -> ReLU_theta: no batch norm inside the bounded part (see the header).
    x = tfl.layers.conv2d({ filters: stem, kernelSize, strides, padding: 'same', useBias: true, kernelInitializer: init.heConv(), name: 'stem_conv' }).apply(x) as ST;
    x = new ReLUTheta({ theta, name: 'stem_relu_theta' }).apply(x) as ST;
  } else {
    x = tfl.layers.conv2d({ filters: stem, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: init.heConv(), name: 'stem_conv' }).apply(x) as ST;
    x = batchNormalization({ ...BN, name: 'stem_bn' }).apply(x) as ST;
    x = tfl.layers.reLU({ name: 'stem_relu' }).apply(x) as ST;
  }
  if (spec.imagenetStem) x = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'stem_pool' }).apply(x) as ST;
  let inPlanes = stem;
  spec.stages.forEach((stage, si) => {
    const planes = scaled(stage.planes, width);
    for (let b = 0; b < stage.blocks; b++) {
      x = basicBlock(x, inPlanes, planes, b === 0 ? stage.stride : 1, `s${si + 1}b${b}`, init);
      inPlanes = planes;
    }
  });
  x = tfl.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as ST;
  const logits = tfl.layers.dense({ units: o.numClasses ?? 10, kernelInitializer: init.glorot(), name: 'fc' }).apply(x) as ST;
  return tfl.model({ inputs: input, outputs: logits, name: spec.name });
}

/** Cohen et al.'s CIFAR-10 ResNet at depth 20, 32, 56 or 110 (6n + 2 with basic blocks). */
export function cifarResnet(depth: CifarResnetDepth, options: ZooOptions = {}): tfl.LayersModel {
  if (!CIFAR_RESNET_DEPTHS.includes(depth)) {
    throw new Error(`cifarResnet: depth must be one of ${CIFAR_RESNET_DEPTHS.join(', ')} (6n + 2 with basic blocks), got ${depth}`);
  }
  const n = (depth - 2) / 6;
  return basicResnet({
    name: `resnet${depth}`,
    stemChannels: 16,
    imagenetStem: false,
    stages: [
      { planes: 16, blocks: n, stride: 1 },
      { planes: 32, blocks: n, stride: 2 },
      { planes: 64, blocks: n, stride: 2 },
    ],
    options,
  });
}

export interface ImagenetResnetOptions extends ZooOptions {
  /** 'imagenet' (default): 7x7/2 conv + 3x3/2 max-pool, as published; 'cifar': one 3x3/1 conv. */
  stem?: 'imagenet' | 'cifar';
}

function imagenetStem(name: string, stem: string | undefined): boolean {
  if (stem === undefined || stem === 'imagenet') return true;
  if (stem === 'cifar') return false;
  throw new Error(`${name}: stem must be 'imagenet' or 'cifar', got ${JSON.stringify(stem)}`);
}

/** ResNet-18 on 32x32 inputs. Lipschitz figures only. */
export function resnet18Cifar(options: ImagenetResnetOptions = {}): tfl.LayersModel {
  return basicResnet({
    name: 'resnet18',
    stemChannels: 64,
    imagenetStem: imagenetStem('resnet18', options.stem),
    stages: [
      { planes: 64, blocks: 2, stride: 1 },
      { planes: 128, blocks: 2, stride: 2 },
      { planes: 256, blocks: 2, stride: 2 },
      { planes: 512, blocks: 2, stride: 2 },
    ],
    options: { splitAfter: 0, ...options },
  });
}

/** ResNet-34 on 32x32 inputs. Lipschitz figures only. */
export function resnet34Cifar(options: ImagenetResnetOptions = {}): tfl.LayersModel {
  return basicResnet({
    name: 'resnet34',
    stemChannels: 64,
    imagenetStem: imagenetStem('resnet34', options.stem),
    stages: [
      { planes: 64, blocks: 3, stride: 1 },
      { planes: 128, blocks: 4, stride: 2 },
      { planes: 256, blocks: 6, stride: 2 },
      { planes: 512, blocks: 3, stride: 2 },
    ],
    options: { splitAfter: 0, ...options },
  });
}
