/**
 * The certification noise generator: Philox4x32-10 + Box-Muller, computed in
 * WebAssembly SIMD (./noise-simd.c, built by ./build-noise.sh into
 * ./noise-wasm.ts). The stream it computes is defined in noise-simd.c's
 * header; `referenceValue` below is that definition in float64 JavaScript, for
 * the tests.
 *
 * Why a counter-based generator: every value is a function of (key, sample,
 * index) alone, so it is computed 4 lanes at a time with no sequential state,
 * and a stream can start at any sample. It runs about 3x faster than the
 * sequential sfc32 + polar generator it replaced for certification (which
 * stays for training noise, lib/train), and LeNet's 11,520 normals per sample
 * at the split were most of a SPLITZ certificate's CPU time.
 */
import * as tf from '@tensorflow/tfjs-core';
import { NOISE_WASM_BASE64 } from './noise-wasm';

/** The generator's name, recorded in every certification log's sidecar. */
export const CERTIFY_NOISE_GENERATOR = 'philox4x32-10 + Box-Muller, float32 (lib/smoothing/noise-simd.c)';

/**
 * The parts of the WebAssembly JS API used here. Node provides WebAssembly at
 * run time; the project's TypeScript lib (ES2022, no DOM) has no types for it.
 */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

interface NoiseExports {
  fill_samples(k0: number, k1: number, jLo: number, jHi: number, m: number, D: number, sigma: number, basePtr: number, outPtr: number): void;
  fill_sample(k0: number, k1: number, jLo: number, jHi: number, D: number, sigma: number, basePtr: number, outPtr: number): void;
  philox_words(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, outPtr: number): void;
  box_muller_words(wordsPtr: number, outPtr: number): void;
}

let compiled: object | undefined;

/**
 * An instance of the noise module on `memory` (default: a new memory of its
 * own, returned with it); the module is compiled once per thread. It has no
 * stack and no data (build-noise.sh checks), so it writes only the buffers it
 * is given: it can share the tfjs wasm backend's heap.
 */
function instantiate(memory?: WasmMemory): NoiseExports & { memory: WasmMemory } {
  try {
    if (!WA) throw new Error('no WebAssembly');
    compiled ??= new WA.Module(Buffer.from(NOISE_WASM_BASE64, 'base64'));
    const mem = memory ?? new WA.Memory({ initial: 1 });
    const exports = new WA.Instance(compiled, { env: { memory: mem } }).exports as unknown as NoiseExports;
    return { fill_samples: exports.fill_samples, fill_sample: exports.fill_sample, philox_words: exports.philox_words, box_muller_words: exports.box_muller_words, memory: mem };
  } catch (e) {
    throw new Error(
      `certification noise: this JavaScript engine cannot run the WebAssembly SIMD noise module (${(e as Error).message}); ` +
        'use Node.js 16.4 or newer, which has WebAssembly SIMD',
    );
  }
}

const PAGE = 65536;
/** Start of the buffers in the module's memory (address 0 is valid, but kept free). */
const HEAP_START = 1024;

/**
 * Noisy copies base + sigma * z of one input of D values, sample by sample,
 * for the stream with key (k0, k1).
 */
export class PhiloxNoise {
  private readonly wasm: NoiseExports & { memory: WasmMemory };
  private readonly basePtr: number;
  private readonly outPtr: number;
  private view: Float32Array;

  constructor(
    private readonly key: readonly [number, number],
    base: Float32Array,
    private readonly sigma: number,
  ) {
    this.wasm = instantiate();
    const D = base.length;
    const padded = Math.ceil(D / 16) * 16;
    this.basePtr = HEAP_START;
    this.outPtr = HEAP_START + 4 * padded;
    const need = this.outPtr + 4 * padded;
    const have = this.wasm.memory.buffer.byteLength;
    if (need > have) this.wasm.memory.grow(Math.ceil((need - have) / PAGE));
    this.view = new Float32Array(this.wasm.memory.buffer);
    // The module reads base up to the padded length: the padding stays 0.
    this.view.fill(0, this.basePtr / 4, this.basePtr / 4 + padded);
    this.view.set(base, this.basePtr / 4);
  }

  /** out[offset + k] = base[k] + sigma * z_j[k] for k < D. */
  fill(j: number, out: Float32Array, offset: number, D: number): void {
    this.wasm.fill_sample(this.key[0] | 0, this.key[1] | 0, j % 4294967296 | 0, Math.floor(j / 4294967296) | 0, D, this.sigma, this.basePtr, this.outPtr);
    out.set(this.view.subarray(this.outPtr / 4, this.outPtr / 4 + D), offset);
  }
}

/** What HeapNoise needs of tfjs-backend-wasm's BackendWasm (public members, untyped in its .d.ts). */
interface WasmHeapBackend {
  wasm?: { asm?: { memory?: WasmMemory } };
  getMemoryOffset(dataId: object): number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

const heapInstances = new WeakMap<object, HeapNoise>();

/**
 * The same noisy copies, written straight into new tensors of the tfjs wasm
 * backend: the module runs on the backend's heap, so a batch needs no copy out
 * of the module's memory and no upload into the backend (together about a
 * tenth of a LeNet split-1 sample's time).
 */
export class HeapNoise {
  private constructor(
    private readonly backend: WasmHeapBackend,
    private readonly wasm: NoiseExports,
  ) {}

  /** The generator bound to `backend`, or undefined when it is not a wasm backend whose heap can be reached (use PhiloxNoise then). */
  static for(backend: object): HeapNoise | undefined {
    const known = heapInstances.get(backend);
    if (known) return known;
    const b = backend as Partial<WasmHeapBackend>;
    const memory = b.wasm?.asm?.memory;
    if (!WA || !memory || typeof b.getMemoryOffset !== 'function' || typeof b.makeOutput !== 'function') return undefined;
    const h = new HeapNoise(b as WasmHeapBackend, instantiate(memory));
    heapInstances.set(backend, h);
    return h;
  }

  /**
   * Samples j, j + 1, ..., j + m - 1 of the stream with `key` around `base`
   * (a float32 tensor of D values on this backend) as a new float32 tensor of
   * shape [m, ...shape]: row s is base + sigma * z_{j+s}, bit for bit what
   * PhiloxNoise.fill gives.
   */
  samples(key: readonly [number, number], base: tf.Tensor, j: number, m: number, shape: readonly number[], sigma: number): tf.Tensor {
    const D = base.size;
    if (shape.reduce((a, b) => a * b, 1) !== D) throw new RangeError(`HeapNoise: shape [${shape.join(', ')}] does not hold the ${D} values of base`);
    if (base.dtype !== 'float32') throw new TypeError(`HeapNoise: base must be float32, got ${base.dtype}`);
    if (!Number.isSafeInteger(j) || j < 0 || !Number.isSafeInteger(m) || m < 0) throw new RangeError(`HeapNoise: j and m must be non-negative integers, got ${j}, ${m}`);
    const out = this.backend.makeOutput([m, ...shape], 'float32');
    // Offsets are read after makeOutput: allocating may grow (and move the views of) the heap, never the offsets.
    const basePtr = this.backend.getMemoryOffset(base.dataId);
    const outPtr = this.backend.getMemoryOffset(out.dataId);
    this.wasm.fill_samples(key[0] | 0, key[1] | 0, j % 4294967296 | 0, Math.floor(j / 4294967296) | 0, m, D, sigma, basePtr, outPtr);
    return tf.engine().makeTensorFromTensorInfo(out);
  }
}

/** Philox4x32-10 of four consecutive counters (c0 + l, c1, c2, c3), l = 0..3, as the module computes it: 16 words, counter by counter. */
export function philoxWords(counter: readonly [number, number, number, number], key: readonly [number, number]): Uint32Array {
  const wasm = instantiate();
  wasm.philox_words(counter[0] | 0, counter[1] | 0, counter[2] | 0, counter[3] | 0, key[0] | 0, key[1] | 0, HEAP_START);
  return new Uint32Array(wasm.memory.buffer, HEAP_START, 16).slice();
}

/**
 * The module's Box-Muller transform of 16 given words (for the tests): word
 * vectors w0 = words[0..3], w1 = words[4..7], w2, w3; returns z0..z3 in lane
 * order, i.e. out[l] = r(w0[l]) cos a(w1[l]), out[4 + l] = r(w0[l]) sin a(w1[l]),
 * out[8 + l] and out[12 + l] the same from w2, w3.
 */
export function boxMullerWords(words: ArrayLike<number>): Float32Array {
  if (words.length !== 16) throw new RangeError(`boxMullerWords: expected 16 words, got ${words.length}`);
  const wasm = instantiate();
  new Uint32Array(wasm.memory.buffer, HEAP_START, 16).set(Array.from(words, (w) => w >>> 0));
  wasm.box_muller_words(HEAP_START, HEAP_START + 64);
  return new Float32Array(wasm.memory.buffer, HEAP_START + 64, 16).slice();
}

/** High and low 32-bit words of a * b for a, b < 2^32, exactly (a * b itself can exceed 2^53). */
function mulhilo(a: number, b: number): [number, number] {
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const hi = Math.floor((a * bh + Math.floor((a * bl) / 65536)) / 65536);
  return [hi >>> 0, Math.imul(a, b) >>> 0];
}

/** Philox4x32-10 (Random123's philox4x32_R with R = 10), in plain JavaScript: the reference for the tests. */
export function philox4x32(counter: readonly [number, number, number, number], key: readonly [number, number]): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter.map((v) => v >>> 0);
  let [k0, k1] = key.map((v) => v >>> 0);
  for (let round = 0; round < 10; round++) {
    const [hi0, lo0] = mulhilo(0xd2511f53, c0);
    const [hi1, lo1] = mulhilo(0xcd9e8d57, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/** Value k of sample j's z under key, by the definition of noise-simd.c, in float64. */
export function referenceValue(key: readonly [number, number], j: number, k: number): number {
  const t = Math.floor(k / 4);
  const w = philox4x32([t, j % 4294967296, Math.floor(j / 4294967296), 0], key);
  const pair = (k % 4) >> 1;
  const r = Math.sqrt(-2 * Math.log((w[2 * pair] + 0.5) / 4294967296));
  const a = (2 * Math.PI * w[2 * pair + 1]) / 4294967296;
  return k % 2 === 0 ? r * Math.cos(a) : r * Math.sin(a);
}
