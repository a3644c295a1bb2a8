/**
 * Monte Carlo CERTIFY / PREDICT at the split (lib/smoothing/certify.ts,
 * sample.ts, noise.ts) on classifiers whose smoothed behaviour is known in
 * closed form: a constant classifier and linear classifiers, for which
 * P(f_R(u + delta) = 0) = Phi((w.u + b) / (sigma ||w||)).
 */
import { initBackend, tf } from '../lib/backend';
import { certify, predict, ABSTAIN } from '../lib/smoothing/certify';
import { sampleCounts } from '../lib/smoothing/sample';
import { NoisySampleStream, deriveSeed, certifyNoiseKey } from '../lib/smoothing/noise';
import { HeapNoise, boxMullerWords, philox4x32, philoxWords, referenceValue } from '../lib/smoothing/philox';
import { normalQuantile } from '../lib/smoothing/stats';
import cdfNormal = require('@stdlib/stats-base-dists-normal-quantile');
import { lenet } from '../lib/models/lenet';
import { splitModel } from '../lib/models/split';
import { localLipschitzOf } from '../lib/lipschitz';

beforeAll(async () => {
  await initBackend({ force: 'cpu' });
});

/** f_R that always answers class c of K (logits independent of the input). */
function constantClassifier(c: number, K: number) {
  return (u: tf.Tensor) =>
    tf.tidy(() => {
      const row = new Float32Array(K);
      row[c] = 5;
      return tf.tile(tf.tensor2d(row, [1, K]), [u.shape[0], 1]);
    });
}

/** Two-class linear f_R on flat inputs: class 0 iff w.u + b > 0. */
function linearClassifier(w: number[], b: number) {
  return (u: tf.Tensor) =>
    tf.tidy(() => {
      const z = tf.add(tf.matMul(tf.reshape(u, [u.shape[0], w.length]), tf.tensor2d(w, [w.length, 1])), b);
      return tf.concat([z, tf.neg(z)], 1);
    });
}

/** Standard normal CDF via bisection on the (independently tested) quantile, to avoid a second dependency. */
function Phi(z: number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 200; i++) {
    const mid = 0.5 * (lo + hi);
    if (cdfNormal(mid, 0, 1) < z) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** The first draws of the certification stream of (seed 0, image 0, estimation), as this implementation makes them. */
const PINNED_FIRST_DRAWS = [0.09378615766763687, 0.7038641571998596, 1.4655100107192993, 0.9375039339065552];

/** SAMPLES samples of D values of one certification stream (sigma 1, u = 0), as consecutive values. */
function drawMany(key: { seed: number; idx: number; phase: 'estimation' | 'selection' }, D: number, samples: number): Float32Array {
  return new NoisySampleStream(new Float32Array(D), 1, key).next(samples);
}

describe('noise stream', () => {
  test('same key -> same draws, whatever the batch schedule or start', () => {
    const u = Float32Array.from([0.1, -0.2, 0.3]);
    const key = { seed: 7, idx: 3, phase: 'estimation' as const };
    const all = new NoisySampleStream(u, 0.5, key).next(357);
    const parts = new NoisySampleStream(u, 0.5, key);
    const pieces = [1, 99, 100, 57, 3, 97].map((m) => parts.next(m));
    const joined = new Float32Array(all.length);
    let o = 0;
    for (const p of pieces) {
      joined.set(p, o);
      o += p.length;
    }
    expect(joined).toEqual(all);
    // a worker starting at sample 150 sees the same values
    expect(new NoisySampleStream(u, 0.5, key, 150).next(60)).toEqual(all.slice(150 * 3, 210 * 3));
    // different seed, image or phase: different draws
    expect(new NoisySampleStream(u, 0.5, { ...key, seed: 8 }).next(5)).not.toEqual(all.slice(0, 15));
    expect(new NoisySampleStream(u, 0.5, { ...key, idx: 4 }).next(5)).not.toEqual(all.slice(0, 15));
    expect(new NoisySampleStream(u, 0.5, { ...key, phase: 'selection' }).next(5)).not.toEqual(all.slice(0, 15));
    expect(deriveSeed(0, 0, 1, 0)).not.toEqual(deriveSeed(0, 0, 1, 1));
    expect(new Set([0, 1, 2].map((b) => deriveSeed(5, 6, 2, b).join())).size).toBe(3);
  });

  test("Philox4x32-10: Random123's known-answer vectors, in the WebAssembly module and in the JavaScript reference", () => {
    // tests/kat_vectors of Random123 (D. E. Shaw Research): counter (4 words), key (2 words) -> output (4 words).
    const kat: [[number, number, number, number], [number, number], number[]][] = [
      [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
      [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
      [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
    ];
    for (const [counter, key, expected] of kat) {
      expect(philox4x32(counter, key)).toEqual(expected);
      expect(Array.from(philoxWords(counter, key).slice(0, 4))).toEqual(expected);
    }
    // the module's four lanes are the counters c0, c0 + 1, c0 + 2, c0 + 3 (with c0 wrapping mod 2^32)
    const lanes = philoxWords([0xfffffffe, 5, 6, 7], [11, 12]);
    for (let l = 0; l < 4; l++) expect(Array.from(lanes.slice(4 * l, 4 * l + 4))).toEqual(philox4x32([(0xfffffffe + l) % 2 ** 32, 5, 6, 7], [11, 12]));
  });

  test('the Box-Muller transform at the edges of its branches matches float64 (r from u = (w + 1/2) / 2^32, a = 2 pi w / 2^32)', () => {
    // u-words: both ends, both sides of 2^31 (where ln u switches to log1p(-v)) and of 1 - v = sqrt(1/2);
    // angle words: octant boundaries (w = m 2^29) and their neighbours.
    const vEdge = Math.round((1 - Math.SQRT1_2) * 2 ** 32);
    const uWords = [0, 1, 2, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 32 - 2, 2 ** 32 - 1, 2 ** 32 - 1 - vEdge, 2 ** 32 - 2 - vEdge, 2 ** 32 - vEdge, 12345, 0x9e3779b9, 0xdeadbeef, 0x7fff0000, 0x80010000];
    const aWords = [0, 2 ** 29 - 1, 2 ** 29, 2 ** 29 + 1, 2 ** 30, 3 * 2 ** 29 - 1, 3 * 2 ** 29, 2 ** 31, 5 * 2 ** 29 + 1, 3 * 2 ** 30, 7 * 2 ** 29 - 1, 7 * 2 ** 29, 2 ** 32 - 1, 1, 0x12345678, 0xfedcba98];
    let worst = 0;
    for (let g = 0; g < 4; g++) {
      const w0 = uWords.slice(4 * g, 4 * g + 4);
      const w1 = aWords.slice(4 * g, 4 * g + 4);
      const w2 = aWords.slice(4 * g, 4 * g + 4).map((w) => (w ^ 0x5a5a5a5a) >>> 0); // the u and angle roles swapped too
      const w3 = uWords.slice(4 * g, 4 * g + 4);
      const z = boxMullerWords([...w0, ...w1, ...w2, ...w3]);
      for (let l = 0; l < 4; l++) {
        for (const [wu, wa, zc, zs] of [[w0[l], w1[l], z[l], z[4 + l]], [w2[l], w3[l], z[8 + l], z[12 + l]]]) {
          const r = Math.sqrt(-2 * Math.log((wu + 0.5) / 2 ** 32));
          const a = (2 * Math.PI * wa) / 2 ** 32;
          // float32 arithmetic: a few ulps of r, of the angle's sin and cos, and of the product
          for (const [got, want] of [[zc, r * Math.cos(a)], [zs, r * Math.sin(a)]]) {
            const err = Math.abs(got - want) / (2 ** -23 * Math.max(r, 1e-30));
            worst = Math.max(worst, err);
            expect(err).toBeLessThan(8);
          }
        }
      }
    }
    // r near 0 keeps float32 precision (u = 1 - 2^-32 + 2^-33 gives r = 2^-16 exactly to first order)
    const tiny = boxMullerWords([2 ** 32 - 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])[0];
    expect(Math.abs(tiny / Math.sqrt(-2 * Math.log1p(-0.5 / 2 ** 32)) - 1)).toBeLessThan(1e-6);
    expect(worst).toBeGreaterThan(0); // the comparison did run
  });

  test('the stream is the documented definition: key from deriveSeed, counter (k / 4, j, 0), float64 reference within float32 error', () => {
    const key = { seed: 3, idx: 77, phase: 'estimation' as const };
    expect(certifyNoiseKey(key)).toEqual(deriveSeed(3, 77, 2, 0).slice(0, 2));
    const D = 37; // not a multiple of 16: the last lanes are computed and dropped
    const u = Float32Array.from({ length: D }, (_, k) => Math.fround(0.1 * k - 1));
    const sigma = 0.5;
    for (const start of [0, 4096, 2 ** 32 + 5]) {
      const got = new NoisySampleStream(u, sigma, key, start).next(3);
      for (let i = 0; i < 3; i++) {
        for (let k = 0; k < D; k++) {
          const z = referenceValue(certifyNoiseKey(key), start + i, k);
          expect(Math.abs(got[i * D + k] - (u[k] + sigma * z))).toBeLessThan(4e-6 * (1 + Math.abs(u[k]) + sigma * Math.abs(z)));
        }
      }
    }
    // 32,768 values against float64: within 4 float32 ulps of |z| (1e-3 at least; the implementation measured 2)
    const D2 = 4096;
    const z = new NoisySampleStream(new Float32Array(D2), 1, key).next(8);
    let worst = 0;
    for (let j = 0; j < 8; j++) {
      for (let k = 0; k < D2; k++) {
        const want = referenceValue(certifyNoiseKey(key), j, k);
        worst = Math.max(worst, Math.abs(z[j * D2 + k] - want) / (2 ** -23 * Math.max(Math.abs(want), 1e-3)));
      }
    }
    expect(worst).toBeLessThan(4);
  });

  test('the documented seed derivation, re-implemented here, and pinned first draws', () => {
    // noise.ts: for INIT in (0x243f6a88, 0x85a308d3, 0x13198a2e): h = INIT, then for each word w of
    // (seedLo, seedHi, idxLo, idxHi, phase, block): h = fmix32((h ^ w) + 0x9e3779b9 mod 2^32)
    const fmix = (h: number) => {
      h = (h ^ (h >>> 16)) >>> 0;
      h = Number((BigInt(h) * 0x85ebca6bn) & 0xffffffffn);
      h = (h ^ (h >>> 13)) >>> 0;
      h = Number((BigInt(h) * 0xc2b2ae35n) & 0xffffffffn);
      return (h ^ (h >>> 16)) >>> 0;
    };
    const seed = 2 ** 33 + 17;
    const ws = [17, 2, 123456, 0, 2, 41];
    const expected = [0x243f6a88, 0x85a308d3, 0x13198a2e].map((h0) => ws.reduce((h, w) => fmix((((h ^ w) >>> 0) + 0x9e3779b9) % 2 ** 32), h0));
    expect(deriveSeed(seed, 123456, 2, 41)).toEqual(expected);
    // Regression pin (values of this implementation): a change here changes every certificate's draws.
    const first = new NoisySampleStream(new Float32Array(4), 1, { seed: 0, idx: 0, phase: 'estimation' }).next(1);
    expect(Array.from(first)).toEqual(PINNED_FIRST_DRAWS);
  });

  test('standard normal: moments, quantiles and tails of 460,800 draws; no correlation between neighbours, samples or phases', () => {
    const D = 1152;
    const z = drawMany({ seed: 1, idx: 2, phase: 'estimation' }, D, 400);
    const N = z.length;
    let s = 0;
    let s2 = 0;
    let s4 = 0;
    for (const v of z) {
      s += v;
      s2 += v * v;
      s4 += v ** 4;
    }
    expect(Math.abs(s / N)).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(s2 / N - 1)).toBeLessThan(5 * Math.sqrt(2 / N));
    expect(Math.abs(s4 / N - 3)).toBeLessThan(5 * Math.sqrt(96 / N));
    for (const q of [-4, -3, -2, -1, 0, 0.5, 1.5, 2.5, 3, 4]) {
      const p = Phi(q);
      let below = 0;
      for (const v of z) if (v < q) below++;
      expect(Math.abs(below / N - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / N) + 1 / N);
    }
    const corr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let c = 0;
      for (let i = 0; i < a.length; i++) c += a[i] * b[i];
      return c / a.length;
    };
    // neighbours within a sample (the two values of one Box-Muller pair, and across pairs and tuples)
    for (const lag of [1, 2, 4, 16]) expect(Math.abs(corr(z.subarray(lag), z.subarray(0, N - lag)))).toBeLessThan(5 / Math.sqrt(N));
    // the same value index in consecutive samples, and in another phase
    expect(Math.abs(corr(z.subarray(D), z.subarray(0, N - D)))).toBeLessThan(5 / Math.sqrt(N));
    const other = drawMany({ seed: 1, idx: 2, phase: 'selection' }, D, 400);
    expect(Math.abs(corr(z, other))).toBeLessThan(5 / Math.sqrt(N));
    // squares too: Box-Muller's r is shared by a pair, and a broken one would correlate z0^2 and z1^2
    const sq = Float32Array.from(z, (v) => v * v - 1);
    expect(Math.abs(corr(sq.subarray(1), sq.subarray(0, N - 1)))).toBeLessThan(10 / Math.sqrt(N)); // z^2 - 1 has variance 2
  });
});

describe('sampleCounts', () => {
  test('counts on device: the right length and total, class argmax', async () => {
    const u = { values: Float32Array.from([1, 2]), shape: [2] };
    const counts = await sampleCounts(constantClassifier(2, 4), u, 2345, { sigma: 1, batchSize: 1000 });
    expect(Array.from(counts)).toEqual([0, 0, 2345, 0]);
    const before = tf.memory().numTensors;
    await sampleCounts(linearClassifier([1, 0], 0), u, 300, { sigma: 1, batchSize: 128 });
    expect(tf.memory().numTensors).toBe(before); // nothing leaked
  });
});

describe('pipelined sampling (noise on a worker thread)', () => {
  test('gives exactly the counts of in-thread sampling', async () => {
    const u = { values: Float32Array.from([0.3, -0.1, 0.2]), shape: [3] };
    const f_R = linearClassifier([1, 2, -1], 0.05);
    const opts = { sigma: 0.7, batchSize: 250, seed: 99, idx: 4 };
    const inThread = await sampleCounts(f_R, u, 1900, { ...opts, pipeline: false });
    const piped = await sampleCounts(f_R, u, 1900, { ...opts, pipeline: true });
    expect(Array.from(piped)).toEqual(Array.from(inThread));
    expect(piped.reduce((a, b) => a + b, 0)).toBe(1900);
  });
});

describe('noise written into the wasm heap (HeapNoise)', () => {
  // The rest of this file runs on cpu; HeapNoise lives in the wasm backend, which certification uses.
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });
  afterAll(async () => {
    await initBackend({ force: 'cpu' });
  });

  test('the backend here is wasm, where HeapNoise is used; on cpu it is not', async () => {
    expect(HeapNoise.for(tf.findBackend('cpu') as object)).toBeUndefined();
    expect(tf.getBackend()).toBe('wasm');
    expect(HeapNoise.for(tf.backend())).toBeDefined();
  });

  test.each([
    // Tails of 1, 5, 15 and 11 values after the last full block of 16: every lane is written once.
    [1, 0, 3],
    [37, 5, 4],
    [15, 2, 3],
    [27, 9, 2],
    [16, 0, 3],
    [500, 1000, 3],
    [11520, 7, 2],
    // Samples 2^32 - 2 .. 2^32 + 1: the carry into the counter's high word.
    [20, 4294967294, 4],
  ])('D = %i, samples %i.. (%i of them): bit for bit the draws of NoisySampleStream', (D, j0, m) => {
    const heap = HeapNoise.for(tf.backend()) as HeapNoise;
    const values = Float32Array.from({ length: D }, (_, k) => Math.sin(k) * 0.7);
    const key = { seed: 17, idx: 3, phase: 'estimation' as const };
    const before = tf.memory().numTensors;
    const base = tf.tensor(values, [D], 'float32');
    const x = heap.samples(certifyNoiseKey(key), base, j0, m, [D], 0.6);
    expect(x.shape).toEqual([m, D]);
    const got = x.dataSync() as Float32Array;
    const want = new NoisySampleStream(values, 0.6, key, j0).next(m);
    expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(true);
    // The base tensor is untouched and nothing is left behind.
    expect(Array.from(base.dataSync())).toEqual(Array.from(values));
    tf.dispose([x, base]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('writes nothing outside its tensor', () => {
    const heap = HeapNoise.for(tf.backend()) as HeapNoise;
    // Neighbours allocated around the output: a tail written past D (or past m * D) would change them.
    const guards = [tf.fill([64], 7.5), tf.tensor(Float32Array.from({ length: 23 }, (_, k) => k), [23])];
    const base = guards[1];
    const xs = [1, 2, 3].map((m) => heap.samples([5, 6], base, 0, m, [23], 1));
    const after = tf.fill([64], -2.25);
    expect(Array.from(guards[0].dataSync())).toEqual(new Array(64).fill(7.5));
    expect(Array.from(base.dataSync())).toEqual(Array.from({ length: 23 }, (_, k) => k));
    expect(Array.from(after.dataSync())).toEqual(new Array(64).fill(-2.25));
    tf.dispose([...guards, ...xs, after]);
  });

  test('bad arguments are refused', () => {
    const heap = HeapNoise.for(tf.backend()) as HeapNoise;
    const base = tf.zeros([6]);
    expect(() => heap.samples([1, 2], base, 0, 2, [5], 1)).toThrow(/does not hold the 6 values/);
    expect(() => heap.samples([1, 2], base, -1, 2, [6], 1)).toThrow(/non-negative integers/);
    base.dispose();
  });

  test('sampleCounts gives the same counts with it and with the host-buffer path, and leaves no tensor behind', async () => {
    const u = { values: Float32Array.from([0.3, -0.1, 0.2, 0.05, -0.4]), shape: [5] };
    const f_R = linearClassifier([1, 2, -1, 0.5, 1], 0.05);
    const opts = { sigma: 0.9, batchSize: 333, seed: 4, idx: 11, pipeline: false };
    const before = tf.memory().numTensors;
    const heapCounts = await sampleCounts(f_R, u, 2000, opts);
    const hostCounts = await sampleCounts(f_R, u, 2000, { ...opts, heapNoise: false });
    expect(Array.from(heapCounts)).toEqual(Array.from(hostCounts));
    expect(heapCounts.reduce((a, b) => a + b, 0)).toBe(2000);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('certify', () => {
  test('constant classifier: pA_lower = alpha^(1/n), radius = sigma * Phi^-1(alpha^(1/n))', async () => {
    const x = tf.zeros([4, 4, 1]);
    const r = await certify({ f_R: constantClassifier(1, 3) }, x, { sigma: 0.5, n0: 50, n: 1000, alpha: 0.001, seed: 1 });
    expect(r.predict).toBe(1);
    expect(r.nA).toBe(1000);
    expect(r.pA_lower).toBeCloseTo(Math.pow(0.001, 1 / 1000), 14);
    // scipy: 0.5 * norm.ppf(proportion_confint(1000, 1000, alpha=0.002, method='beta')[0]) = 1.2316313073904057
    expect(Math.abs(r.radius - 1.2316313073904057)).toBeLessThan(1e-9);
    expect(r.radius).toBe(r.radius_fR); // plain RS: no gamma cap, L = 1
    expect(r.lipschitz).toBe(1);
    expect(r.gamma).toBe(Infinity);
    // s = 0 with an f_L given is plain RS too
    const r0 = await certify({ f_L: (t) => tf.mul(t, 3), f_R: constantClassifier(1, 3), s: 0 }, x, { sigma: 0.5, n0: 50, n: 1000, seed: 1 });
    expect(r0.radius).toBe(r.radius);
    x.dispose();
  });

  test('SPLITZ with a constant local bound c: radius = R_fR / c at gamma = R_fR / c', async () => {
    const x = tf.ones([3]);
    const c = 0.4;
    const split = { f_L: (t: tf.Tensor) => tf.mul(t, 2), f_R: constantClassifier(0, 2), s: 1 };
    const r = await certify(split, x, { sigma: 0.25, n0: 20, n: 1000, seed: 5, L: () => c });
    const Rf = 0.25 * normalQuantile(Math.pow(0.001, 1 / 1000));
    expect(r.radius_fR).toBeCloseTo(Rf, 12);
    expect(r.radius).toBe(Math.min(r.radius_fR / c, r.gamma));
    expect(r.radius).toBe(r.radius_fR / c);
    expect(r.lipschitz).toBe(c);
    // and a local bound growing with gamma caps it at the crossing
    const r2 = await certify(split, x, { sigma: 0.25, n0: 20, n: 1000, seed: 5, L: (g) => 0.4 + g });
    expect(r2.radius).toBe(Math.min(r2.radius_fR / r2.lipschitz, r2.gamma));
    expect(r2.radius).toBeLessThan(r.radius);
    await expect(certify(split, x, { sigma: 0.25, n: 10 })).rejects.toThrow(/local Lipschitz bound/);
    x.dispose();
  });

  test('seeds repeat exactly, whatever the batch size; other seeds differ', async () => {
    const f_R = linearClassifier([1, -1], 0.3);
    const x = tf.tensor1d([0.2, 0.1]);
    const opts = { sigma: 1, n0: 64, n: 3000, seed: 1234, idx: 9 };
    const a = await certify({ f_R }, x, { ...opts, batchSize: 1000 });
    const b = await certify({ f_R }, x, { ...opts, batchSize: 77 });
    expect(Array.from(b.counts)).toEqual(Array.from(a.counts));
    expect(Array.from(b.counts0)).toEqual(Array.from(a.counts0));
    expect(b.radius).toBe(a.radius);
    const c = await certify({ f_R }, x, { ...opts, seed: 1235 });
    expect(Array.from(c.counts)).not.toEqual(Array.from(a.counts));
    const d = await certify({ f_R }, x, { ...opts, idx: 10 });
    expect(Array.from(d.counts)).not.toEqual(Array.from(a.counts));
    x.dispose();
  });

  test('linear classifiers (1-D and 2-D): pA_lower lies just below the true pA = Phi(w.u / (sigma ||w||))', async () => {
    const alpha = 0.001;
    const n = 20000;
    const cases: Array<{ w: number[]; b: number; u: number[]; sigma: number }> = [
      { w: [1], b: 0, u: [0.3], sigma: 0.25 },
      // pA >= 0.69 in every case: the n0 = 100 selection then picks class 0 except with probability < 1e-4
      // (at pA = 0.54 it picked class 1 for one seed, and the certificate rightly abstained)
      { w: [2, -1], b: 0.7, u: [0.2, 0.4], sigma: 0.5 },
      { w: [0.5, 0.5], b: -0.2, u: [0.5, 0.6], sigma: 1 },
    ];
    for (const [i, k] of cases.entries()) {
      const normW = Math.hypot(...k.w);
      const pA = Phi((k.w.reduce((s, wj, j) => s + wj * k.u[j], 0) + k.b) / (k.sigma * normW));
      const x = tf.tensor1d(k.u);
      const r = await certify({ f_R: linearClassifier(k.w, k.b) }, x, { sigma: k.sigma, n0: 100, n, alpha, seed: 42, idx: i, batchSize: 5000 });
      x.dispose();
      const sd = Math.sqrt((pA * (1 - pA)) / n);
      expect(r.predict).toBe(0);
      expect(Math.abs(r.nA / n - pA)).toBeLessThan(4 * sd); // the noise really has scale sigma
      expect(r.pA_lower).toBeLessThan(pA);
      expect(pA - r.pA_lower).toBeLessThan(8 * sd);
      expect(r.radius).toBeCloseTo(k.sigma * normalQuantile(r.pA_lower), 12);
      // the certified radius is below the exact one of the smoothed linear classifier, sigma * Phi^-1(pA)
      expect(r.radius).toBeLessThan(k.sigma * normalQuantile(pA));
    }
  });

  test('abstains on a 50/50 classifier', async () => {
    const x = tf.tensor1d([0, 0]);
    const r = await certify({ f_R: linearClassifier([1, 1], 0) }, x, { sigma: 1, n0: 100, n: 4000, seed: 3 });
    expect(r.predict).toBe(ABSTAIN);
    expect(r.radius).toBe(0);
    expect(r.pA_lower).toBeLessThan(0.5);
    x.dispose();
  });
});

describe('predict', () => {
  test('abstains on a 50/50 classifier, answers on a clear one', async () => {
    const x = tf.tensor1d([0, 0]);
    const f_R = linearClassifier([1, -2], 0);
    for (const seed of [1, 2, 3]) {
      const p = await predict({ f_R }, x, { sigma: 0.5, n: 4000, alpha: 0.001, seed });
      expect(p.predict).toBe(ABSTAIN);
      expect(p.nA + p.nB).toBe(4000);
      expect(p.pValue).toBeGreaterThan(0.001);
    }
    const clear = await predict({ f_R: linearClassifier([1, 0], -1) }, x, { sigma: 0.5, n: 2000, seed: 1 });
    expect(clear.predict).toBe(1); // w.u + b = -1 < 0: class 1 with P = Phi(2)
    expect(clear.pValue).toBeLessThan(1e-10);
    x.dispose();
  });
});

describe('composition with lib/models/split and lib/lipschitz', () => {
  test('LeNet split after conv 1: the radius is min(R_fR / L(gamma), gamma) for the sound local bound', async () => {
    const split = splitModel(lenet({ splitAfter: 1, seed: 1 }), 1);
    const x = tf.randomUniform([28, 28, 1], 0, 1, 'float32', 3);
    const L = localLipschitzOf(split, x, { mode: 'sound' });
    const r = await certify(split, x, { sigma: 0.25, n0: 20, n: 200, seed: 1, L, batchSize: 100 });
    expect(r.counts.length).toBe(10);
    // [1, 28, 28, 1] is the same input; a wrong shape is refused with the expected one named
    const xb = tf.expandDims(x, 0);
    const rb = await certify(split, xb, { sigma: 0.25, n0: 20, n: 200, seed: 1, L, batchSize: 100 });
    expect(Array.from(rb.counts)).toEqual(Array.from(r.counts));
    xb.dispose();
    const bad = tf.zeros([28, 28]);
    await expect(certify(split, bad, { sigma: 0.25, n: 10, L })).rejects.toThrow(/ONE input of shape \[28, 28, 1\]/);
    bad.dispose();
    expect(r.counts.reduce((a, b) => a + b, 0)).toBe(200);
    if (r.predict !== ABSTAIN) {
      expect(r.lipschitz).toBe(L(r.gamma));
      expect(r.radius).toBe(Math.min(r.radius_fR / r.lipschitz, r.gamma));
      expect(r.radius).toBeGreaterThan(0);
    }
    x.dispose();
  });
});
