/**
 * Seeded Gaussian noise for Monte Carlo sampling at the split:
 * the noisy copies f_L(x) + sigma * z, z ~ N(0, I).
 *
 * Reproducibility contract. The draws of sample j (0-based) of phase `phase`
 * for image `idx` under seed `seed` depend on (seed, idx, phase, j) ONLY, not
 * on the batch size, on how many batches came before, or on which worker runs
 * them. To get there the sample stream is cut into blocks of NOISE_BLOCK
 * samples; block b (samples b*NOISE_BLOCK .. (b+1)*NOISE_BLOCK - 1) has its
 * own generator, seeded with
 *
 *     (a, b, c) = deriveSeed(seed, idx, phase, b)
 *       = three chains of murmur3 fmix32 over the 32-bit words
 *         (seed mod 2^32, floor(seed / 2^32), idx mod 2^32, floor(idx / 2^32), phase, b),
 *         started from three different constants
 *
 * (see `deriveSeed`): 96 bits of generator state, so that two of the ~10^7
 * blocks of a full run share a stream with negligible probability (a single
 * 32-bit seed would give thousands of colliding pairs by the birthday bound).
 * Each block fills its samples in order, sample by sample,
 * element by element in the row-major order of u. A batch that starts or ends
 * inside a block continues that block's generator, so any batch schedule gives
 * identical draws, and a worker can start at any block boundary.
 *
 * Generator: sfc32 (Chris Doty-Humphrey's small fast counting PRNG, passes
 * PractRand/BigCrush) feeding Marsaglia's polar method. Why not
 * tf.randomNormal(shape, 0, sigma, 'float32', seed)? It also runs on the host
 * in JavaScript (seedrandom's alea + the polar method, then an upload), it
 * measured about 7x slower here (10.8 M vs 74 M normals/s on this machine; a
 * LeNet split-1 sample needs 11,520 normals, 100,000 samples per image), and
 * it silently treats seed 0 as "unseeded".
 */

/** Samples per independently seeded block of the noise stream. Changing it changes every draw. */
export const NOISE_BLOCK = 100;

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

/**
 * The noisy copies u + sigma * z of one input u (flattened, D values), served
 * in batches of any size; see the reproducibility contract above.
 */
export class NoisySampleStream {
  /** Index of the next sample to be served. */
  private j: number;
  private gen: GaussianStream | undefined;
  private readonly D: number;

  constructor(
    private readonly u: Float32Array,
    private readonly sigma: number,
    private readonly key: { seed: number; idx: number; phase: Phase },
    /** First sample index (a worker resuming at a block boundary, or anywhere). */
    start = 0,
  ) {
    if (!(sigma >= 0 && Number.isFinite(sigma))) throw new RangeError(`noise: sigma must be a finite number >= 0, got ${sigma}`);
    if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`noise: start must be a non-negative integer, got ${start}`);
    this.D = u.length;
    this.j = start;
    // Starting inside a block: replay that block's generator up to `start`.
    const off = start % NOISE_BLOCK;
    if (off > 0) {
      this.gen = this.blockGen(Math.floor(start / NOISE_BLOCK));
      const skip = new Float32Array(this.D);
      for (let i = 0; i < off; i++) this.gen.fill(skip, 0, this.D, 1);
    }
  }

  private blockGen(block: number): GaussianStream {
    return new GaussianStream(deriveSeed(this.key.seed, this.key.idx, PHASES[this.key.phase], block));
  }

  /** The next m samples as one row-major Float32Array of m * D values. */
  next(m: number, out?: Float32Array): Float32Array {
    const D = this.D;
    const buf = out && out.length === m * D ? out : new Float32Array(m * D);
    for (let i = 0; i < m; i++, this.j++) {
      if (this.j % NOISE_BLOCK === 0 || this.gen === undefined) this.gen = this.blockGen(Math.floor(this.j / NOISE_BLOCK));
      this.gen.fill(buf, i * D, D, this.sigma, this.u);
    }
    return buf;
  }
}
