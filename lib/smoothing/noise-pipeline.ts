/**
 * Noise generation on a worker thread, so that it overlaps with f_R on the
 * main thread. Generating the Gaussian noise costs about as much CPU as
 * running f_R itself (LeNet split 1: 11,520 normals per sample), and both are
 * single-threaded, so on a machine with two or more cores the pipeline nearly
 * doubles the throughput of CERTIFY. The draws are the ones of
 * NoisySampleStream: identical with or without the worker.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import { Phase } from './noise';

export class NoiseWorker {
  private readonly worker: Worker;
  private waiting: Array<{ resolve: (b: Float32Array) => void; reject: (e: Error) => void }> = [];
  private failed: Error | undefined;

  constructor(u: Float32Array, sigma: number, key: { seed: number; idx: number; phase: Phase }, start = 0) {
    // Compiled (dist/*.js): run the worker file directly. From TypeScript sources
    // (ts-node, ts-jest): register ts-node inside the worker first.
    const ext = path.extname(__filename);
    const file = path.join(__dirname, `noise-worker${ext}`);
    const code =
      ext === '.ts'
        ? `require(${JSON.stringify(require.resolve('ts-node'))}).register({ transpileOnly: true }); require(${JSON.stringify(file)});`
        : `require(${JSON.stringify(file)});`;
    this.worker = new Worker(code, { eval: true, workerData: { u, sigma, key, start } });
    this.worker.on('message', (b: Float32Array) => this.waiting.shift()?.resolve(b));
    const fail = (e: Error) => {
      this.failed = e;
      for (const w of this.waiting.splice(0)) w.reject(e);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (code !== 0) fail(new Error(`noise worker exited with code ${code}`));
    });
  }

  /** The next m samples (m * D values). `buf` (a free buffer of that size) is transferred to the worker for reuse. */
  request(m: number, buf?: Float32Array): Promise<Float32Array> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage({ m, buf }, buf ? [buf.buffer as ArrayBuffer] : []);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
