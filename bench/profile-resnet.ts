/**
 * Kernel-by-kernel profile of one ResNet-20 training step (resnet20_train_b128)
 * on wasm, grouped by kernel name and by kernel + input shapes.
 *
 *   npx ts-node --transpile-only bench/profile-resnet.ts [--top N] [--rounds R]
 *
 * Kernel times are wall times (tf.profile); with --rounds R every group
 * reports its minimum over R profiled steps, which filters out most of a
 * loaded machine's interruptions. The CPU time of R unprofiled steps
 * (process.cpuUsage, median) is printed first.
 */
import { tf, initBackend } from '../lib/backend';
import { workload } from './workloads';

type Acc = Map<string, { ms: number; n: number }>;

function add(map: Acc, key: string, ms: number): void {
  const e = map.get(key) ?? { ms: 0, n: 0 };
  e.ms += ms;
  e.n++;
  map.set(key, e);
}

async function main(): Promise<void> {
  await initBackend({ force: 'wasm' });
  const arg = (name: string, d: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : d);
  const top = arg('--top', 40);
  const rounds = arg('--rounds', 1);
  const r = await workload('resnet20_train_b128').make();
  for (let i = 0; i < 2; i++) await r.step();
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const c0 = process.cpuUsage();
    const t0 = Date.now();
    await r.step();
    const c1 = process.cpuUsage(c0);
    wall.push(Date.now() - t0);
    cpu.push((c1.user + c1.system) / 1000);
  }
  const med = (a: number[]) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(`step (median of ${rounds}): ${med(wall)} ms wall, ${med(cpu).toFixed(0)} ms CPU; CPU per step [${cpu.map((c) => c.toFixed(0)).join(', ')}]`);
  const groups: Acc = new Map();
  const byName: Acc = new Map();
  let calls = 0;
  for (let round = 0; round < rounds; round++) {
    const info = await tf.profile(async () => {
      await r.step();
    });
    const g1: Acc = new Map();
    const n1: Acc = new Map();
    calls = 0;
    for (const k of info.kernels) {
      if (k.name.endsWith('__op')) continue; // op wrappers, counted in their kernels
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      calls++;
      add(g1, `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join(' ')}`, ms);
      add(n1, k.name, ms);
    }
    for (const [src, dst] of [[g1, groups], [n1, byName]] as const) {
      for (const [key, e] of src) {
        const old = dst.get(key);
        if (!old || e.ms < old.ms) dst.set(key, e);
      }
    }
  }
  const total = [...byName.values()].reduce((a, e) => a + e.ms, 0);
  console.log(`kernel sum ${total.toFixed(0)} ms (minimum per kernel over ${rounds} profiled step(s)), ${calls} kernel calls per step`);
  for (const [k, e] of [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  ${k.padEnd(28)} ${e.ms.toFixed(1).padStart(8)} ms x${e.n}`);
  console.log('by shape:');
  for (const [k, e] of [...groups.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) console.log(`  ${e.ms.toFixed(1).padStart(8)} ms x${String(e.n).padEnd(4)} ${k}`);
  r.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
