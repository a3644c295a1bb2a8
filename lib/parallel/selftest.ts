/**
 * Small tasks for checking a pool (test/parallel.test.ts) and as an example
 * of an entry module: load it with createPool({ entry: require.resolve('splitz/dist/parallel/selftest') }).
 */
import { tf } from '../backend';
import { registerTask, transfer } from './registry';

/** Which worker and backend ran the task, and how many tensors it holds. */
registerTask('selftest.whoami', (_: unknown, ctx) => ({ worker: ctx.workerIndex, backend: ctx.backend, tfBackend: tf.getBackend(), numTensors: tf.memory().numTensors }));

/** Sum of the values, computed by the worker's backend. */
registerTask('selftest.sum', (p: { values: number[] }) => tf.tidy(() => tf.sum(tf.tensor1d(p.values)).dataSync()[0]));

/** x -> 2x, the result's buffer moved back instead of copied. */
registerTask('selftest.double', (p: { x: Float32Array }) => {
  const out = tf.tidy(() => tf.mul(tf.tensor1d(p.x), 2).dataSync() as Float32Array);
  return transfer(out, [out.buffer as ArrayBuffer]);
});

/** Resolve after `ms` milliseconds (concurrency checks). */
registerTask('selftest.sleep', async (p: { ms: number }, ctx) => {
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, p.ms));
  return { worker: ctx.workerIndex, start: t0, end: Date.now() };
});

/** Throws, to check error propagation. */
registerTask('selftest.fail', (p: { message: string }) => {
  throw new Error(p.message);
});
