/**
 * lib/smoothing/stats.ts against independent facts: reference values from
 * statsmodels/scipy, closed forms of the Beta quantile, and a simulation of
 * the coverage of the Clopper-Pearson bound.
 */
import seedrandom from 'seedrandom';
import binomialCdf = require('@stdlib/stats-base-dists-binomial-cdf');
import { clopperPearsonLower, normalQuantile, binomTestTwoSided } from '../lib/smoothing/stats';

function expectRel(actual: number, expected: number, rel = 1e-9): void {
  if (expected === 0) expect(Math.abs(actual)).toBeLessThanOrEqual(1e-300);
  else expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThanOrEqual(rel);
}

describe('clopperPearsonLower', () => {
  // [nA, n, alpha, lower] computed once (statsmodels 0.13.5, scipy 1.10.1, Debian python3) with
  // /usr/bin/python3 -c "from statsmodels.stats.proportion import proportion_confint;
  //   print(proportion_confint(nA, n, alpha=2*alpha, method='beta')[0])"
  const REF: Array<[number, number, number, number]> = [
    [100000, 100000, 0.001, 0.9999309248330094],
    [99990, 100000, 0.001, 0.9997586773435911],
    [50000, 100000, 0.001, 0.4951090429036976],
    [70000, 100000, 0.001, 0.6955035151951929],
    [1, 10, 0.05, 0.005116196891823702],
    [5, 10, 0.05, 0.2224411010081294],
    [9, 10, 0.001, 0.37627691091117454],
    [0, 10, 0.01, 0.0],
    [73, 100, 0.001, 0.5755700877542489],
    [999, 1000, 0.001, 0.9908045023646124],
    [600, 1000, 0.001, 0.5510754739370525],
    [1, 1, 0.3, 0.3],
    [50, 100, 0.1, 0.4314168255937809],
    [99, 100, 1e-6, 0.8455764301945359],
    [100, 100, 0.001, 0.933254300796991],
  ];
  test.each(REF)('matches statsmodels: nA=%d n=%d alpha=%d', (nA, n, alpha, ref) => {
    expectRel(clopperPearsonLower(nA, n, alpha), ref);
  });

  test('nA = n: Beta(n, 1) quantile is alpha^(1/n)', () => {
    for (const [n, alpha] of [[1, 0.3], [10, 0.05], [1000, 0.001], [100000, 0.001]]) {
      expectRel(clopperPearsonLower(n, n, alpha), Math.pow(alpha, 1 / n), 1e-12);
    }
  });

  test('nA = 1: Beta(1, n) quantile is 1 - (1 - alpha)^(1/n)', () => {
    for (const [n, alpha] of [[2, 0.3], [10, 0.05], [1000, 0.001], [50, 0.2]]) {
      expectRel(clopperPearsonLower(1, n, alpha), 1 - Math.pow(1 - alpha, 1 / n), 1e-9);
    }
  });

  test('definition: P(Bin(n, lower) >= nA) = alpha', () => {
    // The lower bound is the p at which observing nA or more successes has probability alpha.
    for (const [nA, n, alpha] of [[7, 20, 0.05], [730, 1000, 0.001], [42, 50, 0.01]]) {
      const p = clopperPearsonLower(nA, n, alpha);
      expectRel(1 - binomialCdf(nA - 1, n, p), alpha, 1e-7);
    }
  });

  test('monotone in nA and in alpha', () => {
    let prev = -1;
    for (let nA = 0; nA <= 50; nA++) {
      const v = clopperPearsonLower(nA, 50, 0.01);
      expect(v).toBeGreaterThan(prev);
      prev = v;
    }
    expect(clopperPearsonLower(30, 50, 0.001)).toBeLessThan(clopperPearsonLower(30, 50, 0.01));
  });

  test('coverage: exceeds the true p at a rate <= alpha (simulation, 20,000 draws)', () => {
    const rng = seedrandom('splitz-cp-coverage');
    const n = 40;
    const alpha = 0.05;
    for (const p of [0.7, 0.9]) {
      // Exact exceedance rate: sum of Bin(n, p) pmf over the k whose bound exceeds p.
      let exact = 0;
      for (let k = 0; k <= n; k++) {
        if (clopperPearsonLower(k, n, alpha) > p) {
          exact = 1 - (k === 0 ? 0 : binomialCdf(k - 1, n, p));
          break;
        }
      }
      expect(exact).toBeLessThanOrEqual(alpha);
      const N = 10000;
      let exceed = 0;
      for (let t = 0; t < N; t++) {
        let k = 0;
        for (let i = 0; i < n; i++) if (rng() < p) k++;
        if (clopperPearsonLower(k, n, alpha) > p) exceed++;
      }
      const rate = exceed / N;
      const se = Math.sqrt((alpha * (1 - alpha)) / N);
      expect(rate).toBeLessThanOrEqual(alpha + 3 * se);
      // and the simulation agrees with the exact rate (4 standard errors)
      expect(Math.abs(rate - exact)).toBeLessThanOrEqual(4 * Math.sqrt((exact * (1 - exact)) / N) + 1e-4);
    }
  });

  test('rejects bad input with clear messages', () => {
    expect(() => clopperPearsonLower(11, 10, 0.01)).toThrow(/cannot exceed n/);
    expect(() => clopperPearsonLower(1.5, 10, 0.01)).toThrow(/integer/);
    expect(() => clopperPearsonLower(-1, 10, 0.01)).toThrow(/non-negative integer/);
    expect(() => clopperPearsonLower(1, 0, 0.01)).toThrow(/at least 1/);
    expect(() => clopperPearsonLower(1, 10, 0)).toThrow(/alpha/);
    expect(() => clopperPearsonLower(1, 10, 1)).toThrow(/alpha/);
    expect(() => clopperPearsonLower(1, 10, NaN)).toThrow(/alpha/);
  });
});

describe('normalQuantile', () => {
  // scipy.stats.norm.ppf(p), scipy 1.10.1: /usr/bin/python3 -c "from scipy.stats import norm; print(norm.ppf(p))"
  const REF: Array<[number, number]> = [
    [0.975, 1.959963984540054],
    [0.999, 3.090232306167813],
    [0.9999999, 5.199337582290661],
    [0.6, 0.2533471031357997],
    [0.9999309248330094, 3.8114565633899145],
    [0.25, -0.6744897501960817],
  ];
  test.each(REF)('matches scipy: p=%d', (p, ref) => expectRel(normalQuantile(p), ref));
  test('far lower tail (never used by CERTIFY, which needs p >= 0.5) within 5e-9', () => {
    // scipy -6.361340902404056 agrees with mpmath (40 digits) sqrt(2)*erfinv(2p-1) = -6.3613409024040562...;
    // @stdlib is 2e-9 relative off this far out.
    expectRel(normalQuantile(1e-10), -6.361340902404056, 5e-9);
  });
  test('Phi^-1(0.5) = 0, symmetry, infinite tails', () => {
    expect(normalQuantile(0.5)).toBe(0);
    expectRel(normalQuantile(0.1), -normalQuantile(0.9), 1e-12);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(() => normalQuantile(1.5)).toThrow(/probability/);
  });
});

describe('binomTestTwoSided', () => {
  // scipy.stats.binomtest(k, n, 0.5).pvalue, scipy 1.10.1
  const REF: Array<[number, number, number]> = [
    [0, 1, 1.0],
    [1, 1, 1.0],
    [5, 10, 1.0],
    [3, 10, 0.34375],
    [7, 10, 0.34375],
    [0, 10, 0.001953125],
    [60, 100, 0.05688793364098088],
    [40, 100, 0.05688793364098088],
    [550, 1000, 0.0017305360849763024],
    [520, 1000, 0.2174482932041409],
    [50000, 100000, 1.0],
    [50500, 100000, 0.0015823598788515165],
    [1, 20, 4.00543212890625e-05],
    [51, 100, 0.9204107626128215],
  ];
  test.each(REF)('matches scipy: k=%d n=%d', (k, n, ref) => expectRel(binomTestTwoSided(k, n), ref));
  test('closed form for small n: 2 * sum_{i<=k} C(n,i) / 2^n', () => {
    // n = 10, k = 2: 2 * (1 + 10 + 45) / 1024
    expect(binomTestTwoSided(2, 10)).toBeCloseTo((2 * 56) / 1024, 14);
    expect(() => binomTestTwoSided(3, 2)).toThrow(/exceed/);
    expect(() => binomTestTwoSided(0, 0)).toThrow(/at least 1/);
  });
});
