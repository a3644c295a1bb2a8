/** Timing of one runner: warm-up excluded, at least `seconds` of steps (and at least one step). */
import { performance } from 'perf_hooks';
import { tf } from '../lib/backend';
import { Runner } from './workloads';

export interface Timing {
  samples: number;
  steps: number;
  /** Wall time of the measured steps, seconds. */
  elapsed: number;
  /** tf.memory().numTensors after the measurement (flat across repeats when nothing leaks). */
  numTensors: number;
}

export const WARMUP_STEPS = 2;

export async function warmUp(r: Runner, steps = WARMUP_STEPS): Promise<void> {
  for (let i = 0; i < steps; i++) await r.step();
}

export async function timeRunner(r: Runner, seconds: number): Promise<Timing> {
  const t0 = performance.now();
  let steps = 0;
  while (steps === 0 || performance.now() - t0 < seconds * 1000) {
    await r.step();
    steps++;
  }
  const elapsed = (performance.now() - t0) / 1000;
  return { samples: steps * r.batch, steps, elapsed, numTensors: tf.memory().numTensors };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
