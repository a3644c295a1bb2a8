/**
 * Kernel-by-kernel profile of one ResNet-20 training step (resnet20_train_b128)
 * on wasm, grouped by kernel name and input shapes, with forward and backward
 * separated (tf.profile inside the loss function sees the forward kernels only).
 *
 *   npx ts-node --transpile-only bench/profile-resnet.ts [--top N]
 */
import { tf, initBackend } from '../lib/backend';
import { workload } from './workloads';

async function main(): Promise<void> {
  await initBackend({ force: 'wasm' });
  const top = Number(process.argv[process.argv.indexOf('--top') + 1]) || 40;
  const w = workload('resnet20_train_b128');
  const r = await w.make();
  for (let i = 0; i < 2; i++) await r.step();
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  await r.step();
  const c1 = process.cpuUsage(c0);
  console.log(`step: ${Date.now() - t0} ms wall, ${((c1.user + c1.system) / 1000).toFixed(0)} ms CPU`);
  const info = await tf.profile(async () => {
    await r.step();
  });
  const groups = new Map<string, { ms: number; n: number }>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    if (k.name.endsWith('__op')) continue; // nested op wrappers, counted in their kernels
    total += ms;
    const key = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join(' ')}`;
    const e = groups.get(key) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n++;
    groups.set(key, e);
  }
  const byName = new Map<string, { ms: number; n: number }>();
  for (const k of info.kernels) {
    if (k.name.endsWith('__op')) continue;
    const e = byName.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.n++;
    byName.set(k.name, e);
  }
  console.log(`kernel sum ${total.toFixed(0)} ms, ${info.kernels.length} kernel calls`);
  for (const [k, e] of [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  ${k.padEnd(28)} ${e.ms.toFixed(1).padStart(8)} ms x${e.n}`);
  console.log('by shape:');
  for (const [k, e] of [...groups.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) console.log(`  ${e.ms.toFixed(1).padStart(8)} ms x${String(e.n).padEnd(4)} ${k}`);
  r.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
