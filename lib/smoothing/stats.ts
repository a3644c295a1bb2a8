/**
 * The three statistical facts CERTIFY and PREDICT rest on (Cohen et al. 2019,
 * code/core.py), computed with @stdlib's distribution functions rather than
 * hand-rolled approximations, so that they agree with scipy/statsmodels to
 * the last digits (test/stats.test.ts checks this against values computed
 * with scipy 1.x and statsmodels).
 */
import betaQuantile = require('@stdlib/stats-base-dists-beta-quantile');
import normalQuantileStd = require('@stdlib/stats-base-dists-normal-quantile');
import binomialCdf = require('@stdlib/stats-base-dists-binomial-cdf');

function checkCount(name: string, v: number, fn: string): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`${fn}: ${name} must be a non-negative integer count, got ${v}`);
  }
}

function checkAlpha(alpha: number, fn: string): void {
  if (!(typeof alpha === 'number' && alpha > 0 && alpha < 1)) {
    throw new RangeError(`${fn}: alpha must be a probability strictly between 0 and 1 (e.g. 0.001), got ${alpha}`);
  }
}

/**
 * One-sided (1 - alpha) lower confidence bound on a binomial proportion from
 * nA successes in n trials: the exact Clopper-Pearson bound, i.e. the alpha
 * quantile of Beta(nA, n - nA + 1), and 0 when nA = 0.
 *
 * This is what Cohen et al. use for pA_lower:
 * statsmodels' proportion_confint(nA, n, alpha=2*alpha, method="beta")[0]
 * (a two-sided interval at level 2*alpha has alpha in each tail).
 */
export function clopperPearsonLower(nA: number, n: number, alpha: number): number {
  const fn = 'clopperPearsonLower';
  checkCount('nA', nA, fn);
  checkCount('n', n, fn);
  if (n === 0) throw new RangeError(`${fn}: n must be at least 1 (no samples, no bound)`);
  if (nA > n) throw new RangeError(`${fn}: nA (${nA}) cannot exceed n (${n})`);
  checkAlpha(alpha, fn);
  if (nA === 0) return 0;
  return betaQuantile(alpha, nA, n - nA + 1);
}

/** Phi^-1(p), the standard normal quantile (scipy.stats.norm.ppf). */
export function normalQuantile(p: number): number {
  if (!(typeof p === 'number' && p >= 0 && p <= 1)) {
    throw new RangeError(`normalQuantile: p must be a probability in [0, 1], got ${p}`);
  }
  return normalQuantileStd(p, 0, 1);
}

/**
 * Two-sided p-value of the exact binomial test of H0: P(success) = 0.5 for
 * k successes in n trials, as scipy.stats.binomtest(k, n, 0.5).pvalue (and
 * the older binom_test). With p = 0.5 the distribution is symmetric, so the
 * outcomes "at least as extreme" as k are the two tails beyond min(k, n - k):
 * p = min(1, 2 * P(X <= min(k, n - k))).
 * PREDICT uses it on the top two counts (nA, nB) with n = nA + nB.
 */
export function binomTestTwoSided(k: number, n: number): number {
  const fn = 'binomTestTwoSided';
  checkCount('k', k, fn);
  checkCount('n', n, fn);
  if (n === 0) throw new RangeError(`${fn}: n must be at least 1`);
  if (k > n) throw new RangeError(`${fn}: k (${k}) cannot exceed n (${n})`);
  return Math.min(1, 2 * binomialCdf(Math.min(k, n - k), n, 0.5));
}
