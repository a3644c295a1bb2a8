/**
 * The one place where splitz chooses its TensorFlow.js backend.
 *
 * Order when nothing is forced: `tensorflow` (native libtensorflow through
 * @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node) > `wasm` (XNNPACK,
 * plus the training kernels splitz registers, see lib/kernels) > `cpu`
 * (plain JavaScript, a slow fallback). `SPLITZ_BACKEND=tensorflow|wasm|cpu`
 * forces one; a forced backend that cannot load is an error, not a fallback.
 *
 * Every entry point (CLI, notebooks, tests, benchmarks) calls `initBackend()`
 * before touching tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from './kernels';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** What was probed for one backend. */
export interface BackendProbe {
  name: BackendName;
  available: boolean;
  /** Which package provides it, e.g. '@tensorflow/tfjs-node-gpu'. */
  source?: string;
  /** Why it is not available, or extra facts (CUDA found or not). */
  detail: string;
}

export interface BackendReport {
  chosen: BackendName;
  /** True when SPLITZ_BACKEND (or the `force` option) picked it. */
  forced: boolean;
  probes: BackendProbe[];
}

/** Raised when a forced backend is missing or an unknown name is given. */
export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}

let report: BackendReport | undefined;
let tensorflowProbe: BackendProbe | undefined;

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].slice(0, 300);
}

/** Whether a shared library of the CUDA runtime can be found by the loader. */
function cudaFound(): string {
  const fs = require('fs') as typeof import('fs');
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/local/cuda/lib64',
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib64',
  ];
  for (const d of dirs) {
    try {
      if (fs.readdirSync(d).some((f) => /^libcudart\.so/.test(f))) return `CUDA runtime found in ${d}`;
    } catch {
      /* directory absent */
    }
  }
  return 'no CUDA runtime (libcudart.so) on LD_LIBRARY_PATH or in /usr/local/cuda/lib64';
}

/**
 * Try the native packages in order. Loading one registers the 'tensorflow'
 * backend on the shared tfjs-core; a package that is absent, fails to load
 * libtensorflow, or is the pure-JS alias that danfojs-node's install uses
 * (see package.json overrides) does not.
 */
function probeTensorflow(): BackendProbe {
  if (tensorflowProbe) return tensorflowProbe;
  const notes: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(pkg);
    } catch {
      notes.push(`${pkg}: not installed` + (pkg.endsWith('gpu') ? ` (${cudaFound()})` : ''));
      continue;
    }
    try {
      require(pkg);
    } catch (e) {
      notes.push(`${pkg}: installed but failed to load: ${errorText(e)}` + (pkg.endsWith('gpu') ? ` (${cudaFound()})` : ''));
      continue;
    }
    if (tf.findBackendFactory('tensorflow') !== null) {
      tensorflowProbe = {
        name: 'tensorflow',
        available: true,
        source: pkg,
        detail: pkg.endsWith('gpu') ? cudaFound() : 'libtensorflow (CPU)',
      };
      return tensorflowProbe;
    }
    notes.push(`${pkg}: resolves to a build without libtensorflow (the pure-JS alias danfojs-node installs with)`);
  }
  tensorflowProbe = { name: 'tensorflow', available: false, detail: notes.join('; ') };
  return tensorflowProbe;
}

async function tryBackend(name: BackendName): Promise<string | undefined> {
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    return ok ? undefined : `tf.setBackend('${name}') returned false`;
  } catch (e) {
    return errorText(e);
  }
}

function parseForced(value: string | undefined): BackendName | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.trim().toLowerCase();
  if ((BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendName;
  throw new BackendError(
    `SPLITZ_BACKEND='${value}' is not a backend splitz knows. Use one of: ${BACKEND_NAMES.join(', ')} (or unset it to choose automatically).`,
  );
}

/**
 * Choose, initialise and report the backend. Idempotent: later calls return
 * the first report unless `force` names a different backend.
 */
export async function initBackend(options: { force?: BackendName | string } = {}): Promise<BackendReport> {
  const forcedName = parseForced(options.force ?? process.env.SPLITZ_BACKEND);
  if (report && (forcedName === undefined || forcedName === report.chosen)) {
    if (tf.getBackend() !== report.chosen) await tf.setBackend(report.chosen);
    return report;
  }
  // Probe first: loading a tfjs-node package (or the pure-JS alias) loads
  // @tensorflow/tfjs, which re-registers tfjs's gradients and would silently
  // replace the ones splitz registers.
  const tfProbe = probeTensorflow();
  registerWasmTrainingKernels();
  const probes: BackendProbe[] = [tfProbe];
  // wasm and cpu ship with splitz; they are available when they initialise.
  const order: BackendName[] = forcedName ? [forcedName] : ['tensorflow', 'wasm', 'cpu'];
  let chosen: BackendName | undefined;
  const failures: Partial<Record<BackendName, string>> = {};
  for (const name of order) {
    if (name === 'tensorflow' && !tfProbe.available) {
      failures.tensorflow = tfProbe.detail;
      continue;
    }
    const err = await tryBackend(name);
    if (err === undefined) {
      chosen = name;
      break;
    }
    failures[name] = err;
  }
  if (chosen === undefined) {
    const why = order.map((n) => `${n}: ${failures[n]}`).join('; ');
    if (forcedName) {
      const hint =
        forcedName === 'tensorflow'
          ? ' Install @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node on a machine that can download libtensorflow, or unset SPLITZ_BACKEND.'
          : ' Reinstall dependencies with `npm ci`, or unset SPLITZ_BACKEND.';
      throw new BackendError(`SPLITZ_BACKEND=${forcedName} was requested but that backend is not available (${why}).${hint}`);
    }
    throw new BackendError(`No TensorFlow.js backend could be initialised (${why}). Run \`npm ci\`.`);
  }
  for (const name of ['wasm', 'cpu'] as const) {
    const available = name === chosen || (failures[name] === undefined && tf.findBackendFactory(name) !== null);
    probes.push({
      name,
      available,
      source: name === 'wasm' ? '@tensorflow/tfjs-backend-wasm (+ splitz training kernels)' : '@tensorflow/tfjs-backend-cpu',
      detail: failures[name] ?? (name === 'wasm' ? 'XNNPACK, SIMD, single thread per process' : 'plain JavaScript, slow'),
    });
  }
  report = { chosen, forced: forcedName !== undefined, probes };
  return report;
}

/** Backends that can be initialised in this process (for conformance tests). */
export async function availableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = [];
  const before = tf.getBackend();
  if (probeTensorflow().available) out.push('tensorflow');
  registerWasmTrainingKernels();
  for (const name of ['wasm', 'cpu'] as const) {
    if ((await tryBackend(name)) === undefined) out.push(name);
  }
  if (before) await tf.setBackend(before);
  return out;
}

/** Human-readable report, as printed by `splitz backend`. */
export function formatBackendReport(r: BackendReport): string {
  const lines = [`backend: ${r.chosen}${r.forced ? ' (forced by SPLITZ_BACKEND)' : ' (chosen automatically)'}`];
  for (const p of r.probes) {
    const mark = p.name === r.chosen ? '*' : p.available ? '+' : '-';
    lines.push(`  ${mark} ${p.name.padEnd(10)} ${p.available ? 'available' : 'unavailable'}${p.source ? ` [${p.source}]` : ''}: ${p.detail}`);
  }
  lines.push('  (* chosen, + available, - unavailable; order: tensorflow > wasm > cpu; SPLITZ_BACKEND=tensorflow|wasm|cpu forces one)');
  return lines.join('\n');
}

export { tf };
