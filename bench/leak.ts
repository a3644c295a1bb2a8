/**
 * Long leak check (issue 5): tf.memory().numTensors, backend bytes and process
 * RSS over 2,000 LeNet training steps (noise at the split) and over a
 * certification-sized sampling run of 200 images (n0 = 100 selection + n
 * estimation samples each, seeded per image), printed every so often.
 *
 *   node --expose-gc -r ts-node/register/transpile-only bench/leak.ts [--steps 2000] [--batch 64] [--images 200] [--n 1000]
 *
 * With --expose-gc a full garbage collection runs before each report line, so
 * RSS shows retained memory, not V8's lazily collected garbage (without it RSS
 * creeps up by ~5 MB per 100 steps until V8 decides to collect).
 */
import { initBackend, tf } from '../lib/backend';
import { lenet } from '../lib/models/lenet';
import { splitModel } from '../lib/models/split';
import { trainableVariables } from '../lib/train/basic';
import { sampleCounts, toSplitPoint } from '../lib/smoothing/sample';
import { randomNormalTensor } from '../lib/kernels/random';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer`);
  return v;
}

const mb = (b: number) => (b / 2 ** 20).toFixed(1);

async function main(): Promise<void> {
  const report = await initBackend();
  const steps = arg('steps', 2000);
  const B = arg('batch', 64);
  const images = arg('images', 200);
  const n = arg('n', 1000);
  console.log(`leak check on ${report.chosen}: ${steps} training steps at batch ${B}, then ${images} images x (100 + ${n}) samples`);
  const gc = (globalThis as { gc?: () => void }).gc;
  const line = (what: string) => {
    gc?.();
    const m = tf.memory();
    const p = process.memoryUsage();
    const heap = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length;
    console.log(
      `${what.padEnd(22)} numTensors ${String(m.numTensors).padStart(5)}  backend ${mb(m.numBytes).padStart(7)} MB  rss ${mb(p.rss).padStart(7)} MB  js heap ${mb(p.heapUsed).padStart(6)} MB` +
        (heap ? `  wasm memory ${mb(heap).padStart(6)} MB` : ''),
    );
  };
  if (!gc) console.log('(run node with --expose-gc for RSS after a full collection)');
  const split = splitModel(lenet({ splitAfter: 1, seed: 0 }), 1);
  const x = tf.randomUniform([B, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.cast(tf.floor(tf.randomUniform([B], 0, 10, 'float32', 2)), 'int32'), 10);
  const opt = tf.train.adam(1e-3);
  const vars = trainableVariables(split.model);
  line('start');
  const every = Math.max(1, Math.floor(steps / 10));
  for (let s = 1; s <= steps; s++) {
    const z = randomNormalTensor([B, ...split.splitShape], 0.75, s);
    opt.minimize(() => tf.losses.softmaxCrossEntropy(y, split.fR(tf.add(split.fL(x), z))) as tf.Scalar, false, vars);
    z.dispose();
    if (s % every === 0 || s === 10) line(`train step ${s}`);
  }
  tf.dispose([x, y]);
  opt.dispose();
  const xs = tf.randomUniform([images, 28, 28, 1], 0, 1, 'float32', 3);
  const everyImg = Math.max(1, Math.floor(images / 10));
  for (let i = 0; i < images; i++) {
    const u = tf.tidy(() => split.fL(tf.slice(xs, [i, 0, 0, 0], [1, 28, 28, 1])));
    const point = await toSplitPoint(u);
    u.dispose();
    await sampleCounts(split.fR, point, 100, { sigma: 0.75, idx: i, phase: 'selection', numClasses: 10, pipeline: false });
    await sampleCounts(split.fR, point, n, { sigma: 0.75, idx: i, phase: 'estimation', numClasses: 10, pipeline: false });
    if ((i + 1) % everyImg === 0 || i === 9) line(`certify image ${i + 1}`);
  }
  xs.dispose();
  split.model.dispose();
  line('end (all disposed)');
}

main().catch((e) => {
  console.error(`leak: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
