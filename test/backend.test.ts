import { spawnSync } from 'child_process';
import * as path from 'path';
import { initBackend, availableBackends, formatBackendReport, BackendError, tf } from '../lib/backend';

const ROOT = path.resolve(__dirname, '..');

/** Run a tiny script in a fresh process, where the backend has not been chosen yet. */
function runFresh(code: string, env: Record<string, string | undefined>) {
  return spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', code], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

describe('backend selection', () => {
  test('automatic choice is a backend that is really active, and the report lists all three', async () => {
    const r = await initBackend({ force: '' });
    expect(['tensorflow', 'wasm', 'cpu']).toContain(r.chosen);
    expect(tf.getBackend()).toBe(r.chosen);
    expect(r.probes.map((p) => p.name).sort()).toEqual(['cpu', 'tensorflow', 'wasm']);
    const text = formatBackendReport(r);
    expect(text).toContain(`backend: ${r.chosen}`);
    // Without libtensorflow installed the automatic choice must be wasm, not the slow cpu fallback.
    if (!r.probes.find((p) => p.name === 'tensorflow')!.available) expect(r.chosen).toBe('wasm');
  });

  test('wasm and cpu are always available', async () => {
    const names = await availableBackends();
    expect(names).toEqual(expect.arrayContaining(['wasm', 'cpu']));
  });

  test('SPLITZ_BACKEND forces a backend', () => {
    const r = runFresh(
      "require('./lib/backend').initBackend().then(r => console.log(JSON.stringify({chosen: r.chosen, forced: r.forced, active: require('@tensorflow/tfjs-core').getBackend()})))",
      { SPLITZ_BACKEND: 'cpu' },
    );
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ chosen: 'cpu', forced: true, active: 'cpu' });
  });

  test('an unknown SPLITZ_BACKEND is a clear error', async () => {
    await expect(initBackend({ force: 'gpu' })).rejects.toThrow(BackendError);
    await expect(initBackend({ force: 'gpu' })).rejects.toThrow(/not a backend splitz knows.*tensorflow, wasm, cpu/);
  });

  test('forcing tensorflow where libtensorflow is absent says what to install', async () => {
    const names = await availableBackends();
    if (names.includes('tensorflow')) return; // a machine with tfjs-node: nothing to check here
    await expect(initBackend({ force: 'tensorflow' })).rejects.toThrow(/tfjs-node-gpu/);
  });
});
