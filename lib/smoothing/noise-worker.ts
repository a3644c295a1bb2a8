/**
 * Worker-thread side of the pipelined sampler (see NoiseWorker in
 * noise-pipeline.ts): generates the next batch of noisy copies u + sigma * z
 * with the same NoisySampleStream, hence the same draws, while the main thread
 * runs f_R on the previous batch.
 */
import { parentPort, workerData } from 'worker_threads';
import { NoisySampleStream, Phase } from './noise';

interface Init {
  u: Float32Array;
  sigma: number;
  key: { seed: number; idx: number; phase: Phase };
  start: number;
}

const init = workerData as Init;
const stream = new NoisySampleStream(init.u, init.sigma, init.key, init.start);
parentPort?.on('message', (msg: { m: number; buf?: Float32Array }) => {
  const out = stream.next(msg.m, msg.buf);
  parentPort?.postMessage(out, [out.buffer as ArrayBuffer]);
});
