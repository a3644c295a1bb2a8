/**
 * The kernels splitz registers for the wasm backend (lib/kernels) against
 * (a) the cpu backend's own kernels, (b) the definition of the gradient
 * summed in float64, and (c) central finite differences of the forward conv.
 * Tolerance (float32): max |wasm - reference| <= 1e-4 * max(1, max |reference|).
 */
import { initBackend, tf } from '../lib/backend';
import { registerWasmTrainingKernels, SPLITZ_WASM_KERNELS, useWasmConv2DBackpropFilter, useWasmConv2DBackpropInput } from '../lib/kernels';
import seedrandom from 'seedrandom';

type Shape4 = [number, number, number, number];
type PadArg = 'same' | 'valid' | number;
const REL_TOL = 1e-4;

function randn(n: number, rng: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(rng() + 1e-12)) * Math.cos(2 * Math.PI * rng());
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
function scale(a: ArrayLike<number>): number {
  let m = 1;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  const err = maxAbsDiff(got, want);
  if (!(err <= REL_TOL * scale(want))) throw new Error(`${what}: max abs error ${err} > ${REL_TOL} * ${scale(want)}`);
}

/** Run one kernel on a backend with fresh input tensors; returns its values and shape. */
async function runOn(backend: string, kernel: string, inputs: Record<string, { data: Float32Array; shape: number[] }>, attrs: Record<string, unknown>): Promise<{ data: Float32Array; shape: number[] }> {
  await tf.setBackend(backend);
  const ts: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.data, v.shape);
  const out = tf.engine().runKernel(kernel, ts as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  const res = { data: (await out.data()) as Float32Array, shape: out.shape.slice() };
  out.dispose();
  Object.values(ts).forEach((t) => t.dispose());
  return res;
}

/** Output size and top/left padding of a conv, as tfjs computes them. */
function geometry(x: Shape4, f: Shape4, stride: number, pad: PadArg) {
  const ci = tf.backend_util.computeConv2DInfo(x, f, stride, 1, pad);
  return { oH: ci.outHeight, oW: ci.outWidth, top: ci.padInfo.top, left: ci.padInfo.left };
}

/** dW and dx of sum(conv2d(x, W) * dy), summed from the definition in float64. */
function convGradsByDefinition(x: Float32Array, xs: Shape4, w: Float32Array, fs: Shape4, dy: Float32Array, stride: number, pad: PadArg) {
  const [B, H, W, C] = xs;
  const [fh, fw, , O] = fs;
  const { oH, oW, top, left } = geometry(xs, fs, stride, pad);
  const dW = new Float64Array(w.length);
  const dx = new Float64Array(x.length);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < oH; i++)
      for (let j = 0; j < oW; j++)
        for (let di = 0; di < fh; di++)
          for (let dj = 0; dj < fw; dj++) {
            const r = i * stride + di - top;
            const c = j * stride + dj - left;
            if (r < 0 || r >= H || c < 0 || c >= W) continue;
            for (let ch = 0; ch < C; ch++)
              for (let o = 0; o < O; o++) {
                const g = dy[((b * oH + i) * oW + j) * O + o];
                dW[((di * fw + dj) * C + ch) * O + o] += x[((b * H + r) * W + c) * C + ch] * g;
                dx[((b * H + r) * W + c) * C + ch] += w[((di * fw + dj) * C + ch) * O + o] * g;
              }
          }
  return { dW, dx };
}

const CASES: Array<{ x: Shape4; f: Shape4; stride: number; pad: PadArg }> = [
  { x: [1, 7, 7, 2], f: [3, 3, 2, 3], stride: 1, pad: 'same' },
  { x: [3, 8, 9, 3], f: [3, 3, 3, 4], stride: 1, pad: 'valid' },
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], stride: 2, pad: 'same' },
  { x: [2, 10, 10, 2], f: [3, 3, 2, 5], stride: 2, pad: 'same' },
  { x: [2, 9, 10, 3], f: [3, 2, 3, 4], stride: 2, pad: 'valid' }, // leftover rows/cols: the crop path
  { x: [4, 12, 12, 1], f: [5, 5, 1, 6], stride: 1, pad: 'valid' }, // LeNet's first conv, small
  { x: [2, 8, 7, 2], f: [3, 3, 2, 3], stride: 2, pad: 1 }, // explicit numeric pad
  { x: [2, 6, 6, 4], f: [1, 1, 4, 3], stride: 2, pad: 'same' },
  // Output channels in blocks of 8: the SIMD filter gradient (lib/kernels/conv-simd.ts) applies.
  { x: [3, 7, 6, 5], f: [3, 3, 5, 8], stride: 1, pad: 'same' }, // channels padded 5 -> 8
  { x: [2, 9, 8, 4], f: [3, 3, 4, 16], stride: 2, pad: 'same' },
  { x: [2, 9, 10, 3], f: [3, 2, 3, 8], stride: 2, pad: 'valid' }, // uncovered rows/cols
  { x: [2, 6, 6, 8], f: [1, 1, 8, 8], stride: 2, pad: 'same' }, // unpadded: x used in place
  { x: [2, 8, 7, 2], f: [3, 3, 2, 8], stride: 2, pad: 1 },
  // Stride 1 with input channels in 8s: the SIMD input gradient applies too.
  { x: [2, 7, 6, 8], f: [3, 3, 8, 16], stride: 1, pad: 'same' },
  { x: [2, 8, 9, 16], f: [3, 2, 16, 8], stride: 1, pad: 'valid' },
  { x: [2, 6, 7, 8], f: [5, 5, 8, 8], stride: 1, pad: 2 },
  // Strided, input channels in 8s: the SIMD input gradient's residue classes.
  { x: [2, 9, 8, 8], f: [3, 3, 8, 8], stride: 2, pad: 'same' },
  { x: [2, 9, 10, 8], f: [3, 2, 8, 4], stride: 2, pad: 'valid' },
  { x: [1, 10, 11, 8], f: [3, 3, 8, 5], stride: 3, pad: 'same' },
  { x: [2, 8, 7, 8], f: [3, 3, 8, 3], stride: 2, pad: 1 },
  { x: [1, 5, 6, 16], f: [2, 2, 16, 8], stride: 2, pad: 2 }, // padding wider than the filter
  // 3x3 stride 1 with even output sizes: Winograd F(2x2, 3x3), forward and input gradient
  // (35 tiles: two full chunks of 16 and a tail of 3).
  { x: [2, 6, 8, 8], f: [3, 3, 8, 16], stride: 1, pad: 'same' },
  { x: [1, 10, 14, 8], f: [3, 3, 8, 8], stride: 1, pad: 'same' },
  { x: [2, 8, 10, 4], f: [3, 3, 4, 8], stride: 1, pad: 'valid' },
  { x: [1, 4, 6, 64], f: [3, 3, 64, 64], stride: 1, pad: 'same' }, // 64x64 channels: Winograd filter gradient too
  // 3-7 input channels: the SIMD input gradient computes 8 and compacts.
  { x: [2, 7, 7, 3], f: [3, 3, 3, 16], stride: 1, pad: 'same' }, // ResNet's stem, small
  { x: [2, 8, 9, 5], f: [3, 3, 5, 6], stride: 2, pad: 'valid' },
];

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

test('the splitz kernels are registered for wasm, and the backend trains through them', () => {
  registerWasmTrainingKernels();
  for (const name of SPLITZ_WASM_KERNELS) expect(tf.getKernel(name, 'wasm')).toBeDefined();
  // tfjs-backend-wasm 4.22 ships no Conv2DBackpropFilter of its own: this kernel is ours.
  expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
});

describe.each(CASES)('conv2d x=%j', (c) => {
  const rng = seedrandom(JSON.stringify(c));
  const x = randn(c.x.reduce((a, b) => a * b), rng);
  const w = randn(c.f.reduce((a, b) => a * b), rng);
  const { oH, oW } = geometry(c.x, c.f, c.stride, c.pad);
  const dyShape: Shape4 = [c.x[0], oH, oW, c.f[3]];
  const dy = randn(dyShape.reduce((a, b) => a * b), rng);
  const conv = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };

  test(`stride ${c.stride}, pad ${JSON.stringify(c.pad)}: Conv2DBackpropFilter/Input match cpu and the float64 definition`, async () => {
    const def = convGradsByDefinition(x, c.x, w, c.f, dy, c.stride, c.pad);
    const dWc = await runOn('cpu', 'Conv2DBackpropFilter', { x: { data: x, shape: c.x }, dy: { data: dy, shape: dyShape } }, { ...conv, filterShape: c.f });
    // Every dW formulation: the per-shape choice, the dilated conv, im2col + matmul, SIMD (or its fallback).
    for (const impl of ['splitz', 'conv', 'matmul', 'simd'] as const) {
      useWasmConv2DBackpropFilter(impl);
      const dWw = await runOn('wasm', 'Conv2DBackpropFilter', { x: { data: x, shape: c.x }, dy: { data: dy, shape: dyShape } }, { ...conv, filterShape: c.f });
      expect(dWw.shape).toEqual(c.f);
      expectClose(dWw.data, dWc.data, `dW (${impl}) wasm vs cpu`);
      expectClose(dWw.data, def.dW, `dW (${impl}) wasm vs definition`);
    }
    useWasmConv2DBackpropFilter('splitz');
    for (const impl of ['splitz', 'conv', 'matmul', 'builtin', 'simd'] as const) {
      useWasmConv2DBackpropInput(impl);
      const dxw = await runOn('wasm', 'Conv2DBackpropInput', { dy: { data: dy, shape: dyShape }, filter: { data: w, shape: c.f } }, { ...conv, inputShape: c.x });
      expect(dxw.shape).toEqual(c.x);
      expectClose(dxw.data, def.dx, `dx (${impl}) wasm vs definition`);
    }
    useWasmConv2DBackpropInput('splitz');
    const dxc = await runOn('cpu', 'Conv2DBackpropInput', { dy: { data: dy, shape: dyShape }, filter: { data: w, shape: c.f } }, { ...conv, inputShape: c.x });
    expectClose(dxc.data, def.dx, 'dx cpu vs definition (the reference itself)');
  });
});

describe.each(CASES)('forward conv2d x=%j', (c) => {
  test(`stride ${c.stride}, pad ${JSON.stringify(c.pad)}: Conv2D and FusedConv2D (SIMD where output channels come in 8s, else XNNPACK) match cpu and the float64 definition`, async () => {
    const rng = seedrandom(`fwd ${JSON.stringify(c)}`);
    const x = randn(c.x.reduce((a, b) => a * b), rng);
    const w = randn(c.f.reduce((a, b) => a * b), rng);
    const bias = randn(c.f[3], rng);
    const { oH, oW, top, left } = geometry(c.x, c.f, c.stride, c.pad);
    const [B, H, W, C] = c.x;
    const [fh, fw, , O] = c.f;
    const def = new Float64Array(B * oH * oW * O);
    for (let b = 0; b < B; b++)
      for (let i = 0; i < oH; i++)
        for (let j = 0; j < oW; j++)
          for (let di = 0; di < fh; di++)
            for (let dj = 0; dj < fw; dj++) {
              const r = i * c.stride + di - top;
              const q = j * c.stride + dj - left;
              if (r < 0 || r >= H || q < 0 || q >= W) continue;
              for (let ch = 0; ch < C; ch++)
                for (let o = 0; o < O; o++) def[((b * oH + i) * oW + j) * O + o] += x[((b * H + r) * W + q) * C + ch] * w[((di * fw + dj) * C + ch) * O + o];
            }
    const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined };
    const inputs = { x: { data: x, shape: c.x }, filter: { data: w, shape: c.f } };
    for (const kernel of ['Conv2D', 'FusedConv2D']) {
      const got = await runOn('wasm', kernel, inputs, kernel === 'FusedConv2D' ? { ...attrs, activation: 'linear' } : attrs);
      expect(got.shape).toEqual([B, oH, oW, O]);
      expectClose(got.data, def, `${kernel} wasm vs definition`);
      const ref = await runOn('cpu', kernel, inputs, kernel === 'FusedConv2D' ? { ...attrs, activation: 'linear' } : attrs);
      expectClose(got.data, ref.data, `${kernel} wasm vs cpu`);
    }
    // With a bias and a ReLU (the built-in kernel runs): still equal to cpu.
    const fusedAttrs = { ...attrs, activation: 'relu' };
    const withBias = { ...inputs, bias: { data: bias, shape: [O] } };
    expectClose((await runOn('wasm', 'FusedConv2D', withBias, fusedAttrs)).data, (await runOn('cpu', 'FusedConv2D', withBias, fusedAttrs)).data, 'FusedConv2D + bias + relu wasm vs cpu');
  });
});

test('tf.grads of conv2d on wasm agree with central finite differences of the wasm forward conv', async () => {
  await tf.setBackend('wasm');
  const rng = seedrandom('fd');
  const xs: Shape4 = [2, 7, 7, 2];
  const fs: Shape4 = [3, 3, 2, 3];
  const x = tf.tensor4d(randn(98 * 2, rng), xs);
  const w = tf.tensor4d(randn(54, rng), fs);
  const r = tf.tensor4d(randn(2 * 4 * 4 * 3, rng), [2, 4, 4, 3]);
  // f is linear in x and in W, so central differences are exact up to float32 rounding (eps = 0.05).
  const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), r));
  const [gx, gw] = tf.grads(f)([x, w]);
  const gxv = await gx.data();
  const gwv = await gw.data();
  const eps = 0.05;
  const fd = (t: tf.Tensor, k: number, which: 0 | 1) =>
    tf.tidy(() => {
      const e = tf.mul(tf.reshape(tf.oneHot(tf.tensor1d([k], 'int32'), t.size), t.shape), eps);
      const args = (s: number) => (which === 0 ? [tf.add(t, tf.mul(e, s)), w] : [x, tf.add(t, tf.mul(e, s))]) as [tf.Tensor, tf.Tensor];
      return (f(...args(1)).dataSync()[0] - f(...args(-1)).dataSync()[0]) / (2 * eps);
    });
  for (const k of [0, 17, 45, 96, 150, 195]) expect(Math.abs(fd(x, k, 0) - gxv[k])).toBeLessThan(2e-3 * (1 + Math.abs(gxv[k])));
  for (const k of [0, 7, 20, 33, 53]) expect(Math.abs(fd(w, k, 1) - gwv[k])).toBeLessThan(2e-3 * (1 + Math.abs(gwv[k])));
  tf.dispose([x, w, r, gx, gw]);
});

test('depthwise conv gradients on wasm match cpu (stride 1 and 2, channel multiplier 1 and 2)', async () => {
  for (const c of [
    { x: [2, 7, 7, 3] as Shape4, f: [3, 3, 3, 1] as Shape4, stride: 1, pad: 'same' as PadArg },
    { x: [2, 9, 8, 2] as Shape4, f: [3, 3, 2, 2] as Shape4, stride: 2, pad: 'valid' as PadArg },
  ]) {
    const rng = seedrandom(JSON.stringify(c));
    const ci = tf.backend_util.computeConv2DInfo(c.x, c.f, c.stride, 1, c.pad, undefined, true);
    const x = randn(c.x.reduce((a, b) => a * b), rng);
    const w = randn(c.f.reduce((a, b) => a * b), rng);
    const dyShape = ci.outShape;
    const dy = randn(dyShape.reduce((a, b) => a * b), rng);
    const attrs = { strides: c.stride, pad: c.pad, dilations: 1, dimRoundingMode: undefined };
    const got: Array<{ data: Float32Array; shape: number[] }> = [];
    for (const b of ['wasm', 'cpu']) {
      got.push(await runOn(b, 'DepthwiseConv2dNativeBackpropFilter', { x: { data: x, shape: c.x }, dy: { data: dy, shape: dyShape } }, { ...attrs, filterShape: c.f }));
      got.push(await runOn(b, 'DepthwiseConv2dNativeBackpropInput', { dy: { data: dy, shape: dyShape }, filter: { data: w, shape: c.f } }, { ...attrs, inputShape: c.x }));
    }
    expect(got[0].shape).toEqual(c.f);
    expect(got[1].shape).toEqual(c.x);
    expectClose(got[0].data, got[2].data, 'depthwise dW wasm vs cpu');
    expectClose(got[1].data, got[3].data, 'depthwise dx wasm vs cpu');
  }
});

test('MaxPoolGrad on wasm: first maximum of each window gets dy (random, tied and padded inputs), like cpu', async () => {
  for (const c of [
    { x: [1, 6, 6, 3] as Shape4, k: 2, s: 2, pad: 'valid' as PadArg, ties: false }, // the shape tfjs-backend-wasm 4.22 gets wrong
    { x: [2, 8, 8, 5] as Shape4, k: 2, s: 2, pad: 'valid' as PadArg, ties: true },
    { x: [2, 7, 7, 2] as Shape4, k: 3, s: 2, pad: 'same' as PadArg, ties: true },
    { x: [1, 5, 6, 2] as Shape4, k: 2, s: 1, pad: 'valid' as PadArg, ties: false },
  ]) {
    const rng = seedrandom(JSON.stringify(c));
    let x = randn(c.x.reduce((a, b) => a * b), rng);
    if (c.ties) x = x.map((v) => Math.max(0, Math.round(v))); // many equal maxima, like ReLU outputs
    const pi = tf.backend_util.computePool2DInfo(c.x, c.k, c.s, 1, c.pad);
    const dy = randn(pi.outShape.reduce((a, b) => a * b), rng);
    const res: Float32Array[] = [];
    for (const b of ['wasm', 'cpu']) {
      await tf.setBackend(b);
      const xt = tf.tensor4d(x, c.x);
      const dyt = tf.tensor4d(dy, pi.outShape);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, c.k, c.s, c.pad), dyt)))(xt);
      res.push((await g.data()) as Float32Array);
      tf.dispose([xt, dyt, g]);
    }
    // The definition, in float64.
    const [B, H, W, C] = c.x;
    const want = new Float64Array(x.length);
    for (let b = 0; b < B; b++)
      for (let i = 0; i < pi.outHeight; i++)
        for (let j = 0; j < pi.outWidth; j++)
          for (let ch = 0; ch < C; ch++) {
            let best = -Infinity;
            let at = -1;
            for (let p = 0; p < c.k; p++)
              for (let q = 0; q < c.k; q++) {
                const r = i * c.s + p - pi.padInfo.top;
                const cc = j * c.s + q - pi.padInfo.left;
                if (r < 0 || r >= H || cc < 0 || cc >= W) continue;
                const v = x[((b * H + r) * W + cc) * C + ch];
                if (v > best) {
                  best = v;
                  at = ((b * H + r) * W + cc) * C + ch;
                }
              }
            want[at] += dy[((b * pi.outHeight + i) * pi.outWidth + j) * C + ch];
          }
    expectClose(res[0], want, `maxPool grad wasm vs definition ${JSON.stringify(c)}`);
    expectClose(res[1], want, `maxPool grad cpu vs definition ${JSON.stringify(c)}`);
  }
});

test('BatchMatMul / fused matMul with transposes on wasm match cpu', async () => {
  const rng = seedrandom('mm');
  const a = randn(2 * 5 * 7, rng);
  const b = randn(2 * 7 * 3, rng);
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    const aShape = ta ? [2, 7, 5] : [2, 5, 7];
    const bShape = tb ? [2, 3, 7] : [2, 7, 3];
    const out: Float32Array[] = [];
    for (const be of ['wasm', 'cpu']) {
      await tf.setBackend(be);
      const r = tf.tidy(() => tf.matMul(tf.tensor3d(a, aShape as [number, number, number]), tf.tensor3d(b, bShape as [number, number, number]), ta, tb));
      const fr = tf.tidy(() => tf.fused.matMul({ a: tf.tensor3d(a, aShape as [number, number, number]), b: tf.tensor3d(b, bShape as [number, number, number]), transposeA: ta, transposeB: tb, activation: 'relu' }));
      out.push((await r.data()) as Float32Array, (await fr.data()) as Float32Array);
      tf.dispose([r, fr]);
    }
    expectClose(out[0], out[2], `matMul ta=${ta} tb=${tb}`);
    expectClose(out[1], out[3], `fused matMul ta=${ta} tb=${tb}`);
  }
});

test('unsupported layouts give a clear error', async () => {
  await tf.setBackend('wasm');
  const x = tf.zeros([1, 2, 5, 5]);
  const dy = tf.zeros([1, 2, 3, 3]);
  expect(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NCHW', filterShape: [3, 3, 2, 2] } as unknown as tf.NamedAttrMap)).toThrow(/NHWC/);
  const xd = tf.zeros([1, 5, 5, 2]);
  const dyd = tf.zeros([1, 1, 1, 2]);
  expect(() => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: xd, dy: dyd }, { strides: 1, pad: 'valid', dilations: 2, filterShape: [3, 3, 2, 1] } as unknown as tf.NamedAttrMap)).toThrow(/dilation/);
  tf.dispose([x, dy, xd, dyd]);
});

/** Run a kernel on wasm and on cpu with the same inputs (any dtype); return both. */
async function bothBackends(kernel: string, inputs: Record<string, { data: ArrayLike<number>; shape: number[]; dtype?: tf.DataType }>, attrs: Record<string, unknown>) {
  const out: { data: number[]; shape: number[]; dtype: string }[] = [];
  for (const b of ['wasm', 'cpu']) {
    await tf.setBackend(b);
    const ts: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.data as number[], v.shape, v.dtype ?? 'float32');
    const r = tf.engine().runKernel(kernel, ts as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    out.push({ data: Array.from(await r.data()), shape: r.shape.slice(), dtype: r.dtype });
    r.dispose();
    Object.values(ts).forEach((t) => t.dispose());
  }
  await tf.setBackend('wasm');
  return { wasm: out[0], cpu: out[1] };
}

test('Tile on wasm (block copies) equals cpu for float32, int32 and bool, every rank 1-4', async () => {
  const rng = seedrandom('tile');
  const cases: [number[], number[]][] = [[[3], [4]], [[2, 3], [1, 2]], [[2, 1, 3], [3, 4, 1]], [[1, 1, 1, 16], [3, 5, 4, 1]], [[2, 3, 1, 2], [2, 1, 3, 2]], [[2, 2], [1, 1]]];
  for (const [shape, reps] of cases) {
    const n = shape.reduce((a, b) => a * b, 1);
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      const data = Array.from({ length: n }, () => (dtype === 'float32' ? rng() - 0.5 : dtype === 'int32' ? Math.floor(rng() * 100) : rng() < 0.5 ? 1 : 0));
      const r = await bothBackends('Tile', { x: { data, shape, dtype } }, { reps });
      expect(r.wasm.shape).toEqual(shape.map((d, i) => d * reps[i]));
      expect(r.wasm.dtype).toBe(dtype);
      expect(r.wasm.data).toEqual(r.cpu.data);
    }
  }
});

test('ClipByValue gradient on wasm: dy where min <= x <= max (bounds inclusive, as TensorFlow), equal to cpu', async () => {
  const xs = [-1, 0, 0.25, 1, 1.5, -0, 0.999, 1.0000001, NaN];
  const dy = xs.map((_, i) => i + 1);
  const grads: number[][] = [];
  for (const b of ['wasm', 'cpu']) {
    await tf.setBackend(b);
    const x = tf.tensor1d(xs);
    const g = tf.grad((v: tf.Tensor) => tf.mul(tf.clipByValue(v, 0, 1), tf.tensor1d(dy)))(x);
    grads.push(Array.from(await g.data()));
    tf.dispose([x, g]);
  }
  await tf.setBackend('wasm');
  // Independent fact: the derivative of clip(x, 0, 1) is 1 on [0, 1] (TF's convention at the ends), 0 outside.
  const want = xs.map((v, i) => (v >= 0 && v <= 1 ? dy[i] : 0));
  expect(grads[0]).toEqual(want);
  expect(grads[1]).toEqual(want);
  expect(tf.getGradient('ClipByValue')).toBeDefined();
});

test('Sum / Mean over leading axes on wasm (JS pass for rows >= 32, else built-in) match cpu and float64 sums; other axes fall back', async () => {
  const rng = seedrandom('sum');
  const shape = [3, 4, 5, 36]; // rows of 36 (and 180, 720): the JS pass; axis patterns with shorter rows: built-in
  const data = randn(3 * 4 * 5 * 36, rng);
  for (const kernel of ['Sum', 'Mean']) {
    for (const axis of [[0], [0, 1], [0, 1, 2], [1, 0], [-4, -3, -2], [1], [3], [1, 2], [0, 1, 2, 3]]) {
      for (const keepDims of [false, true]) {
        const r = await bothBackends(kernel, { x: { data, shape } }, { axis, keepDims });
        expect(r.wasm.shape).toEqual(r.cpu.shape);
        expectClose(r.wasm.data, r.cpu.data, `${kernel} axis ${axis} keepDims ${keepDims}`);
      }
    }
  }
  // Against an explicit float64 per-channel sum over (N, H, W).
  const r = await bothBackends('Sum', { x: { data, shape } }, { axis: [0, 1, 2], keepDims: false });
  const want = new Float64Array(36);
  for (let i = 0; i < data.length; i++) want[i % 36] += data[i];
  expectClose(r.wasm.data, Array.from(want), 'per-channel sum vs float64');
});

test('Identity on wasm shares the data (no copy) and survives disposal of its source', async () => {
  await tf.setBackend('wasm');
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  const y = tf.engine().runKernel('Identity', { x }) as tf.Tensor;
  expect(y.dataId).toBe(x.dataId); // the same backend data, reference-counted
  x.dispose();
  expect(Array.from(await y.data())).toEqual([1, 2, 3, 4]);
  y.dispose();
  // tf.clone goes through Identity too, and a variable assigned from a clone keeps its value.
  const v = tf.variable(tf.tensor1d([5, 6]));
  const c = tf.clone(v);
  v.assign(tf.tensor1d([7, 8]));
  expect(Array.from(await c.data())).toEqual([5, 6]);
  tf.dispose([v, c]);
});

test('Pow on wasm: exponents 2, 1, 0.5 (fast path) and 3, -1 (built-in) match cpu', async () => {
  const base = [-2, -0.5, 0, 0.5, 1, 3, 1e-3];
  for (const e of [2, 1, 0.5, 3, -1]) {
    for (const dtype of ['float32', 'int32'] as const) {
      // An int32 exponent reaches the kernel only from the gradient of x^2 (tf.pow upcasts otherwise).
      if (dtype === 'int32' && e !== 2 && e !== 1) continue;
      const r = await bothBackends('Pow', { a: { data: base, shape: [7] }, b: { data: [e], shape: [], dtype } }, {});
      r.wasm.data.forEach((v, i) => {
        const want = r.cpu.data[i];
        if (Number.isNaN(want)) expect(v).toBeNaN();
        else if (!Number.isFinite(want)) expect(v).toBe(want);
        else expect(Math.abs(v - want)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
      });
    }
  }
});
