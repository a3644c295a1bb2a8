/**
 * The WebAssembly SIMD kernels of ./simd.c, instantiated on the tfjs wasm
 * backend's own memory (one instance per backend, i.e. per thread), so they
 * read and write tensors in place. See ./simd.c for what each one computes
 * and ./build-simd.sh for how simd-wasm.ts is made from it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SIMD_WASM_BASE64 } from './simd-wasm';

type Info = tf.TensorInfo;

/**
 * The parts of the WebAssembly JS API used here. Node provides WebAssembly at
 * run time; the project's TypeScript lib (ES2022, no DOM) has no types for it.
 */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => WasmMemory;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Exports of simd.c; pointers are byte offsets on the backend's heap. */
export interface SimdExports {
  bn_forward(x: number, y: number, N: number, C: number, gamma: number, beta: number, eps: number, mean: number, variance: number, scratch: number): void;
  bn_backward_sums(dy: number, x: number, N: number, C: number, mean: number, sums: number, scratch: number): void;
  bn_backward_dx(dy: number, x: number, dx: number, N: number, C: number, a: number, b: number, k: number): void;
  relu_grad(dy: number, x: number, dx: number, n: number): void;
  scale_shift(x: number, y: number, N: number, C: number, s: number, t: number): void;
  pad_nhwc(x: number, xp: number, B: number, H: number, W: number, C: number, Hp: number, Wp: number, Cp: number, top: number, left: number): void;
  conv_filter_grad(xp: number, dy: number, dw: number, B: number, Hp: number, Wp: number, Cp: number, oH: number, oW: number, O: number, fh: number, fw: number, sh: number, sw: number): void;
  conv_forward(xp: number, w: number, y: number, B: number, Hp: number, Wp: number, Cp: number, oH: number, oW: number, O: number, fh: number, fw: number, sh: number, sw: number, yImg: number, yRow: number, yPix: number): void;
  winograd_filter_grad(xp: number, dy: number, M: number, B: number, Hp: number, Wp: number, Cp: number, oH: number, oW: number, O: number, V: number, D: number): void;
  winograd_f2k3(xp: number, U: number, y: number, B: number, Hp: number, Wp: number, Cp: number, oH: number, oW: number, O: number, yImg: number, yRow: number, yPix: number, V: number, M: number): void;
}

/** What the kernels need from tfjs-backend-wasm's BackendWasm (public members, untyped in its .d.ts). */
interface WasmBackendInternals {
  wasm: { asm?: { memory?: WasmMemory }; _malloc(n: number): number; _free(p: number): void; HEAPU8: Uint8Array };
  getMemoryOffset(dataId: object): number;
  makeOutput(shape: number[], dtype: string, memoryOffset?: number, values?: ArrayLike<number>): Info;
  disposeData(dataId: object, force?: boolean): boolean;
}

export class Simd {
  readonly k: SimdExports;
  private scratchPtr = 0;
  private scratchBytes = 0;

  constructor(readonly backend: WasmBackendInternals, memory: WasmMemory) {
    const instance = new WA.Instance(simdModule(), { env: { memory } });
    this.k = instance.exports as unknown as SimdExports;
  }

  /** Heap offset of a tensor's data. */
  ptr(t: Info): number {
    return this.backend.getMemoryOffset(t.dataId);
  }

  /** A heap buffer of at least `bytes` bytes (8-byte aligned), reused across calls: valid until the next scratch() call. */
  scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      if (this.scratchPtr) this.backend.wasm._free(this.scratchPtr);
      this.scratchBytes = Math.max(bytes, 4096);
      this.scratchPtr = this.backend.wasm._malloc(this.scratchBytes) >>> 0;
    }
    return this.scratchPtr;
  }

  /** Float32 / float64 views of the heap (made anew: growing the heap detaches old views). */
  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.backend.wasm.HEAPU8.buffer, ptr, n);
  }

  f64(ptr: number, n: number): Float64Array {
    return new Float64Array(this.backend.wasm.HEAPU8.buffer, ptr, n);
  }
}

let compiled: object | undefined;

function simdModule(): object {
  compiled ??= new WA.Module(Buffer.from(SIMD_WASM_BASE64, 'base64'));
  return compiled;
}

const instances = new WeakMap<object, Simd>();

/**
 * The SIMD kernels bound to a wasm backend, or undefined when the backend's
 * memory cannot be reached (another build of tfjs-backend-wasm): callers then
 * use their other path.
 */
export function simdFor(backend: object): Simd | undefined {
  const known = instances.get(backend);
  if (known) return known;
  const b = backend as Partial<WasmBackendInternals>;
  const memory = b.wasm?.asm?.memory;
  if (!(memory instanceof WA.Memory) || typeof b.getMemoryOffset !== 'function') return undefined;
  const s = new Simd(b as WasmBackendInternals, memory);
  instances.set(backend, s);
  return s;
}
