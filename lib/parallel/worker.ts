/**
 * Worker-thread side of the pool (see ./pool.ts): initialise this thread's own
 * TensorFlow.js backend, load the entry modules (they register tasks), then
 * answer task messages one at a time, in order.
 */
import { parentPort, workerData } from 'worker_threads';
import { BackendName, initBackend } from '../backend';
import { TaskContext, Transfer, getTask, taskNames } from './registry';

export interface WorkerInit {
  index: number;
  backend?: BackendName;
  entries: string[];
}

export type ToWorker = { id: number; task: string; payload: unknown };
export type FromWorker =
  | { type: 'ready'; backend: BackendName; tasks: string[] }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; ok: true; result: unknown }
  | { type: 'result'; id: number; ok: false; message: string; stack?: string };

function errorMessage(e: unknown): { message: string; stack?: string } {
  return e instanceof Error ? { message: e.message, stack: e.stack } : { message: String(e) };
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('lib/parallel/worker must run in a worker thread (use createPool)');
  const init = workerData as WorkerInit;
  let ctx: TaskContext;
  try {
    const report = await initBackend(init.backend ? { force: init.backend } : {});
    for (const entry of init.entries) require(entry);
    ctx = { workerIndex: init.index, backend: report.chosen };
  } catch (e) {
    port.postMessage({ type: 'init-error', message: errorMessage(e).message } satisfies FromWorker);
    return;
  }
  // One task at a time: tfjs backends are not re-entrant across awaits in a useful way,
  // and the pool schedules at most one task per worker anyway.
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (msg: ToWorker) => {
    chain = chain.then(async () => {
      const fn = getTask(msg.task);
      if (!fn) {
        port.postMessage({
          type: 'result',
          id: msg.id,
          ok: false,
          message: `no task '${msg.task}' is registered in the worker (registered: ${taskNames().join(', ') || 'none'}); register it in one of the pool's entry modules`,
        } satisfies FromWorker);
        return;
      }
      try {
        const out = await fn(msg.payload, ctx);
        if (out instanceof Transfer) port.postMessage({ type: 'result', id: msg.id, ok: true, result: out.value } satisfies FromWorker, out.list);
        else port.postMessage({ type: 'result', id: msg.id, ok: true, result: out } satisfies FromWorker);
      } catch (e) {
        port.postMessage({ type: 'result', id: msg.id, ok: false, ...errorMessage(e) } satisfies FromWorker);
      }
    });
  });
  port.postMessage({ type: 'ready', backend: ctx.backend, tasks: taskNames() } satisfies FromWorker);
}

void main();
