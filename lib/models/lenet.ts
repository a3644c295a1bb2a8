/**
 * The MNIST LeNet of the randomized-smoothing literature (METHOD.md):
 * conv 20@5x5, max-pool 2, conv 50@5x5, max-pool 2, dense 500, dense 10.
 *
 * Layers are kept separate (the activation after each affine layer is its own
 * layer) so that a split can sit exactly after an activation. The first
 * `splitAfter` affine layers are followed by ReLU_theta (they belong to f_L);
 * the others by an ordinary ReLU.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { Normalize, ReLUTheta } from './layers';

/** MNIST pixel statistics over the training set (pixels in [0, 1]). */
export const MNIST_MEAN = [0.1307];
export const MNIST_STD = [0.3081];

export interface LeNetOptions {
  /** Number of affine layers in f_L (0..4); their activations are ReLU_theta. Default 1. */
  splitAfter?: number;
  /** Clip level of ReLU_theta. Default 1. */
  theta?: number;
  mean?: number[];
  std?: number[];
  /** Seed for the weight initialisers, for repeatable runs. */
  seed?: number;
}

export function lenet(options: LeNetOptions = {}): tfl.Sequential {
  const splitAfter = options.splitAfter ?? 1;
  if (!Number.isInteger(splitAfter) || splitAfter < 0 || splitAfter > 4) {
    throw new Error(`lenet: splitAfter must be an integer in 0..4 (LeNet has 4 affine layers), got ${options.splitAfter}`);
  }
  const theta = options.theta ?? 1;
  const seed = options.seed;
  const init = (k: number) => (seed === undefined ? undefined : tfl.initializers.glorotUniform({ seed: seed + k }));
  const act = (k: number) => (k <= splitAfter ? new ReLUTheta({ theta }) : tfl.layers.reLU());
  return tfl.sequential({
    name: 'lenet',
    layers: [
      new Normalize({ mean: options.mean ?? MNIST_MEAN, std: options.std ?? MNIST_STD, inputShape: [28, 28, 1], name: 'normalize' }),
      tfl.layers.conv2d({ filters: 20, kernelSize: 5, kernelInitializer: init(1) }),
      act(1),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 50, kernelSize: 5, kernelInitializer: init(2) }),
      act(2),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 500, kernelInitializer: init(3) }),
      act(3),
      tfl.layers.dense({ units: 10, kernelInitializer: init(4) }),
    ],
  });
}
