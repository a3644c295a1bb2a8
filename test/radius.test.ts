/**
 * Theorem 1 radius and the gamma searches of Remark 1 (lib/smoothing/radius.ts),
 * on synthetic non-decreasing local bounds whose optimum is known in closed form.
 */
import seedrandom from 'seedrandom';
import { splitzRadius, RadiusResult, LocalBound } from '../lib/smoothing/radius';

/** Soundness: the returned radius is min(R / L(gamma), gamma) for the returned, actually evaluated, pair. */
async function expectSound(R: number, L: LocalBound, r: RadiusResult): Promise<void> {
  expect(await L(r.gamma)).toBe(r.L);
  expect(r.radius).toBe(Math.min(r.L === 0 ? Infinity : R / r.L, r.gamma));
  expect(r.evaluations.some((e) => e.gamma === r.gamma && e.L === r.L)).toBe(true);
}

/** sup over gamma of min(R / L(gamma), gamma) for a right-open step function: L = vals[i] on [edges[i], edges[i+1]). */
function stepSup(R: number, edges: number[], vals: number[]): number {
  let sup = 0;
  for (let i = 0; i < vals.length; i++) {
    const end = i + 1 < edges.length ? edges[i + 1] : Infinity;
    sup = Math.max(sup, Math.min(vals[i] === 0 ? Infinity : R / vals[i], end));
  }
  return sup;
}

function stepFn(edges: number[], vals: number[]): LocalBound {
  return (g: number) => {
    let i = 0;
    while (i + 1 < edges.length && g >= edges[i + 1]) i++;
    return vals[i];
  };
}

describe('splitzRadius', () => {
  test('constant L = c: radius = R / c exactly, at gamma = R / c (binary, grid, onestep)', async () => {
    for (const [R, c] of [[0.7, 0.5], [1.3, 2], [0.01, 0.37], [2.5, 1]]) {
      const L = () => c;
      const bin = await splitzRadius(R, L);
      expect(bin.radius).toBe(R / c);
      expect(bin.gamma).toBe(R / c);
      await expectSound(R, L, bin);
      const one = await splitzRadius(R, L, { method: 'onestep', Lavg: c });
      expect(one.radius).toBe(R / c);
      const grid = await splitzRadius(R, L, { method: 'grid', gridPoints: 50 });
      expect(Math.abs(grid.radius - R / c)).toBeLessThanOrEqual(1e-12 * (R / c));
      await expectSound(R, L, grid);
    }
  });

  test('L = 1 (plain RS, s = 0) reproduces the RS radius exactly', async () => {
    const R = 0.8123456789;
    const r = await splitzRadius(R, () => 1);
    expect(r.radius).toBe(R);
  });

  test('linear L = a + b*gamma: binary finds the crossing of the quadratic b g^2 + a g = R', async () => {
    for (const [R, a, b] of [[1, 0.5, 0.2], [0.3, 0.1, 3], [2, 1.5, 0.01], [0.5, 0.05, 0.5]]) {
      const L = (g: number) => a + b * g;
      const gStar = (-a + Math.sqrt(a * a + 4 * b * R)) / (2 * b);
      const bin = await splitzRadius(R, L, { tol: 1e-8 });
      await expectSound(R, L, bin);
      expect(bin.radius).toBeLessThanOrEqual(gStar * (1 + 1e-12));
      expect(bin.radius).toBeGreaterThanOrEqual(gStar * (1 - 2e-8));
      const grid = await splitzRadius(R, L, { method: 'grid', gridPoints: 2000 });
      await expectSound(R, L, grid);
      expect(grid.radius).toBeLessThanOrEqual(gStar * (1 + 1e-12));
      expect(bin.radius - grid.radius).toBeLessThanOrEqual((R / a) / 2000);
    }
  });

  test('step functions: binary reaches the supremum within tol, never above; grid agrees', async () => {
    // L = 0.5 up to gamma = 1, then 2: R = 1 gives sup min(R/L, g) = 1 (at the jump).
    const L1 = stepFn([0, 1], [0.5, 2]);
    const r1 = await splitzRadius(1, L1, { tol: 1e-6 });
    await expectSound(1, L1, r1);
    expect(r1.radius).toBeLessThanOrEqual(1);
    expect(r1.radius).toBeGreaterThan(1 - 2e-6);

    const rng = seedrandom('splitz-radius-steps');
    for (let t = 0; t < 40; t++) {
      const k = 1 + Math.floor(rng() * 6);
      const edges = [0];
      const vals = [0.05 + rng()];
      for (let i = 1; i < k; i++) {
        edges.push(edges[i - 1] + 0.05 + rng());
        vals.push(vals[i - 1] + rng() * (rng() < 0.3 ? 0 : 1.5));
      }
      const R = 0.05 + 2 * rng();
      const L = stepFn(edges, vals);
      const sup = stepSup(R, edges, vals);
      const tol = 1e-6;
      const bin = await splitzRadius(R, L, { tol });
      await expectSound(R, L, bin);
      expect(bin.radius).toBeLessThanOrEqual(sup * (1 + 1e-12));
      expect(bin.radius).toBeGreaterThanOrEqual(sup - 2 * tol * (R / vals[0]));
      const grid = await splitzRadius(R, L, { method: 'grid', gridPoints: 1000 });
      await expectSound(R, L, grid);
      expect(grid.radius).toBeLessThanOrEqual(sup * (1 + 1e-12));
      expect(Math.abs(bin.radius - grid.radius)).toBeLessThanOrEqual((R / vals[0]) / 1000 + 1e-9);
    }
  });

  test('fixedpoint: the same guarantee as binary on step functions and smooth bounds, exact on a constant, never more than twice the evaluations', async () => {
    // Constant L: the first upper step R / L(lo) closes the bracket exactly.
    for (const [R, c] of [[0.7, 0.5], [1.3, 2]]) {
      const fp = await splitzRadius(R, () => c, { method: 'fixedpoint' });
      expect(fp.radius).toBe(R / c);
      expect(fp.method).toBe('fixedpoint');
    }
    const rng = seedrandom('splitz-radius-fixedpoint');
    let evalsFp = 0;
    let evalsBin = 0;
    for (let t = 0; t < 200; t++) {
      // Step functions with up to 40 steps (masks changing with gamma), some flat stretches.
      const k = 1 + Math.floor(rng() * 40);
      const edges = [0];
      const vals = [0.05 + rng()];
      for (let i = 1; i < k; i++) {
        edges.push(edges[i - 1] + 0.01 + 0.2 * rng());
        vals.push(vals[i - 1] + rng() * (rng() < 0.3 ? 0 : 0.3));
      }
      const R = 0.05 + 2 * rng();
      const L = stepFn(edges, vals);
      const sup = stepSup(R, edges, vals);
      const tol = 1e-4;
      const fp = await splitzRadius(R, L, { method: 'fixedpoint', tol });
      const bin = await splitzRadius(R, L, { tol });
      await expectSound(R, L, fp);
      expect(fp.radius).toBeLessThanOrEqual(sup * (1 + 1e-12));
      expect(fp.radius).toBeGreaterThanOrEqual(sup * (1 - tol) - 1e-12);
      expect(fp.evaluations.length).toBeLessThanOrEqual(2 * bin.evaluations.length);
      evalsFp += fp.evaluations.length;
      evalsBin += bin.evaluations.length;
    }
    // Fewer evaluations in total even on these busy bounds (a trained f_L's bound is flatter: next test).
    expect(evalsFp).toBeLessThan(evalsBin);
    // L flat around the crossing (one mask change below it, as trained nets show): L(0), L(hi), L(lo) and the
    // bracket is closed by the certificate, 3 evaluations against the bisection's 16.
    const flat = stepFn([0, 0.3, 5], [1.04, 1.05, 1.5]);
    const fpFlat = await splitzRadius(1, flat, { method: 'fixedpoint' });
    expect(fpFlat.radius).toBe(1 / 1.05);
    expect(fpFlat.evaluations).toHaveLength(3);
    expect((await splitzRadius(1, flat)).evaluations.length).toBeGreaterThanOrEqual(14);
    // Smooth bounds: the crossing of b g^2 + a g = R within tol.
    for (const [R, a, b] of [[1, 0.5, 0.2], [0.3, 0.1, 3], [2, 1.5, 0.01]]) {
      const L = (g: number) => a + b * g;
      const gStar = (-a + Math.sqrt(a * a + 4 * b * R)) / (2 * b);
      const fp = await splitzRadius(R, L, { method: 'fixedpoint', tol: 1e-8 });
      await expectSound(R, L, fp);
      expect(fp.radius).toBeLessThanOrEqual(gStar * (1 + 1e-12));
      expect(fp.radius).toBeGreaterThanOrEqual(gStar * (1 - 2e-8));
    }
    // L = 0 near x: approaches the ball's size from below, like binary.
    const L0 = stepFn([0, 2], [0, 1]);
    const r0 = await splitzRadius(1, L0, { method: 'fixedpoint', tol: 1e-7 });
    await expectSound(1, L0, r0);
    expect(r0.radius).toBeLessThan(2);
    expect(r0.radius).toBeGreaterThan(2 - 1e-6);
  });

  test('L = 0 near x (f_L constant on the ball): the radius is the size of that ball', async () => {
    // L = 0 for gamma < 2, then 1; R = 1: sup is 2 (not attained), binary approaches it from below.
    const L = stepFn([0, 2], [0, 1]);
    const r = await splitzRadius(1, L, { tol: 1e-7 });
    await expectSound(1, L, r);
    expect(r.radius).toBeLessThan(2);
    expect(r.radius).toBeGreaterThan(2 - 1e-6);
  });

  test('onestep follows Remark 1: gamma\' = R / Lavg, gamma* = R / L(gamma\'), radius = min(R / L(gamma*), gamma*)', async () => {
    const R = 1;
    const L = (g: number) => 0.5 + 0.2 * g;
    const Lavg = 0.8;
    const g1 = R / Lavg;
    const gStar = R / L(g1);
    const r = await splitzRadius(R, L, { method: 'onestep', Lavg });
    expect(r.evaluations.map((e) => e.gamma)).toEqual([g1, gStar]);
    expect(r.gamma).toBe(gStar);
    expect(r.radius).toBe(Math.min(R / L(gStar), gStar));
    await expectSound(R, L, r);
    // Without Lavg it starts from L(gammaInf) at this x.
    const r2 = await splitzRadius(R, L, { method: 'onestep', gammaInf: 1 });
    expect(r2.evaluations[0]).toEqual({ gamma: 1, L: L(1) });
    await expectSound(R, L, r2);
    // It is a heuristic: never above the optimum of the binary search.
    const bin = await splitzRadius(R, L, { tol: 1e-10 });
    expect(r.radius).toBeLessThanOrEqual(bin.radius * (1 + 1e-9));
  });

  test('async L, gammaMax cap, radius_fR = 0, bad inputs', async () => {
    const r = await splitzRadius(1, async (g) => 0.5 + g, { gammaMax: 0.2 });
    expect(r.gamma).toBe(0.2); // crossing at 0.5 is beyond the cap
    expect(r.radius).toBe(0.2);
    expect((await splitzRadius(0, () => 3)).radius).toBe(0);
    await expect(splitzRadius(-1, () => 1)).rejects.toThrow(/radius_fR/);
    await expect(splitzRadius(1, () => NaN)).rejects.toThrow(/local bound/);
    await expect(splitzRadius(1, () => -2)).rejects.toThrow(/local bound/);
    await expect(splitzRadius(1, () => 1, { method: 'nope' as never })).rejects.toThrow(/unknown method/);
  });
});
