/**
 * Pool entry of the benchmark: each worker builds its own runners on its own
 * backend and times them when asked (all workers at once, by broadcast).
 */
import { registerTask } from '../lib/parallel/registry';
import { tf } from '../lib/backend';
import { Runner, workload } from './workloads';
import { Timing, timeRunner, warmUp } from './measure';

const runners = new Map<string, Runner>();

registerTask('bench.setup', async (p: { name: string }) => {
  if (!runners.has(p.name)) {
    const r = await workload(p.name).make();
    await warmUp(r);
    runners.set(p.name, r);
  }
  return { backend: tf.getBackend() };
});

registerTask('bench.measure', async (p: { name: string; seconds: number }): Promise<Timing> => {
  const r = runners.get(p.name);
  if (!r) throw new Error(`bench.measure: workload '${p.name}' was not set up in this worker`);
  return timeRunner(r, p.seconds);
});

registerTask('bench.dispose', (p: { name: string }) => {
  runners.get(p.name)?.dispose();
  runners.delete(p.name);
  return tf.memory().numTensors;
});
