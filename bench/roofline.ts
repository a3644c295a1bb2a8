/**
 * What bounds the workloads, measured on both sides in the same run:
 * single-thread throughput of a large matrix product, of LeNet's second conv
 * (forward, batch 256), and of Gaussian noise generation (normals/s:
 * lib/smoothing's certification stream, Philox4x32-10 + Box-Muller in
 * WebAssembly SIMD, on LeNet-sized samples of 11,520 values, vs
 * torch.randn; and the training stream, sfc32 + polar in JavaScript).
 */
import { execFileSync } from 'child_process';
import { performance } from 'perf_hooks';
import { tf } from '../lib/backend';
import { GaussianStream, NoisySampleStream } from '../lib/smoothing/noise';

export interface Roofline {
  matmul_gflops: number;
  conv_gflops: number;
  normals_per_s: number;
  /** Training noise (splitz only). */
  training_normals_per_s?: number;
}

function rate(work: number, seconds: number, f: () => void): number {
  f();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    f();
    n++;
  }
  return (n * work) / ((performance.now() - t0) / 1000);
}

/** On the current tfjs backend (one thread). */
export function rooflineTf(seconds: number): Roofline {
  const a = tf.randomNormal([512, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  const x = tf.randomNormal([256, 12, 12, 20]);
  const w = tf.randomNormal([5, 5, 20, 50]);
  const matmul = rate(2 * 512 * 1024 * 1024, seconds, () => tf.matMul(a, b).dispose());
  const conv = rate(2 * 256 * 8 * 8 * 50 * 500, seconds, () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid').dispose());
  tf.dispose([a, b, x, w]);
  const D = 11520;
  const stream = new NoisySampleStream(new Float32Array(D), 1, { seed: 0, idx: 0, phase: 'estimation' });
  const samples = new Float32Array(91 * D); // about 1 M values, as on the torch side
  const normals = rate(samples.length, seconds, () => stream.next(91, samples));
  const buf = new Float32Array(1 << 20);
  const g = new GaussianStream(1);
  const training = rate(buf.length, seconds, () => g.fill(buf, 0, buf.length, 1));
  return { matmul_gflops: matmul / 1e9, conv_gflops: conv / 1e9, normals_per_s: normals, training_normals_per_s: training };
}

const PY = `
import sys, time, torch, torch.nn.functional as F
torch.set_num_threads(int(sys.argv[1])); S = float(sys.argv[2])
def rate(work, f):
    f(); n = 0; t0 = time.perf_counter()
    while time.perf_counter() - t0 < S: f(); n += 1
    return n * work / (time.perf_counter() - t0)
a = torch.randn(512, 1024); b = torch.randn(1024, 1024)
x = torch.randn(256, 20, 12, 12); w = torch.randn(50, 20, 5, 5)
buf = torch.empty(1 << 20)
print(rate(2 * 512 * 1024 * 1024, lambda: a @ b) / 1e9, rate(2 * 256 * 8 * 8 * 50 * 500, lambda: F.conv2d(x, w)) / 1e9, rate(1 << 20, lambda: buf.normal_()))
`;

/** The same three in PyTorch with `threads` threads. */
export function rooflineTorch(python: string, threads: number, seconds: number): Roofline {
  const out = execFileSync(python, ['-c', PY, String(threads), String(seconds)], { encoding: 'utf8', timeout: 120000 }).trim().split(/\s+/).map(Number);
  return { matmul_gflops: out[0], conv_gflops: out[1], normals_per_s: out[2] };
}
