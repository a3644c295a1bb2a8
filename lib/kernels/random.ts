/**
 * Gaussian noise tensors for training (the delta of eq. 17), generated in
 * bulk on the host and uploaded once.
 *
 * tf.randomNormal draws on the host too, on every backend but tensorflow
 * (seedrandom's alea + the polar method, one call per value), at about
 * 11 M normals/s here; a LeNet batch of 256 at the split needs 2.9 M normals,
 * ~270 ms, more than the whole training step. The sfc32 + polar generator of
 * lib/smoothing/noise.ts runs at ~70 M normals/s. Draws depend on (seed) only;
 * they are NOT the certification stream (which is keyed by image and phase).
 */
import * as tf from '@tensorflow/tfjs-core';
import { GaussianStream } from '../smoothing/noise';

/** N(0, stddev^2) noise of `shape`, from a 32-bit seed. The caller disposes the tensor. */
export function randomNormalTensor(shape: number[], stddev: number, seed: number): tf.Tensor {
  if (!(stddev >= 0) || !Number.isFinite(stddev)) throw new RangeError(`randomNormalTensor: stddev must be a finite number >= 0, got ${stddev}`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`randomNormalTensor: bad shape [${shape.join(', ')}]`);
  const buf = new Float32Array(n);
  new GaussianStream(seed >>> 0).fill(buf, 0, n, stddev);
  return tf.tensor(buf, shape, 'float32');
}
