/**
 * Training noise one step ahead, on a worker thread.
 *
 * Each SPLITZ / RS training step needs Q * B * D normals (LeNet split 1 at
 * batch 256: 2.9 M, ~60 ms of JavaScript, a tenth of the step). The draws are
 * fixed by ./noise.ts's trainingNoise (keyed by seed, epoch, step and draw,
 * so that resumed runs repeat them); which thread computes them changes
 * nothing. So while the main thread runs step j, a worker computes the noise
 * of step j + 1, and `take` hands it over without a copy (the buffer is
 * transferred, and `recycle` sends it back for reuse, so no 12 MB array is
 * allocated per step either).
 *
 * `take(key, next)` returns the noise of `key` (the prefetched one when it
 * matches, else computed on the spot) and starts computing `next`. A guess
 * that turns out wrong (the last, shorter batch of an epoch; a run that stops)
 * only costs the worker's time. Without a worker (creation failed, or
 * `workers: false`) everything is computed on the calling thread.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import { trainingNoise } from './noise';

/** Which step's noise: epoch, step within it and batch size B (seed, Q, D and sigma are the feed's). */
export interface NoiseStepKey {
  epoch: number;
  step: number;
  B: number;
}

interface Pending {
  key: NoiseStepKey;
  result: Promise<Float32Array>;
  done: boolean;
}

const same = (a: NoiseStepKey, b: NoiseStepKey) => a.epoch === b.epoch && a.step === b.step && a.B === b.B;

/**
 * The batch size of step `step` of an epoch over n images in batches of
 * `batchSize` (the last batch holds the rest, as lib/data's `batches`), or
 * undefined past the last step.
 */
export function batchSizeAt(n: number, batchSize: number, step: number): number | undefined {
  const start = step * batchSize;
  return start < n ? Math.min(batchSize, n - start) : undefined;
}

export class TrainingNoiseFeed {
  /** Steps whose noise came from the worker / was computed on the calling thread. */
  readonly counts = { prefetched: 0, inline: 0 };
  private worker: Worker | undefined;
  private failed = false;
  private pending: Pending | undefined;
  private readonly waiting = new Map<number, { resolve: (b: Float32Array) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private delivered = 0;
  private readonly spare: Float32Array[] = [];

  constructor(
    readonly seed: number,
    readonly Q: number,
    /** Elements of one split-space sample. */
    readonly D: number,
    readonly sigma: number,
    options: { worker?: boolean } = {},
  ) {
    if (options.worker === false) return;
    try {
      this.worker = startWorker(seed, Q, D, sigma);
      this.worker.on('message', (m: { id: number; out: Float32Array }) => {
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (this.waiting.size === 0) this.worker?.unref();
        this.delivered++;
        w?.resolve(m.out);
      });
      const fail = (e: Error) => {
        this.failed = true;
        for (const w of this.waiting.values()) w.reject(e);
        this.waiting.clear();
      };
      this.worker.on('error', fail);
      this.worker.on('exit', (code) => {
        if (code !== 0) fail(new Error(`training noise worker exited with code ${code}`));
      });
      // Referenced only while a request is out: an idle worker must not keep a finished process alive.
      this.worker.unref();
    } catch {
      this.worker = undefined;
    }
  }

  /** The noise of `key` (Q * B * D values); starts computing `next` on the worker. */
  async take(key: NoiseStepKey, next?: NoiseStepKey): Promise<Float32Array> {
    const p = this.pending;
    this.pending = undefined;
    let out: Float32Array | undefined;
    // The worker's answer is delivered by the event loop, which a synchronous
    // training step does not visit: let it run once.
    if (p && !p.done) await new Promise((resolve) => setImmediate(resolve));
    // Wait for a matching prefetch unless the worker has not answered yet at
    // all (still starting: loading the module takes longer than the draws).
    if (p && same(p.key, key) && (p.done || this.delivered > 0)) {
      try {
        out = await p.result;
      } catch {
        out = undefined; // a failed worker: compute it here
      }
    } else if (p) {
      // A wrong guess (or a cold worker): its buffer comes back for reuse.
      p.result.then((b) => this.recycle(b)).catch(() => undefined);
    }
    if (out) this.counts.prefetched++;
    else {
      this.counts.inline++;
      out = trainingNoise(this.seed, key.epoch, key.step, this.Q, key.B, this.D, this.sigma, this.takeSpare(key.B));
    }
    if (next && this.threaded) {
      const pending: Pending = { key: next, result: this.request(next), done: false };
      // Settled either way; a prefetch nobody takes (the run ends, the worker is closed) is no unhandled rejection.
      pending.result.then(
        () => (pending.done = true),
        () => (pending.done = true),
      );
      this.pending = pending;
    }
    return out;
  }

  /** Resolves once the prefetch started by the last `take` has arrived (or failed); at once when there is none. */
  async settled(): Promise<void> {
    await this.pending?.result.catch(() => undefined);
  }

  /** Give back a buffer `take` returned once its values are no longer needed (uploaded to the backend). */
  recycle(buf: Float32Array): void {
    if (this.spare.length < 2) this.spare.push(buf);
  }

  /** Stop the worker. The feed computes on the calling thread afterwards. */
  close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.pending = undefined;
    return w ? w.terminate().then(() => undefined) : Promise.resolve();
  }

  /** Whether a worker computes ahead (false: creation failed or it died). */
  get threaded(): boolean {
    return this.worker !== undefined && !this.failed;
  }

  private takeSpare(B: number): Float32Array | undefined {
    const n = this.Q * B * this.D;
    const i = this.spare.findIndex((b) => b.length === n);
    return i < 0 ? undefined : this.spare.splice(i, 1)[0];
  }

  private request(key: NoiseStepKey): Promise<Float32Array> {
    const w = this.worker!;
    const id = this.nextId++;
    const buf = this.takeSpare(key.B);
    return new Promise<Float32Array>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ id, key, buf }, buf ? [buf.buffer as ArrayBuffer] : []);
    });
  }
}

function startWorker(seed: number, Q: number, D: number, sigma: number): Worker {
  // Compiled (dist/*.js): run the worker file directly. From TypeScript sources
  // (ts-node, ts-jest): register ts-node inside the worker first.
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `noise-feed-worker${ext}`);
  const code =
    ext === '.ts'
      ? `require(${JSON.stringify(require.resolve('ts-node'))}).register({ transpileOnly: true }); require(${JSON.stringify(file)});`
      : `require(${JSON.stringify(file)});`;
  return new Worker(code, { eval: true, workerData: { seed, Q, D, sigma } });
}
