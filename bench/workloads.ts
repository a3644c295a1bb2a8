/**
 * The benchmark workloads: the four of ../shared/bench/torch_peer.py with the
 * same shapes, batch sizes, noise levels and optimizers, plus the SPLITZ
 * training step of eq. 17 and the `sound` local Lipschitz bound per image.
 *
 * Each workload builds a Runner on the current backend: `step()` does one
 * unit of work on `batch` samples (images for training, noisy copies for
 * sampling, images for the bound). Runners keep their data on the backend
 * between steps (inputs, labels, weights and optimizer state are made once),
 * as torch_peer.py does.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { tf } from '../lib/backend';
import { lenet } from '../lib/models/lenet';
import { cifarResnet } from '../lib/models/resnet';
import { SplitModel, splitModel } from '../lib/models/split';
import { trainableVariables } from '../lib/train/basic';
import { sampleCounts, toSplitPoint } from '../lib/smoothing/sample';
import { localLipschitz, localLipschitzTensor } from '../lib/lipschitz/local';
import { randomNormalTensor } from '../lib/kernels/random';
import { TrainingNoiseFeed, WarmStartStore, affineInputShapes, splitzStep, trainNet } from '../lib/train/splitz';
import { SplitzOptimizer } from '../lib/train/optim';

export interface Runner {
  /** Samples per step. */
  batch: number;
  step(): Promise<void> | void;
  dispose(): void;
}

export interface Workload {
  name: string;
  /** The torch_peer.py workload measuring the same thing, if any. */
  peer?: string;
  /** Whether K workers may split the work (independent samples or images); training steps may not. */
  parallel: boolean;
  describe: string;
  make(): Runner | Promise<Runner>;
}

/** Settings of eq. 17 used by the SPLITZ step (METHOD.md: theta_lip 0.5, gamma_train 1, 5 power iterations on MNIST). */
export const SPLITZ_STEP = { lambda: 0.8, thetaLip: 0.5, gammaTrain: 1, iterations: 5 };

function uniform(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, 0, 1, 'float32', seed);
}

function randomLabels(n: number, k: number, seed: number): tf.Tensor {
  return tf.tidy(() => tf.oneHot(tf.cast(tf.floor(tf.randomUniform([n], 0, k, 'float32', seed)), 'int32'), k));
}

function lenetSplit(): SplitModel {
  // Split after the first conv + ReLU_theta (theta = 1), as torch_peer's f_left.
  return splitModel(lenet({ splitAfter: 1, theta: 1, seed: 0 }), 1);
}

function disposeModel(m: tfl.LayersModel): void {
  m.dispose();
}

/** One Adam step of CE(f_R(f_L(x) + 0.75 z)) on LeNet, batch 256 (+ eq. 17's Lipschitz term when `splitz`). */
function lenetTrain(splitz: boolean): Runner {
  const B = 256;
  const split = lenetSplit();
  const x = uniform([B, 28, 28, 1], 1);
  const y = randomLabels(B, 10, 2);
  const opt = tf.train.adam(1e-3);
  const vars = trainableVariables(split.model);
  let warm: tf.Tensor[] | undefined;
  let seed = 0;
  return {
    batch: B,
    step() {
      const z = randomNormalTensor([B, ...split.splitShape], 0.75, seed++);
      opt.minimize(
        () => {
          const u = split.fL(x);
          const ce = tf.losses.softmaxCrossEntropy(y, split.fR(tf.add(u, z))) as tf.Scalar;
          if (!splitz) return ce;
          const { lambda, thetaLip, gammaTrain, iterations } = SPLITZ_STEP;
          // Power vectors warm-started from the previous step (the same images every step here).
          const lip = localLipschitzTensor(split, x, gammaTrain, { iterations, warmStart: warm, seed: 3 });
          if (warm) tf.dispose(warm);
          warm = lip.vectors.map((v) => tf.keep(v));
          return tf.add(tf.mul(1 - lambda, ce), tf.mul(lambda, tf.mean(tf.maximum(thetaLip, lip.L)))) as tf.Scalar;
        },
        false,
        vars,
      );
      z.dispose();
    },
    dispose() {
      tf.dispose([x, y, ...(warm ?? [])]);
      opt.dispose();
      disposeModel(split.model);
    },
  };
}

/** Counts of f_R's argmax over `batch` noisy copies of one split-space point, through the library's sampler. */
async function noiseSamples(fR: (u: tf.Tensor) => tf.Tensor, u0: tf.Tensor, sigma: number, batch: number, dispose: () => void): Promise<Runner> {
  const point = await toSplitPoint(u0);
  u0.dispose();
  let idx = 0;
  return {
    batch,
    async step() {
      // A new image index each step: fresh noise, as a certification run would draw.
      await sampleCounts(fR, point, batch, { sigma, batchSize: batch, seed: 0, idx: idx++, numClasses: 10, pipeline: false });
    },
    dispose,
  };
}

export const WORKLOADS: Workload[] = [
  {
    name: 'lenet_train_b256',
    peer: 'lenet_train_b256',
    parallel: false,
    describe: 'LeNet training step: CE(f_R(f_L(x) + 0.75 z)), split after conv1 + ReLU_theta, Adam 1e-3, batch 256',
    make: () => lenetTrain(false),
  },
  {
    name: 'lenet_fR_noise_samples_b1000',
    peer: 'lenet_fR_noise_samples_b1000',
    parallel: true,
    describe: 'f_R argmax counts on 1000 noisy copies f_L(x) + 0.75 z of one image (seeded noise, lib/smoothing sampleCounts)',
    make: () => {
      const split = lenetSplit();
      const u0 = tf.tidy(() => split.fL(uniform([1, 28, 28, 1], 4)));
      return noiseSamples(split.fR, u0, 0.75, 1000, () => disposeModel(split.model));
    },
  },
  {
    name: 'resnet20_train_b128',
    peer: 'resnet20_train_b128',
    parallel: false,
    describe: 'CIFAR ResNet-20 training step on x + 0.25 z, SGD lr 0.1 momentum 0.9, batch 128, batch norm in training mode',
    make: () => {
      const B = 128;
      const model = cifarResnet(20, { splitAfter: 0, seed: 0 });
      const x = uniform([B, 32, 32, 3], 5);
      const y = randomLabels(B, 10, 6);
      const opt = tf.train.momentum(0.1, 0.9);
      const vars = trainableVariables(model);
      let seed = 0;
      return {
        batch: B,
        step() {
          const z = randomNormalTensor([B, 32, 32, 3], 0.25, seed++);
          opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(tf.add(x, z), { training: true }) as tf.Tensor) as tf.Scalar, false, vars);
          z.dispose();
        },
        dispose() {
          tf.dispose([x, y]);
          opt.dispose();
          disposeModel(model);
        },
      };
    },
  },
  {
    name: 'resnet20_noise_samples_b500',
    peer: 'resnet20_noise_samples_b500',
    parallel: true,
    describe: 'ResNet-20 argmax counts on 500 noisy copies x + 0.25 z of one image (split 0 = plain RS; lib/smoothing sampleCounts)',
    make: () => {
      const model = cifarResnet(20, { splitAfter: 0, seed: 0 });
      return noiseSamples((u) => model.apply(u, { training: false }) as tf.Tensor, uniform([1, 32, 32, 3], 7), 0.25, 500, () => disposeModel(model));
    },
  },
  {
    name: 'splitz_lenet_train_b256',
    parallel: false,
    describe: `SPLITZ training step (eq. 17): (1-lambda) CE + lambda mean max(theta_lip, L_paper(x, gamma_train)), lambda ${SPLITZ_STEP.lambda}, theta_lip ${SPLITZ_STEP.thetaLip}, gamma_train ${SPLITZ_STEP.gammaTrain}, ${SPLITZ_STEP.iterations} warm-started power iterations; otherwise as lenet_train_b256`,
    make: () => lenetTrain(true),
  },
  {
    name: 'splitz_trainer_lenet_b256',
    parallel: false,
    describe: `lib/train/splitz.ts splitzStep (eq. 17, Q = 1, Adam 1e-3, per-sample warm-start store, trainingNoise one step ahead on a worker (TrainingNoiseFeed), loss parts read back), lambda ${SPLITZ_STEP.lambda}, theta_lip ${SPLITZ_STEP.thetaLip}, gamma_train ${SPLITZ_STEP.gammaTrain}, ${SPLITZ_STEP.iterations} power iterations, batch 256`,
    make: () => {
      const B = 256;
      const net = trainNet(lenet({ splitAfter: 1, theta: 1, seed: 0 }), 1);
      const x = uniform([B, 28, 28, 1], 1) as tf.Tensor4D;
      const y = tf.tidy(() => tf.cast(tf.floor(tf.randomUniform([B], 0, 10, 'float32', 2)), 'int32')) as tf.Tensor1D;
      const opt = new SplitzOptimizer(trainableVariables(net.split.model), { kind: 'adam', lr: 1e-3, weightDecay: 0 });
      const positions = Int32Array.from({ length: B }, (_, i) => i);
      const warm = new WarmStartStore(affineInputShapes(net.split), B, 0);
      // Training noise as lib/runner/train.ts draws it: the next step's on a worker thread.
      const feed = new TrainingNoiseFeed(0, 1, net.D, 0.75);
      let step = 0;
      const { lambda, thetaLip, gammaTrain, iterations } = SPLITZ_STEP;
      return {
        batch: B,
        async step() {
          const noise = await feed.take({ epoch: 0, step, B }, { epoch: 0, step: step + 1, B });
          step++;
          splitzStep(net, opt, { x, y, positions, indices: positions }, noise, { lambda, thetaLip, gammaTrain, powerIterations: iterations, Q: 1 }, warm);
          feed.recycle(noise);
        },
        dispose() {
          void feed.close();
          tf.dispose([x, y]);
          opt.dispose();
          disposeModel(net.split.model);
        },
      };
    },
  },
  {
    name: 'lenet_sound_lipschitz',
    parallel: true,
    describe: 'sound local Lipschitz bound L(x, gamma = 0.5) of LeNet split 1, one image per call (float64 intervals + Gram/Cholesky certificate)',
    make: () => {
      const split = lenetSplit();
      const xs = tf.tidy(() => tf.mul(uniform([16, 28, 28, 1], 8), tf.greater(uniform([16, 28, 28, 1], 9), 0.8)));
      let i = 0;
      return {
        batch: 1,
        step() {
          const x = tf.slice(xs, [i++ % 16, 0, 0, 0], [1, 28, 28, 1]);
          localLipschitz(split, x, 0.5, { mode: 'sound' });
          x.dispose();
        },
        dispose() {
          xs.dispose();
          disposeModel(split.model);
        },
      };
    },
  },
];

export function workload(name: string): Workload {
  const w = WORKLOADS.find((x) => x.name === name);
  if (!w) throw new Error(`unknown workload '${name}'; known: ${WORKLOADS.map((x) => x.name).join(', ')}`);
  return w;
}
