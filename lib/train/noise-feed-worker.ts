/**
 * Worker-thread side of TrainingNoiseFeed (./noise-feed.ts): computes
 * trainingNoise for the requested step, into the buffer sent along when there
 * is one, and transfers the result back.
 */
import { parentPort, workerData } from 'worker_threads';
import { trainingNoise } from './noise';
import type { NoiseStepKey } from './noise-feed';

const { seed, Q, D, sigma } = workerData as { seed: number; Q: number; D: number; sigma: number };
parentPort?.on('message', (msg: { id: number; key: NoiseStepKey; buf?: Float32Array }) => {
  const out = trainingNoise(seed, msg.key.epoch, msg.key.step, Q, msg.key.B, D, sigma, msg.buf);
  parentPort?.postMessage({ id: msg.id, out }, [out.buffer as ArrayBuffer]);
});
