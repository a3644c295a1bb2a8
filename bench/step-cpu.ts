/**
 * CPU time and wall time per step of bench workloads, measured in
 * interleaved rounds in one process (so that a change of machine load hits
 * every workload alike), and the ratios to the first workload:
 *
 *   npx ts-node --transpile-only bench/step-cpu.ts [workloads] [steps per round] [rounds]
 *   npx ts-node --transpile-only bench/step-cpu.ts lenet_train_b256,splitz_trainer_lenet_b256 8 3
 *
 * CPU time is the whole process's (worker threads included: the trainer's
 * noise worker counts), so it shows the work a step costs; wall time shows
 * what a second core hides. Medians over rounds.
 */
import * as os from 'os';
import { initBackend, tf } from '../lib/backend';
import { median, warmUp } from './measure';
import { Runner, workload } from './workloads';

async function main(): Promise<void> {
  const names = (process.argv[2] ?? 'lenet_train_b256,splitz_trainer_lenet_b256').split(',');
  const steps = Number(process.argv[3] ?? 8);
  const rounds = Number(process.argv[4] ?? 3);
  await initBackend();
  await tf.setBackend('wasm');
  const runners: Runner[] = [];
  for (const n of names) {
    const r = await workload(n).make();
    await warmUp(r);
    runners.push(r);
  }
  const cpu = names.map(() => [] as number[]);
  const wall = names.map(() => [] as number[]);
  const load: number[] = [];
  for (let k = 0; k < rounds; k++) {
    load.push(os.loadavg()[0]);
    for (let i = 0; i < names.length; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) await runners[i].step();
      const c = process.cpuUsage(c0);
      wall[i].push((performance.now() - t0) / steps);
      cpu[i].push((c.user + c.system) / 1000 / steps);
    }
  }
  const f = (xs: number[]) => xs.map((v) => v.toFixed(0)).join(' ');
  names.forEach((n, i) => {
    const ratio = i === 0 ? '' : `   ratio to ${names[0]}: CPU ${(median(cpu[i]) / median(cpu[0])).toFixed(2)}, wall ${(median(wall[i]) / median(wall[0])).toFixed(2)}`;
    console.log(`${n.padEnd(28)} CPU ms/step ${median(cpu[i]).toFixed(0).padStart(5)} (${f(cpu[i])})   wall ${median(wall[i]).toFixed(0).padStart(5)} (${f(wall[i])})${ratio}`);
  });
  console.log(`load average (1 min) at the rounds: ${load.map((v) => v.toFixed(2)).join(' ')}; tensors ${tf.memory().numTensors}`);
  for (const r of runners) r.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
