/**
 * The model zoo: every architecture by name, so configs and checkpoints can
 * say `arch: "resnet110"` and get the same network back.
 *
 * Models used for certification: `lenet` (MNIST) and Cohen et al.'s CIFAR
 * ResNets `resnet20/32/56/110`. Models used only for the Lipschitz figures
 * (Fig. 1, 5, 6): `4c3f`, `vgg16`, `alexnet`, `squeezenet`, `resnet18`,
 * `resnet34`, sized for 32x32 CIFAR-10 inputs (see cifarnets.ts, resnet.ts for
 * where they deviate from the published nets).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { didYouMean } from '../config/suggest';
import { alexnetCifar, fourC3F, squeezenetCifar, vgg16Cifar } from './cifarnets';
import { ZooOptions } from './common';
import { lenet } from './lenet';
import { cifarResnet, resnet18Cifar, resnet34Cifar } from './resnet';

export * from './layers';
export * from './lenet';
export * from './common';
export * from './resnet';
export * from './cifarnets';
export * from './graph';

export const ARCH_NAMES = [
  'lenet',
  'resnet20',
  'resnet32',
  'resnet56',
  'resnet110',
  '4c3f',
  'vgg16',
  'alexnet',
  'squeezenet',
  'resnet18',
  'resnet34',
] as const;
export type ArchName = (typeof ARCH_NAMES)[number];

export interface BuildOptions extends ZooOptions {
  /** resnet18/resnet34 only: 'imagenet' (published 7x7/2 stem + max-pool, default) or 'cifar' (3x3/1). */
  stem?: 'imagenet' | 'cifar';
}

export interface ArchInfo {
  name: ArchName;
  description: string;
  /** Dataset whose input shape and normalisation the model is built for. */
  dataset: 'mnist' | 'cifar10';
  inputShape: [number, number, number];
  /** Largest valid splitAfter (number of affine layers that may sit in f_L). */
  maxSplit: number;
  /** splitAfter when the options leave it out. */
  defaultSplit: number;
  /** 'certify': a model of the paper's certification results; 'lipschitz': Lipschitz figures only. */
  purpose: 'certify' | 'lipschitz';
  /** Option names the builder understands besides splitAfter, theta, seed, numClasses. */
  extraOptions: readonly (keyof BuildOptions)[];
  build(options: BuildOptions): tfl.LayersModel;
}

const MNIST: [number, number, number] = [28, 28, 1];
const CIFAR: [number, number, number] = [32, 32, 3];

const resnetInfo = (depth: 20 | 32 | 56 | 110): ArchInfo => ({
  name: `resnet${depth}`,
  description: `Cohen et al.'s CIFAR-10 ResNet-${depth} (basic blocks, 16/32/64 channels)${depth === 110 ? ', the paper\'s CIFAR-10 model' : ''}`,
  dataset: 'cifar10',
  inputShape: CIFAR,
  maxSplit: 1,
  defaultSplit: 1,
  purpose: 'certify',
  extraOptions: ['width'],
  build: (o) => cifarResnet(depth, o),
});

export const ARCHS: Readonly<Record<ArchName, ArchInfo>> = {
  lenet: {
    name: 'lenet', description: 'the MNIST LeNet of the RS literature (conv20, conv50, dense500, dense10)', dataset: 'mnist',
    inputShape: MNIST, maxSplit: 4, defaultSplit: 1, purpose: 'certify', extraOptions: [],
    build: (o) => lenet({ splitAfter: o.splitAfter, theta: o.theta, seed: o.seed }),
  },
  resnet20: resnetInfo(20),
  resnet32: resnetInfo(32),
  resnet56: resnetInfo(56),
  resnet110: resnetInfo(110),
  '4c3f': {
    name: '4c3f', description: "Huang et al.'s 4C3F (4 conv, 3 dense) for CIFAR-10", dataset: 'cifar10',
    inputShape: CIFAR, maxSplit: 7, defaultSplit: 0, purpose: 'lipschitz', extraOptions: ['width'], build: (o) => fourC3F(o),
  },
  vgg16: {
    name: 'vgg16', description: 'VGG-16 layer structure on 32x32 inputs', dataset: 'cifar10',
    inputShape: CIFAR, maxSplit: 16, defaultSplit: 0, purpose: 'lipschitz', extraOptions: ['width'], build: (o) => vgg16Cifar(o),
  },
  alexnet: {
    name: 'alexnet', description: 'AlexNet layer structure on 32x32 inputs', dataset: 'cifar10',
    inputShape: CIFAR, maxSplit: 8, defaultSplit: 0, purpose: 'lipschitz', extraOptions: ['width'], build: (o) => alexnetCifar(o),
  },
  squeezenet: {
    name: 'squeezenet', description: 'SqueezeNet 1.0 layer structure on 32x32 inputs', dataset: 'cifar10',
    inputShape: CIFAR, maxSplit: 1, defaultSplit: 0, purpose: 'lipschitz', extraOptions: ['width'], build: (o) => squeezenetCifar(o),
  },
  resnet18: {
    name: 'resnet18', description: 'ResNet-18 on 32x32 inputs', dataset: 'cifar10',
    inputShape: CIFAR, maxSplit: 1, defaultSplit: 0, purpose: 'lipschitz', extraOptions: ['width', 'stem'], build: (o) => resnet18Cifar(o),
  },
  resnet34: {
    name: 'resnet34', description: 'ResNet-34 on 32x32 inputs', dataset: 'cifar10',
    inputShape: CIFAR, maxSplit: 1, defaultSplit: 0, purpose: 'lipschitz', extraOptions: ['width', 'stem'], build: (o) => resnet34Cifar(o),
  },
};

export function isArchName(name: string): name is ArchName {
  return (ARCH_NAMES as readonly string[]).includes(name);
}

/** The registry entry for `arch`, or an error listing the known architectures. */
export function archInfo(arch: string): ArchInfo {
  if (!isArchName(arch)) {
    throw new Error(`unknown architecture '${arch}'${didYouMean(arch, ARCH_NAMES)}; known architectures: ${ARCH_NAMES.join(', ')}`);
  }
  return ARCHS[arch];
}

const COMMON_OPTIONS = ['splitAfter', 'theta', 'seed', 'numClasses'];

/** Builds architecture `arch` by name. Options a builder does not understand are an error, not ignored. */
export function buildModel(arch: string, options: BuildOptions = {}): tfl.LayersModel {
  const info = archInfo(arch);
  const allowed = [...COMMON_OPTIONS, ...info.extraOptions];
  for (const [k, v] of Object.entries(options)) {
    if (v !== undefined && !allowed.includes(k)) {
      throw new Error(`buildModel('${arch}'): option '${k}' does not apply to this architecture${didYouMean(k, allowed)}; it accepts: ${allowed.join(', ')}`);
    }
  }
  if (arch === 'lenet' && options.numClasses !== undefined && options.numClasses !== 10) {
    throw new Error(`buildModel('lenet'): LeNet has 10 classes, got numClasses = ${options.numClasses}`);
  }
  return info.build(options);
}
