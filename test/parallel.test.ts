/**
 * lib/parallel: K worker threads, each with its own backend, running tasks
 * registered by an entry module (from the TypeScript sources here, through
 * ts-node inside the workers).
 */
import { Pool, SELFTEST_ENTRY, createPool, getTask, registerTask } from '../lib/parallel';

let pool: Pool;

beforeAll(async () => {
  pool = await createPool({ workers: 2, entry: SELFTEST_ENTRY, backend: 'wasm' });
}, 120000);

afterAll(async () => {
  await pool?.close();
});

test('each worker initialises its own backend and knows its index', async () => {
  expect(pool.size).toBe(2);
  expect(pool.backend).toBe('wasm');
  const who = await pool.broadcast<{ worker: number; backend: string; tfBackend: string; numTensors: number }>('selftest.whoami');
  expect(who.map((w) => w.worker)).toEqual([0, 1]);
  for (const w of who) {
    expect(w.backend).toBe('wasm');
    expect(w.tfBackend).toBe('wasm');
  }
});

test('map runs tasks on the workers and returns results in payload order; tensors are computed there', async () => {
  const payloads = Array.from({ length: 7 }, (_, k) => ({ values: Array.from({ length: 10 + k }, (_, i) => i * (k + 1)) }));
  const sums = await pool.map<{ values: number[] }, number>('selftest.sum', payloads);
  // sum_{i<n} i*(k+1) = (k+1) n (n-1) / 2, n = 10 + k
  expect(sums).toEqual(payloads.map((_, k) => ((k + 1) * (10 + k) * (9 + k)) / 2));
  const after = await pool.broadcast<{ numTensors: number }>('selftest.whoami');
  expect(after.map((w) => w.numTensors)).toEqual([0, 0]); // tasks leak nothing
});

test('typed arrays go both ways; transferred results arrive intact', async () => {
  const x = Float32Array.from({ length: 1000 }, (_, i) => i / 7);
  const y = await pool.run<Float32Array>('selftest.double', { x });
  expect(Object.prototype.toString.call(y)).toBe('[object Float32Array]'); // jest's realm has other constructors
  expect(y.length).toBe(1000);
  expect(y[999]).toBeCloseTo((2 * 999) / 7, 4);
  // A payload buffer given in `transfer` moves to the worker (detached here).
  const z = new Float32Array([1, 2, 3]);
  const w = await pool.run<Float32Array>('selftest.double', { x: z }, { transfer: [z.buffer] });
  expect(Array.from(w)).toEqual([2, 4, 6]);
  expect(z.length).toBe(0);
});

test('two workers run at the same time', async () => {
  const t0 = Date.now();
  const r = await pool.map<{ ms: number }, { worker: number; start: number; end: number }>('selftest.sleep', [{ ms: 400 }, { ms: 400 }]);
  expect(new Set(r.map((x) => x.worker)).size).toBe(2);
  // Overlapping intervals, and well under the 800 ms of running them in turn.
  expect(Math.max(r[0].start, r[1].start)).toBeLessThan(Math.min(r[0].end, r[1].end));
  expect(Date.now() - t0).toBeLessThan(790);
});

test('a failing task rejects with its message; the pool keeps working', async () => {
  await expect(pool.run('selftest.fail', { message: 'bad input: sigma < 0' })).rejects.toThrow(/selftest\.fail.*bad input: sigma < 0/);
  await expect(pool.run('no.such.task')).rejects.toThrow(/no task 'no\.such\.task' is registered.*selftest\.sum/);
  await expect(pool.runOn(5, 'selftest.whoami')).rejects.toThrow(/worker index must be in 0\.\.1/);
  expect(await pool.run('selftest.sum', { values: [1, 2] })).toBe(3);
});

test('bad options and a closed pool give clear errors', async () => {
  await expect(createPool({ workers: 0, entry: SELFTEST_ENTRY })).rejects.toThrow(/workers must be a positive integer/);
  await expect(createPool({ workers: 1, entry: '/nonexistent/tasks.ts' })).rejects.toThrow(/entry module '\/nonexistent\/tasks\.ts' not found/);
  const p = await createPool({ workers: 1, entry: SELFTEST_ENTRY, backend: 'cpu' });
  expect(p.backend).toBe('cpu');
  expect(await p.run('selftest.sum', { values: [4, 5] })).toBe(9);
  await p.close();
  await expect(p.run('selftest.sum', { values: [1] })).rejects.toThrow(/pool is closed/);
}, 120000);

test('registerTask refuses a different function under a taken name', () => {
  const f = () => 1;
  registerTask('test.once', f);
  registerTask('test.once', f); // same function: fine
  expect(getTask('test.once')).toBe(f);
  expect(() => registerTask('test.once', () => 2)).toThrow(/already registered/);
});
