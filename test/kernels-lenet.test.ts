/**
 * The fast paths of LeNet's training kernels on wasm (lib/kernels/heap.ts),
 * each against the rule it replaces, written out here:
 *  - col2im for one channel and filter width 5 (LeNet's first conv: its input
 *    gradient and the power iteration's adjoint): bit-identical to the
 *    float32 scatter in (i, j, di, dj) order;
 *  - MaxPoolGrad for 2x2 windows of stride 2: the first maximum of each
 *    window in row-major order, NaN and -Infinity windows included;
 *  - ClipByValue's gradient: dy's exact bits where lo <= x <= hi.
 */
import { initBackend, tf } from '../lib/backend';
import { ConvGeometry, col2im } from '../lib/kernels/heap';
import seedrandom from 'seedrandom';

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

/** The scatter col2im rounds to float32 after every addition, in this order. */
function col2imScatter(cols: Float32Array, g: ConvGeometry): Float32Array {
  const { B, H, W, C, oH, oW, fh, fw, sh, sw, top, left } = g;
  const dx = new Float32Array(B * H * W * C);
  const K = fh * fw * C;
  for (let b = 0; b < B; b++)
    for (let i = 0; i < oH; i++)
      for (let j = 0; j < oW; j++)
        for (let di = 0; di < fh; di++)
          for (let dj = 0; dj < fw; dj++) {
            const r = i * sh - top + di;
            const c = j * sw - left + dj;
            if (r < 0 || r >= H || c < 0 || c >= W) continue;
            for (let ch = 0; ch < C; ch++) dx[((b * H + r) * W + c) * C + ch] += cols[((b * oH + i) * oW + j) * K + (di * fw + dj) * C + ch];
          }
  return dx;
}

test('col2im, one channel and 5 columns per window: bit-identical to the float32 scatter (valid, strided rows, top padding, uncovered columns)', () => {
  const rng = seedrandom('col2im1');
  const geometries: ConvGeometry[] = [
    { B: 3, H: 12, W: 12, C: 1, oH: 8, oW: 8, fh: 5, fw: 5, sh: 1, sw: 1, top: 0, left: 0 }, // LeNet conv1, small
    { B: 2, H: 13, W: 11, C: 1, oH: 5, oW: 7, fh: 5, fw: 5, sh: 2, sw: 1, top: 0, left: 0 }, // row stride 2, last row uncovered
    { B: 2, H: 9, W: 10, C: 1, oH: 9, oW: 5, fh: 3, fw: 5, sh: 1, sw: 1, top: 1, left: 0 }, // rows padded, columns 9.. uncovered
    { B: 1, H: 6, W: 5, C: 1, oH: 2, oW: 1, fh: 5, fw: 5, sh: 1, sw: 1, top: 0, left: 0 }, // one window per row
  ];
  for (const g of geometries) {
    const cols = new Float32Array(g.B * g.oH * g.oW * g.fh * g.fw);
    // Values of very different magnitudes, so that the order of the additions shows in the float32 result.
    for (let i = 0; i < cols.length; i++) cols[i] = (rng() - 0.5) * 10 ** Math.floor(rng() * 8 - 4);
    const got = new Float32Array(g.B * g.H * g.W).fill(NaN); // col2im must overwrite every entry
    col2im(cols, got, g);
    const want = col2imScatter(cols, g);
    expect(Array.from(got)).toEqual(Array.from(want));
  }
});

test.each([
  [1, 7], // LeNet conv1 (small): the one-channel col2im fast path
  [20, 50], // LeNet conv2: 20 input channels, neither in 8s nor a few (a SIMD path once took it as 8 and returned garbage)
  [12, 8],
])('Conv2DBackpropInput of LeNet-shaped 5x5 valid convs on wasm, %i input channels: equals the float64 definition', async (C, O) => {
  await tf.setBackend('wasm');
  const [B, H, W] = [3, 13, 12];
  const dy = tf.randomNormal([B, H - 4, W - 4, O], 0, 1, 'float32', 1);
  const w = tf.randomNormal([5, 5, C, O], 0, 1, 'float32', 2);
  const dx = tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, [B, H, W, C], 1, 'valid');
  const dyv = dy.dataSync();
  const wv = w.dataSync();
  const want = new Float64Array(B * H * W * C);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < H - 4; i++)
      for (let j = 0; j < W - 4; j++)
        for (let di = 0; di < 5; di++)
          for (let dj = 0; dj < 5; dj++)
            for (let c = 0; c < C; c++)
              for (let o = 0; o < O; o++) want[((b * H + i + di) * W + j + dj) * C + c] += wv[((di * 5 + dj) * C + c) * O + o] * dyv[((b * (H - 4) + i) * (W - 4) + j) * O + o];
  const got = dx.dataSync();
  let err = 0;
  let scale = 1;
  for (let k = 0; k < want.length; k++) {
    err = Math.max(err, Math.abs(got[k] - want[k]));
    scale = Math.max(scale, Math.abs(want[k]));
  }
  expect(err).toBeLessThan(1e-5 * scale);
  tf.dispose([dy, w, dx]);
});

/** MaxPoolGrad's rule: in row-major window order, a value above all taken before it is taken; a NaN is taken only if nothing was. */
function maxPoolGradRule(x: Float32Array, dy: Float32Array, [B, H, W, C]: number[], oH: number, oW: number): Float32Array {
  const dx = new Float32Array(x.length);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < oH; i++)
      for (let j = 0; j < oW; j++)
        for (let c = 0; c < C; c++) {
          let best = -Infinity;
          let at = -1;
          for (let p = 0; p < 2; p++)
            for (let q = 0; q < 2; q++) {
              const k = ((b * H + 2 * i + p) * W + 2 * j + q) * C + c;
              if (x[k] > best || (at < 0 && Number.isNaN(x[k]))) {
                best = x[k];
                at = k;
              }
            }
          if (at >= 0) dx[at] += dy[((b * oH + i) * oW + j) * C + c];
        }
  return dx;
}

test('MaxPoolGrad 2x2 stride 2 on wasm: first maximum per window, ties, NaN, -Infinity and uncovered rows/columns as the general rule', async () => {
  await tf.setBackend('wasm');
  const rng = seedrandom('pool2');
  const shape = [3, 9, 7, 5]; // odd: the last row and column belong to no window
  const n = shape.reduce((a, b) => a * b, 1);
  const special = [NaN, -Infinity, Infinity, 0, -0, 1, 1];
  // Mostly noise, often ties (rounded values), sometimes a special value.
  const x = Float32Array.from({ length: n }, () => (rng() < 0.15 ? special[Math.floor(rng() * special.length)] : rng() < 0.5 ? Math.round(rng() * 3) : rng() - 0.5));
  // Whole windows of -Infinity and of NaN / -Infinity mixes, where the first taken value decides.
  const [, H, W, C] = shape;
  const at = (b: number, r: number, c: number, ch: number) => ((b * H + r) * W + c) * C + ch;
  for (const [r, c] of [[0, 0], [0, 1], [1, 0], [1, 1]]) x[at(0, r, c, 0)] = -Infinity;
  x[at(0, 0, 2, 1)] = -Infinity;
  x[at(0, 0, 3, 1)] = NaN;
  x[at(0, 1, 2, 1)] = 5;
  x[at(1, 2, 2, 2)] = 2;
  x[at(1, 2, 3, 2)] = NaN;
  x[at(1, 3, 2, 2)] = 3;
  const oH = Math.floor(H / 2);
  const oW = Math.floor(W / 2);
  const dy = Float32Array.from({ length: shape[0] * oH * oW * C }, () => rng() - 0.5);
  const xt = tf.tensor4d(x, shape as [number, number, number, number]);
  const yt = tf.maxPool(xt, 2, 2, 'valid');
  const dyt = tf.tensor4d(dy, yt.shape);
  const g = tf.engine().runKernel('MaxPoolGrad', { dy: dyt, input: xt, output: yt }, { filterSize: 2, strides: 2, pad: 'valid' }) as tf.Tensor;
  const got = Array.from(g.dataSync());
  const want = Array.from(maxPoolGradRule(x, dy, shape, oH, oW));
  expect(got).toEqual(want);
  tf.dispose([xt, yt, dyt, g]);
});

test('ClipByValue gradient on wasm passes dy bit for bit (NaN, -0, subnormal dy) and 0 outside [lo, hi]', async () => {
  await tf.setBackend('wasm');
  const xs = [-0.5, 0, 0.5, 2, 2.5, -0, NaN, 1.9999999, Infinity];
  const dy = [1.5, -0, 1e-40, NaN, 7, -3, 4, -Infinity, 9];
  const x = tf.tensor1d(xs);
  const d = tf.tensor1d(dy);
  const g = tf.grad((v: tf.Tensor) => tf.mul(tf.clipByValue(v, 0, 2), d))(x);
  const got = Array.from(g.dataSync());
  const want = xs.map((v, i) => (v >= 0 && v <= 2 ? Math.fround(dy[i]) : 0));
  expect(got).toEqual(want); // toEqual tells -0 from 0 and matches NaN with NaN
  tf.dispose([x, d, g]);
});

test.each([
  { x: [3, 13, 12, 1], f: [5, 5, 1, 20], stride: 1, pad: 'valid' }, // LeNet conv1 (small batch)
  { x: [3, 12, 12, 20], f: [5, 5, 20, 50], stride: 1, pad: 'valid' }, // LeNet conv2
  { x: [2, 9, 9, 3], f: [3, 3, 3, 30], stride: 2, pad: 'same' }, // padded input, strided
])('Conv2DBackpropFilter with output channels padded to 8s on wasm (lib/kernels/conv-pad.ts): equals the float64 definition, x %j', async (c) => {
  await tf.setBackend('wasm');
  const xs = c.x as [number, number, number, number];
  const fs = c.f as [number, number, number, number];
  const pad = c.pad as 'same' | 'valid';
  const ci = tf.backend_util.computeConv2DInfo(xs, fs, c.stride, 1, pad);
  const x = tf.randomNormal(xs, 0, 1, 'float32', 3);
  const dy = tf.randomNormal([xs[0], ci.outHeight, ci.outWidth, fs[3]], 0, 1, 'float32', 4);
  const dW = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: c.stride, pad, dataFormat: 'NHWC', filterShape: fs } as unknown as tf.NamedAttrMap) as tf.Tensor;
  expect(dW.shape).toEqual(fs);
  const xv = x.dataSync();
  const gv = dy.dataSync();
  const [B, H, W, C] = xs;
  const [fh, fw, , O] = fs;
  const want = new Float64Array(fh * fw * C * O);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < ci.outHeight; i++)
      for (let j = 0; j < ci.outWidth; j++)
        for (let di = 0; di < fh; di++)
          for (let dj = 0; dj < fw; dj++) {
            const r = i * c.stride + di - ci.padInfo.top;
            const col = j * c.stride + dj - ci.padInfo.left;
            if (r < 0 || r >= H || col < 0 || col >= W) continue;
            for (let ch = 0; ch < C; ch++)
              for (let o = 0; o < O; o++) want[((di * fw + dj) * C + ch) * O + o] += xv[((b * H + r) * W + col) * C + ch] * gv[((b * ci.outHeight + i) * ci.outWidth + j) * O + o];
          }
  const got = dW.dataSync();
  let err = 0;
  let scale = 1;
  for (let k = 0; k < want.length; k++) {
    err = Math.max(err, Math.abs(got[k] - want[k]));
    scale = Math.max(scale, Math.abs(want[k]));
  }
  expect(err).toBeLessThan(1e-5 * scale);
  tf.dispose([x, dy, dW]);
});

test('the padded filter gradient applies where padding adds at most a quarter', async () => {
  const { paddedOutChannels } = await import('../lib/kernels/conv-pad');
  expect([20, 50, 30, 8, 16, 12, 6, 3].map(paddedOutChannels)).toEqual([24, 56, 32, undefined, undefined, undefined, undefined, undefined]);
});
