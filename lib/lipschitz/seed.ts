/**
 * Seeds for tf.randomNormal that are always honoured. tfjs-core draws from
 * Math.random when the seed is falsy, so `seed = 0` silently meant "unseeded":
 * power-iteration estimates then moved by a few percent from run to run.
 * Seed 0 is mapped to a fixed nonzero value; every other seed is passed as it is
 * (its draws stay what they were).
 */
import * as tf from '@tensorflow/tfjs-core';

/** What seed 0 becomes (any nonzero number works; this one is easy to recognise). */
export const SEED_ZERO = 0x5eed;

export function tfSeed(seed: number): number {
  return seed === 0 ? SEED_ZERO : seed;
}

/** N(0, 1) draws of `shape`, reproducible for every seed including 0; unseeded when `seed` is undefined. */
export function seededRandomNormal(shape: number[], seed: number | undefined): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed === undefined ? undefined : tfSeed(seed));
}
