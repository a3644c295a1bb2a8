/**
 * The other networks of the Lipschitz figures (Fig. 1, 5, 6), for 32x32x3
 * inputs. The paper measures ImageNet-pretrained weights; those cannot be
 * downloaded here, so these are the same layer structures, to be trained on
 * CIFAR-10 here (and labelled as such), or replaced by a user-supplied
 * TensorFlow.js model (lib/io/checkpoint.ts, `loadUserModel`).
 *
 * Every net starts with `Normalize` (CIFAR-10 statistics) and takes a `width`
 * multiplier on channels and hidden units so a CPU can train it briefly.
 * Chains (4C3F, VGG-16, AlexNet) are tfl.Sequential with one layer per
 * activation, like LeNet, so any `splitAfter` in 0..K (K affine layers) puts
 * ReLU_theta after the first `splitAfter` affine layers. SqueezeNet branches
 * after its first conv, so it splits at 0 or 1 only.
 *
 * Where they deviate from the published nets (all because the input is
 * 32x32, not 224x224):
 * - 4C3F: none. It is Huang et al.'s (2021) "large" CIFAR net (ref. [19]):
 *   conv32 3x3/1, conv32 4x4/2, conv64 3x3/1, conv64 4x4/2, dense 512,
 *   dense 512, dense 10 (it downsamples with strided convs, not pooling).
 * - VGG-16: 13 convs and 5 max-pools as published; the feature map is 1x1x512
 *   at the end, so the first dense layer has 512 inputs instead of 25,088;
 *   dense 4096, 4096, 10 with dropout 0.5 as published.
 * - AlexNet (torchvision layout): conv64 11x11/4, pool 3/2, conv192 5x5,
 *   pool 3/2, conv384, conv256, conv256 (3x3), pool 3/2, dropout, dense 4096,
 *   dropout, dense 4096, dense 10. The feature map is 1x1x256, so the
 *   6x6 adaptive average pool (which would copy it 36 times) is left out.
 * - SqueezeNet 1.0 (torchvision layout): conv96 7x7/2, pool 3/2, fire2-4,
 *   pool 3/2, fire5-8, pool 3/2, fire9, dropout, conv 1x1 to the classes,
 *   ReLU, global average pool. Pools use 'same' padding instead of ceil mode.
 * Padding is TensorFlow's 'same' throughout.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { CIFAR10_MEAN, CIFAR10_STD } from '../data/stats';
import { InitSource, ZooOptions, checkSeed, checkSplit, checkWidth, scaled } from './common';
import { Normalize, ReLUTheta } from './layers';

type ST = tfl.SymbolicTensor;

function normalize(): Normalize {
  return new Normalize({ mean: CIFAR10_MEAN, std: CIFAR10_STD, inputShape: [32, 32, 3], name: 'normalize' });
}

/** Builds a chain: `spec` lists affine layers ('c' conv, 'd' dense) and the pools/flatten/dropout between them. */
type ChainItem =
  | { kind: 'conv'; filters: number; kernel: number; stride?: number }
  | { kind: 'dense'; units: number; last?: boolean }
  | { kind: 'pool'; size: number; stride: number }
  | { kind: 'flatten' }
  | { kind: 'dropout'; rate: number };

function chain(name: string, items: ChainItem[], options: ZooOptions, fallbackSplit: number): tfl.Sequential {
  const affine = items.filter((it) => it.kind === 'conv' || it.kind === 'dense').length;
  const splitAfter = checkSplit(name, options.splitAfter, affine, fallbackSplit, `${name} has ${affine} affine layers`);
  const width = checkWidth(name, options.width);
  checkSeed(name, options.seed);
  const theta = options.theta ?? 1;
  const init = new InitSource(options.seed);
  const layers: tfl.layers.Layer[] = [normalize()];
  let k = 0;
  for (const it of items) {
    if (it.kind === 'conv' || it.kind === 'dense') {
      k++;
      const tag = `${it.kind}${k}`;
      if (it.kind === 'conv') {
        layers.push(
          tfl.layers.conv2d({
            filters: scaled(it.filters, width), kernelSize: it.kernel, strides: it.stride ?? 1, padding: 'same',
            kernelInitializer: init.heConv(), name: tag,
          }),
        );
      } else {
        const units = it.last ? options.numClasses ?? 10 : scaled(it.units, width);
        layers.push(tfl.layers.dense({ units, kernelInitializer: init.glorot(), name: tag }));
      }
      if (!(it.kind === 'dense' && it.last)) {
        // The first `splitAfter` affine layers belong to f_L: their activation is ReLU_theta.
        layers.push(k <= splitAfter ? new ReLUTheta({ theta, name: `${tag}_relu_theta` }) : tfl.layers.reLU({ name: `${tag}_relu` }));
      }
    } else if (it.kind === 'pool') {
      layers.push(tfl.layers.maxPooling2d({ poolSize: it.size, strides: it.stride, padding: 'same', name: `pool${layers.length}` }));
    } else if (it.kind === 'flatten') {
      layers.push(tfl.layers.flatten({ name: 'flatten' }));
    } else {
      layers.push(tfl.layers.dropout({ rate: it.rate, name: `dropout${layers.length}` }));
    }
  }
  return tfl.sequential({ name, layers });
}

/** Huang et al.'s 4C3F: 4 convs (two of them strided) and 3 dense layers. */
export function fourC3F(options: ZooOptions = {}): tfl.Sequential {
  return chain(
    '4c3f',
    [
      { kind: 'conv', filters: 32, kernel: 3 },
      { kind: 'conv', filters: 32, kernel: 4, stride: 2 },
      { kind: 'conv', filters: 64, kernel: 3 },
      { kind: 'conv', filters: 64, kernel: 4, stride: 2 },
      { kind: 'flatten' },
      { kind: 'dense', units: 512 },
      { kind: 'dense', units: 512 },
      { kind: 'dense', units: 10, last: true },
    ],
    options,
    0,
  );
}

/** VGG-16 (configuration D, no batch norm) on 32x32 inputs. */
export function vgg16Cifar(options: ZooOptions = {}): tfl.Sequential {
  const items: ChainItem[] = [];
  const cfg: Array<number | 'M'> = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'];
  for (const c of cfg) items.push(c === 'M' ? { kind: 'pool', size: 2, stride: 2 } : { kind: 'conv', filters: c, kernel: 3 });
  items.push(
    { kind: 'flatten' },
    { kind: 'dense', units: 4096 },
    { kind: 'dropout', rate: 0.5 },
    { kind: 'dense', units: 4096 },
    { kind: 'dropout', rate: 0.5 },
    { kind: 'dense', units: 10, last: true },
  );
  return chain('vgg16', items, options, 0);
}

/** AlexNet (torchvision layout) on 32x32 inputs. */
export function alexnetCifar(options: ZooOptions = {}): tfl.Sequential {
  return chain(
    'alexnet',
    [
      { kind: 'conv', filters: 64, kernel: 11, stride: 4 },
      { kind: 'pool', size: 3, stride: 2 },
      { kind: 'conv', filters: 192, kernel: 5 },
      { kind: 'pool', size: 3, stride: 2 },
      { kind: 'conv', filters: 384, kernel: 3 },
      { kind: 'conv', filters: 256, kernel: 3 },
      { kind: 'conv', filters: 256, kernel: 3 },
      { kind: 'pool', size: 3, stride: 2 },
      { kind: 'flatten' },
      { kind: 'dropout', rate: 0.5 },
      { kind: 'dense', units: 4096 },
      { kind: 'dropout', rate: 0.5 },
      { kind: 'dense', units: 4096 },
      { kind: 'dense', units: 10, last: true },
    ],
    options,
    0,
  );
}

function fire(x: ST, squeeze: number, expand: number, name: string, init: InitSource): ST {
  const conv = (filters: number, kernelSize: number, tag: string) =>
    tfl.layers.conv2d({ filters, kernelSize, padding: 'same', kernelInitializer: init.heConv(), name: `${name}_${tag}` });
  const s = tfl.layers.reLU({ name: `${name}_squeeze_relu` }).apply(conv(squeeze, 1, 'squeeze').apply(x)) as ST;
  const e1 = tfl.layers.reLU({ name: `${name}_expand1_relu` }).apply(conv(expand, 1, 'expand1').apply(s)) as ST;
  const e3 = tfl.layers.reLU({ name: `${name}_expand3_relu` }).apply(conv(expand, 3, 'expand3').apply(s)) as ST;
  return tfl.layers.concatenate({ axis: -1, name: `${name}_concat` }).apply([e1, e3]) as ST;
}

/** SqueezeNet 1.0 (torchvision layout) on 32x32 inputs. */
export function squeezenetCifar(options: ZooOptions = {}): tfl.LayersModel {
  const name = 'squeezenet';
  const splitAfter = checkSplit(name, options.splitAfter, 1, 0, 'only the first conv precedes the fire modules');
  const width = checkWidth(name, options.width);
  checkSeed(name, options.seed);
  const init = new InitSource(options.seed);
  const w = (c: number) => scaled(c, width);
  const input = tfl.input({ shape: [32, 32, 3], name: 'image' });
  let x = new Normalize({ mean: CIFAR10_MEAN, std: CIFAR10_STD, name: 'normalize' }).apply(input) as ST;
  x = tfl.layers.conv2d({ filters: w(96), kernelSize: 7, strides: 2, padding: 'same', kernelInitializer: init.heConv(), name: 'conv1' }).apply(x) as ST;
  x = (splitAfter >= 1 ? new ReLUTheta({ theta: options.theta ?? 1, name: 'conv1_relu_theta' }) : tfl.layers.reLU({ name: 'conv1_relu' })).apply(x) as ST;
  const pool = (tag: string) => tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: tag });
  x = pool('pool1').apply(x) as ST;
  x = fire(x, w(16), w(64), 'fire2', init);
  x = fire(x, w(16), w(64), 'fire3', init);
  x = fire(x, w(32), w(128), 'fire4', init);
  x = pool('pool4').apply(x) as ST;
  x = fire(x, w(32), w(128), 'fire5', init);
  x = fire(x, w(48), w(192), 'fire6', init);
  x = fire(x, w(48), w(192), 'fire7', init);
  x = fire(x, w(64), w(256), 'fire8', init);
  x = pool('pool8').apply(x) as ST;
  x = fire(x, w(64), w(256), 'fire9', init);
  x = tfl.layers.dropout({ rate: 0.5, name: 'dropout' }).apply(x) as ST;
  x = tfl.layers.conv2d({ filters: options.numClasses ?? 10, kernelSize: 1, kernelInitializer: init.heConv(), name: 'conv10' }).apply(x) as ST;
  x = tfl.layers.reLU({ name: 'conv10_relu' }).apply(x) as ST;
  const out = tfl.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as ST;
  return tfl.model({ inputs: input, outputs: out, name });
}
