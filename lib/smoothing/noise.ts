/**
 * Seeded Gaussian noise for Monte Carlo sampling at the split:
 * the noisy copies f_L(x) + sigma * z, z ~ N(0, I).
 *
 * Reproducibility contract (certification). Value k of the draws of sample j
 * (0-based) of phase `phase` for image `idx` under seed `seed` depends on
 * (seed, idx, phase, j, k) ONLY, not on the batch size, on how many batches
 * came before, or on which worker runs them:
 *
 *     key (k0, k1) = the first two words of deriveSeed(seed, idx, phase, 0)
 *       (three chains of murmur3 fmix32 over the 32-bit words
 *        (seed mod 2^32, floor(seed / 2^32), idx mod 2^32, floor(idx / 2^32), phase, 0),
 *        started from three different constants; see `deriveSeed`)
 *     z_j[k] = Box-Muller on the Philox4x32-10 words of counter (floor(k / 4), j mod 2^32, floor(j / 2^32), 0)
 *
 * exactly as lib/smoothing/noise-simd.c defines it (computed there in
 * WebAssembly SIMD, float32; lib/smoothing/philox.ts holds a float64
 * reference). A 64-bit key per (seed, image, phase) makes two of a run's
 * streams collide with negligible probability, and Philox's 128-bit counter
 * never repeats within a stream.
 *
 * History: logs written before this generator (their sidecar names no
 * `noise_generator`) used sfc32 + Marsaglia's polar method, one sequential
 * generator per block of 100 samples. Both are exact methods for N(0, 1)
 * applied to 32-bit uniforms, with float32 output; only the draws differ.
 *
 * Training noise (lib/train) keeps `GaussianStream` below: sfc32 (Chris
 * Doty-Humphrey's small fast counting PRNG, passes PractRand/BigCrush) feeding
 * the polar method, keyed by deriveSeed, so that resumed training runs draw
 * what they drew before. Why not tf.randomNormal(shape, 0, sigma, 'float32',
 * seed)? It runs on the host in JavaScript too (seedrandom's alea + the polar
 * method, then an upload), measured about 7x slower than GaussianStream here,
 * and it silently treats seed 0 as "unseeded".
 */
import { PhiloxNoise } from './philox';

/** Phases of one image's sampling, each its own independent stream (CERTIFY needs n0 and n independent). */
export const PHASES = { selection: 1, estimation: 2, predict: 3 } as const;
export type Phase = keyof typeof PHASES;

/** murmur3's 32-bit finaliser: a bijection on uint32 with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function words(v: number, what: string): [number, number] {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`noise seed: ${what} must be a non-negative safe integer, got ${v}`);
  }
  return [v >>> 0, Math.floor(v / 4294967296) >>> 0];
}

/**
 * Generator state (a, b, c) of block `block` of phase `phase` of image `idx`
 * under `seed`: for k = 0, 1, 2, h = INIT[k] and for each word w of
 * (seedLo, seedHi, idxLo, idxHi, phase, block): h = fmix32((h ^ w) + 0x9e3779b9 mod 2^32).
 * INIT = (0x243f6a88, 0x85a308d3, 0x13198a2e), the first fractional words of pi.
 * Documented so another implementation can reproduce the draws.
 */
export function deriveSeed(seed: number, idx: number, phase: number, block: number): [number, number, number] {
  const ws = [...words(seed, 'seed'), ...words(idx, 'image index'), words(phase, 'phase')[0], words(block, 'block')[0]];
  if (phase >= 4294967296 || block >= 4294967296) throw new RangeError('noise seed: phase and block must be below 2^32');
  return [0x243f6a88, 0x85a308d3, 0x13198a2e].map((init) => {
    let h = init;
    for (const w of ws) h = fmix32((((h ^ w) >>> 0) + 0x9e3779b9) >>> 0);
    return h;
  }) as [number, number, number];
}

/**
 * sfc32 + Marsaglia polar: a seeded stream of standard normals.
 * State is (a, b, c, d) with d the counter (starting at 1); 12 outputs are
 * discarded after seeding, as the sfc family recommends.
 */
export class GaussianStream {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = 0;
  private hasSpare = false;

  /** state: (a, b, c) from deriveSeed, or one 32-bit seed expanded with fmix32. */
  constructor(state: number | [number, number, number]) {
    const [a, b, c] = typeof state === 'number' ? [state, fmix32(state ^ 0x6a09e667), fmix32(state ^ 0xbb67ae85)] : state;
    this.a = a | 0;
    this.b = b | 0;
    this.c = c | 0;
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /**
   * out[offset + k] = base[k] + scale * z_k for k < count (base may be
   * undefined: then 0). The hot loop of sampling, so the PRNG is inlined.
   */
  fill(out: Float32Array, offset: number, count: number, scale: number, base?: Float32Array): void {
    let a = this.a, b = this.b, c = this.c, d = this.d;
    let k = 0;
    if (this.hasSpare && count > 0) {
      out[offset] = (base ? base[0] : 0) + scale * this.spare;
      this.hasSpare = false;
      k = 1;
    }
    const S = 2 / 4294967296;
    while (k < count) {
      // two uniforms on [-1, 1)
      let t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      const v1 = (t >>> 0) * S - 1;
      t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      const v2 = (t >>> 0) * S - 1;
      const s = v1 * v1 + v2 * v2;
      if (s >= 1 || s === 0) continue;
      const m = Math.sqrt((-2 * Math.log(s)) / s);
      out[offset + k] = (base ? base[k] : 0) + scale * (v1 * m);
      k++;
      if (k < count) {
        out[offset + k] = (base ? base[k] : 0) + scale * (v2 * m);
        k++;
      } else {
        this.spare = v2 * m;
        this.hasSpare = true;
      }
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }
}

/** The Philox key of the certification stream of (seed, image, phase): see the contract above. */
export function certifyNoiseKey(key: { seed: number; idx: number; phase: Phase }): [number, number] {
  const [k0, k1] = deriveSeed(key.seed, key.idx, PHASES[key.phase], 0);
  return [k0, k1];
}

/**
 * The noisy copies u + sigma * z of one input u (flattened, D values), served
 * in batches of any size; see the reproducibility contract above.
 */
export class NoisySampleStream {
  /** Index of the next sample to be served. */
  private j: number;
  private readonly D: number;
  private readonly gen: PhiloxNoise;

  constructor(
    u: Float32Array,
    sigma: number,
    key: { seed: number; idx: number; phase: Phase },
    /** First sample index (e.g. a worker taking over part of an image's samples). */
    start = 0,
  ) {
    if (!(sigma >= 0 && Number.isFinite(sigma))) throw new RangeError(`noise: sigma must be a finite number >= 0, got ${sigma}`);
    if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`noise: start must be a non-negative integer, got ${start}`);
    this.D = u.length;
    this.j = start;
    this.gen = new PhiloxNoise(certifyNoiseKey(key), u, sigma);
  }

  /** The next m samples as one row-major Float32Array of m * D values. */
  next(m: number, out?: Float32Array): Float32Array {
    const D = this.D;
    const buf = out && out.length === m * D ? out : new Float32Array(m * D);
    for (let i = 0; i < m; i++, this.j++) this.gen.fill(this.j, buf, i * D, D);
    return buf;
  }
}
