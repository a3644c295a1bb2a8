/**
 * A pool of K worker threads, each with its OWN TensorFlow.js backend.
 *
 * The wasm backend runs one thread per process (XNNPACK without threads
 * under Node), so on a machine with K cores the only way to use them all for
 * independent work, e.g. Monte Carlo sampling of many images or of one
 * image's batches, is K backends on K threads. Each worker calls
 * initBackend() (same choice rules, or the backend forced here), loads the
 * `entry` modules, whose top level registers task functions with
 * registerTask(name, fn), and then runs tasks sent by name.
 *
 *   const pool = await createPool({ workers: 2, entry: require.resolve('./my-tasks') });
 *   const counts = await pool.map('count', batches);   // spread over free workers
 *   await pool.broadcast('setup', (i) => ({ seed: i })); // once on every worker
 *   await pool.close();
 *
 * Works from compiled JavaScript (dist/) and from TypeScript sources (ts-node,
 * ts-jest): when the worker file or an entry is a .ts file, ts-node is
 * registered inside the worker (transpile-only) before anything is loaded.
 * Payloads and results are structured-cloned; return transfer(value, buffers)
 * from a task to move large typed arrays instead of copying them.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { BackendName } from '../backend';
import type { FromWorker, ToWorker, WorkerInit } from './worker';

export interface PoolOptions {
  /** Number of worker threads (>= 1). Default: number of CPU cores. */
  workers?: number;
  /** Module file(s) that register the tasks (absolute paths, or relative to the current directory). */
  entry: string | string[];
  /** Backend every worker initialises; default: initBackend's automatic choice (SPLITZ_BACKEND applies). */
  backend?: BackendName;
}

export interface RunOptions {
  /** ArrayBuffers of the payload to move to the worker instead of copying. */
  transfer?: ArrayBuffer[];
}

export interface Pool {
  /** Number of workers. */
  readonly size: number;
  /** Backend the workers initialised. */
  readonly backend: BackendName;
  /** Run a task on the next free worker. */
  run<R = unknown>(task: string, payload?: unknown, options?: RunOptions): Promise<R>;
  /** Run a task on one given worker (0 <= index < size), after the tasks queued for it. */
  runOn<R = unknown>(index: number, task: string, payload?: unknown, options?: RunOptions): Promise<R>;
  /** Run a task once on every worker, concurrently; payload may depend on the worker index. */
  broadcast<R = unknown>(task: string, payload?: unknown | ((index: number) => unknown)): Promise<R[]>;
  /** Run one task per payload on free workers; results in payload order. */
  map<P, R = unknown>(task: string, payloads: readonly P[]): Promise<R[]>;
  /** Terminate the workers (pending tasks are rejected). */
  close(): Promise<void>;
}

interface Job {
  id: number;
  task: string;
  payload: unknown;
  transfer: ArrayBuffer[];
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

class Slot {
  busy: Job | undefined;
  own: Job[] = [];
  dead: Error | undefined;
  constructor(
    readonly index: number,
    readonly worker: Worker,
  ) {}
}

function resolveEntry(p: string): string {
  const abs = path.resolve(p);
  for (const cand of [abs, `${abs}.js`, `${abs}.ts`]) if (fs.existsSync(cand) && fs.statSync(cand).isFile()) return cand;
  throw new Error(`createPool: entry module '${p}' not found (looked for ${abs}, .js and .ts); pass the path of the file that registers the tasks`);
}

function workerScript(entries: string[]): string {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `worker${ext}`);
  const needsTs = ext === '.ts' || entries.some((e) => e.endsWith('.ts'));
  const reg = needsTs ? `require(${JSON.stringify(require.resolve('ts-node'))}).register({ transpileOnly: true });` : '';
  return `${reg} require(${JSON.stringify(file)});`;
}

/** Start `workers` threads, wait until each has its backend and tasks, and return the pool. */
export async function createPool(options: PoolOptions): Promise<Pool> {
  const n = options.workers ?? os.cpus().length;
  if (!Number.isInteger(n) || n < 1) throw new Error(`createPool: workers must be a positive integer, got ${options.workers}`);
  const entries = (Array.isArray(options.entry) ? options.entry : [options.entry]).map(resolveEntry);
  if (entries.length === 0) throw new Error('createPool: give at least one entry module that registers tasks');
  const code = workerScript(entries);
  const slots: Slot[] = [];
  const shared: Job[] = [];
  let nextId = 1;
  let closed = false;
  let backend: BackendName | undefined;

  const dispatch = (s: Slot): void => {
    if (s.busy || s.dead) return;
    const job = s.own.shift() ?? shared.shift();
    if (!job) return;
    s.busy = job;
    s.worker.postMessage({ id: job.id, task: job.task, payload: job.payload } satisfies ToWorker, job.transfer);
  };
  const dispatchAll = (): void => slots.forEach(dispatch);

  const fail = (s: Slot, e: Error): void => {
    if (s.dead) return;
    s.dead = e;
    const lost = [...(s.busy ? [s.busy] : []), ...s.own.splice(0)];
    s.busy = undefined;
    for (const j of lost) j.reject(e);
    if (slots.every((t) => t.dead)) for (const j of shared.splice(0)) j.reject(e);
  };

  const ready = Array.from({ length: n }, (_, index) => {
    const init: WorkerInit = { index, backend: options.backend, entries };
    const worker = new Worker(code, { eval: true, workerData: init });
    const slot = new Slot(index, worker);
    slots.push(slot);
    return new Promise<BackendName>((resolve, reject) => {
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') return resolve(msg.backend);
        if (msg.type === 'init-error') {
          const e = new Error(`pool worker ${index} failed to start: ${msg.message}`);
          fail(slot, e);
          return reject(e);
        }
        const job = slot.busy;
        if (!job || job.id !== msg.id) return;
        slot.busy = undefined;
        if (msg.ok) job.resolve(msg.result);
        else {
          const e = new Error(`pool task '${job.task}' failed in worker ${index}: ${msg.message}`);
          if (msg.stack) e.stack = `${e.message}\n--- worker stack ---\n${msg.stack}`;
          job.reject(e);
        }
        dispatch(slot);
      });
      worker.on('error', (e) => {
        const err = new Error(`pool worker ${index} crashed: ${e.message}`);
        fail(slot, err);
        reject(err);
      });
      worker.on('exit', (code) => {
        const err = new Error(`pool worker ${index} exited (code ${code})${closed ? ' because the pool was closed' : ''}`);
        fail(slot, err);
        reject(err);
      });
    });
  });
  try {
    const names = await Promise.all(ready);
    backend = names[0];
  } catch (e) {
    closed = true;
    await Promise.all(slots.map((s) => s.worker.terminate()));
    throw e;
  }

  const submit = <R>(target: Slot | undefined, task: string, payload: unknown, transferList: ArrayBuffer[] = []): Promise<R> => {
    if (closed) return Promise.reject(new Error(`pool is closed: cannot run '${task}'`));
    if (target?.dead) return Promise.reject(target.dead);
    if (!target && slots.every((s) => s.dead)) return Promise.reject(slots[0].dead!);
    return new Promise<R>((resolve, reject) => {
      const job: Job = { id: nextId++, task, payload, transfer: transferList, resolve: resolve as (v: unknown) => void, reject };
      if (target) {
        target.own.push(job);
        dispatch(target);
      } else {
        shared.push(job);
        dispatchAll();
      }
    });
  };

  return {
    size: n,
    backend: backend!,
    run: (task, payload, o) => submit(undefined, task, payload, o?.transfer),
    runOn: (index, task, payload, o) => {
      if (!Number.isInteger(index) || index < 0 || index >= n) return Promise.reject(new RangeError(`pool.runOn: worker index must be in 0..${n - 1}, got ${index}`));
      return submit(slots[index], task, payload, o?.transfer);
    },
    broadcast: <R>(task: string, payload?: unknown) =>
      Promise.all(slots.map((s) => submit<R>(s, task, typeof payload === 'function' ? (payload as (i: number) => unknown)(s.index) : payload))),
    map: <P, R>(task: string, payloads: readonly P[]) => Promise.all(payloads.map((p) => submit<R>(undefined, task, p))),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const j of shared.splice(0)) j.reject(new Error(`pool closed before task '${j.task}' ran`));
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
