/**
 * Theorem 1: the SPLITZ certified radius
 *
 *     R(x) = max_{gamma >= 0} min( R_fR(f_L(x)) / L(x, gamma), gamma ),
 *
 * and the gamma searches of Remark 1. Any gamma gives a valid radius (the
 * proof holds for each gamma separately), so every method here returns a
 * pair (gamma, L(gamma)) that was actually evaluated and
 * radius = min(radius_fR / L, gamma) for exactly that pair - never an
 * interpolated crossing.
 *
 * With a sound local bound, L(gamma) is non-decreasing in gamma (the balls,
 * hence the interval bounds and the varying sets, are nested), so
 * h(gamma) = radius_fR / L(gamma) is non-increasing, min(h, gamma) rises
 * with gamma up to the crossing h(gamma*) = gamma* and falls after it:
 * a bisection on the sign of h(gamma) - gamma finds the maximum.
 */

/** The local Lipschitz bound of f_L at one input x, as a function of the ball radius gamma. */
export type LocalBound = (gamma: number) => number | Promise<number>;

export type GammaSearch = 'binary' | 'fixedpoint' | 'onestep' | 'grid';

export interface RadiusOptions {
  /** Default 'binary'. */
  method?: GammaSearch;
  /**
   * Largest gamma searched (binary, grid). Default: radius_fR / L(0), which
   * bounds the crossing because L(gamma) >= L(0) for a non-decreasing L
   * (when L(0) = 0, gamma is doubled from radius_fR until L(gamma) * gamma > radius_fR).
   */
  gammaMax?: number;
  /** Binary search: stop when hi - lo <= tol * hi. Default 1e-4 (relative). */
  tol?: number;
  /** Binary search: at most this many evaluations of L. Default 60. */
  maxIter?: number;
  /** Grid: number of gammas, evenly spaced on (0, gammaMax]. Default 200. */
  gridPoints?: number;
  /**
   * One-step rule: L~, the average local bound of the inference data at the
   * inference gamma (Remark 1). When omitted, L(gammaInf) at this x is used
   * instead (a per-input start; the paper averages over the data).
   */
  Lavg?: number;
  /** One-step rule: the inference gamma used when Lavg is omitted. Default 1. */
  gammaInf?: number;
}

export interface RadiusResult {
  /** min(radius_fR / L, gamma) for the returned pair. */
  radius: number;
  gamma: number;
  L: number;
  method: GammaSearch;
  /** Every (gamma, L(gamma)) evaluated, in order. */
  evaluations: Array<{ gamma: number; L: number }>;
}

/** The Theorem 1 radius for one gamma: min(radius_fR / L, gamma), with L = 0 meaning f_L is constant on the ball. */
export function radiusAt(radius_fR: number, L: number, gamma: number): number {
  return Math.min(L === 0 ? Infinity : radius_fR / L, gamma);
}

/**
 * The SPLITZ certified radius (Theorem 1) from R_fR = radius_fR and the local
 * bound L(gamma) of f_L at x, with the gamma search of `options.method`:
 *  - 'binary' (default): bisection on the crossing of gamma and radius_fR / L(gamma);
 *  - 'fixedpoint': the same bracket and tolerance, with fixed-point steps
 *    gamma <- radius_fR / L(gamma) where they shrink it (see `fixedPoint`);
 *  - 'onestep': the paper's one-step rule of Remark 1 (see `oneStep`);
 *  - 'grid': exhaustive search over an even grid (a reference for tests).
 */
export async function splitzRadius(radius_fR: number, L: LocalBound, options: RadiusOptions = {}): Promise<RadiusResult> {
  if (!(radius_fR >= 0 && Number.isFinite(radius_fR))) {
    throw new RangeError(`splitzRadius: radius_fR must be a finite number >= 0, got ${radius_fR}`);
  }
  const method = options.method ?? 'binary';
  const evaluations: Array<{ gamma: number; L: number }> = [];
  const memo = new Map<number, number>();
  const evalL = async (gamma: number): Promise<number> => {
    const known = memo.get(gamma);
    if (known !== undefined) return known;
    const v = await L(gamma);
    if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v))) {
      throw new RangeError(`splitzRadius: the local bound L(${gamma}) must be a finite number >= 0, got ${v}`);
    }
    evaluations.push({ gamma, L: v });
    memo.set(gamma, v);
    return v;
  };
  // The best VALID pair among those evaluated (first one on ties).
  const best = (m: GammaSearch): RadiusResult => {
    let pick: { gamma: number; L: number; radius: number } | undefined;
    for (const e of evaluations) {
      const r = radiusAt(radius_fR, e.L, e.gamma);
      if (pick === undefined || r > pick.radius) pick = { gamma: e.gamma, L: e.L, radius: r };
    }
    if (pick === undefined) throw new Error('splitzRadius: internal error, no gamma was evaluated');
    return { ...pick, method: m, evaluations };
  };

  if (radius_fR === 0) {
    // Nothing to certify: gamma = 0 gives radius 0 whatever L is.
    const L0 = await evalL(0);
    return { radius: 0, gamma: 0, L: L0, method, evaluations };
  }

  if (method === 'onestep') return oneStep(radius_fR, evalL, options, evaluations);

  // Bracket [lo, hi] with min(h, gamma) = gamma at lo and = h at hi.
  let hi: number;
  if (options.gammaMax !== undefined) {
    if (!(options.gammaMax > 0 && Number.isFinite(options.gammaMax))) {
      throw new RangeError(`splitzRadius: gammaMax must be a finite number > 0, got ${options.gammaMax}`);
    }
    hi = options.gammaMax;
  } else {
    const L0 = await evalL(0);
    if (L0 > 0) {
      hi = radius_fR / L0;
    } else {
      hi = radius_fR;
      for (let k = 0; k < 64 && (await evalL(hi)) * hi <= radius_fR; k++) hi *= 2;
    }
  }

  if (method === 'grid') {
    const G = options.gridPoints ?? 200;
    if (!Number.isSafeInteger(G) || G < 1) throw new RangeError(`splitzRadius: gridPoints must be a positive integer, got ${G}`);
    for (let i = 1; i <= G; i++) await evalL((hi * i) / G);
    return best('grid');
  }
  if (method !== 'binary' && method !== 'fixedpoint') throw new RangeError(`splitzRadius: unknown method '${method}' (use binary, fixedpoint, onestep or grid)`);

  const tol = options.tol ?? 1e-4;
  const maxIter = options.maxIter ?? 60;
  const Lhi = await evalL(hi);
  // hi already at or below the crossing (gammaMax small, or L constant): hi is the answer among [0, hi].
  if (Lhi * hi <= radius_fR) return best(method);
  if (method === 'fixedpoint') {
    await fixedPoint(radius_fR, evalL, hi, Lhi, tol, maxIter);
    return best('fixedpoint');
  }
  let lo = 0;
  for (let it = 0; it < maxIter && hi - lo > tol * hi; it++) {
    const mid = 0.5 * (lo + hi);
    const Lm = await evalL(mid);
    if (Lm * mid <= radius_fR) lo = mid; // h(mid) >= mid: still left of the crossing
    else hi = mid;
  }
  return best('binary');
}

/**
 * The optimum of Theorem 1's radius, r* = sup { gamma : gamma L(gamma) <= R }
 * (R = radius_fR), searched like the bisection but with two free moves that
 * the monotone bound allows (L non-decreasing in gamma, as for `binary`):
 *  - an evaluated gamma with gamma L(gamma) > R certifies R / L(gamma) (its
 *    own radius), so r* >= R / L(gamma): the lower end rises to it;
 *  - an evaluated gamma with gamma L(gamma) <= R bounds every larger gamma's
 *    radius by R / L(gamma), so r* <= R / L(gamma): the upper end falls to it.
 * Each step evaluates L where those moves landed (the fixed-point iteration
 * gamma <- R / L(gamma), from both ends). L is piecewise constant in gamma
 * (it changes only where a unit's interval starts to straddle a clip point),
 * so the upper end is often exactly r*: L there equals L at the lower end, the
 * point is valid and the bracket closes. A step that does not halve the
 * bracket is followed by a bisection step, so the search never needs more
 * than twice the bisection's evaluations. It stops, like the bisection, when
 * hi - lo <= tol * hi; the lower end is always the radius of an evaluated
 * pair, so the returned radius (the best evaluated pair) is at least
 * (1 - tol) r*.
 */
async function fixedPoint(R: number, evalL: (g: number) => Promise<number>, hi0: number, Lhi0: number, tol: number, maxIter: number): Promise<void> {
  let hi = hi0; // gamma L(gamma) > R there (checked by the caller)
  let hiEvaluated = true;
  let lo = R / Lhi0; // the radius of the pair (hi0, L(hi0))
  let loEvaluated = false; // lo may be a free move (the radius of an invalid pair), not yet evaluated
  let bisect = false;
  for (let it = 0; it < maxIter && hi - lo > tol * hi; it++) {
    const before = hi - lo;
    let g: number;
    if (!bisect && !loEvaluated) g = lo;
    else if (!bisect && !hiEvaluated) g = hi;
    else g = 0.5 * (lo + hi);
    const Lg = await evalL(g);
    if (Lg * g <= R) {
      lo = g;
      loEvaluated = true;
      if (Lg > 0 && R / Lg < hi) {
        hi = Math.max(lo, R / Lg);
        hiEvaluated = false;
      }
    } else {
      hi = g;
      hiEvaluated = true;
      if (R / Lg > lo) {
        lo = R / Lg;
        loEvaluated = false;
      }
    }
    // Never two bisections in a row; one after any step that left more than half the bracket.
    bisect = !bisect && hi - lo > 0.5 * before;
  }
}

/**
 * Remark 1's one-step search, as published:
 *   1. L~ = average local bound of the inference data at the inference gamma
 *      (options.Lavg; or L(gammaInf) at this x when not given);
 *   2. gamma' = radius_fR / L~, and L(gamma') is computed at x;
 *   3. gamma* = radius_fR / L(gamma');
 *   4. radius = min(radius_fR / L(gamma*), gamma*)  (Algorithm 1, step 7).
 * Step 4 evaluates L at gamma* itself: using L(gamma') there would not be a
 * valid bound when gamma* > gamma'. The rule's answer is returned even when an
 * earlier evaluated pair happened to give a larger radius (that is what the
 * paper's procedure reports); `evaluations` lists all of them.
 */
async function oneStep(
  radius_fR: number,
  evalL: (g: number) => Promise<number>,
  options: RadiusOptions,
  evaluations: Array<{ gamma: number; L: number }>,
): Promise<RadiusResult> {
  let Ltilde: number;
  if (options.Lavg !== undefined) {
    if (!(options.Lavg > 0 && Number.isFinite(options.Lavg))) {
      throw new RangeError(`splitzRadius: Lavg (average local bound of the inference data) must be a finite number > 0, got ${options.Lavg}`);
    }
    Ltilde = options.Lavg;
  } else {
    Ltilde = await evalL(options.gammaInf ?? 1);
  }
  const cap = (g: number) => (Number.isFinite(g) ? g : options.gammaMax ?? Number.MAX_VALUE);
  const gamma1 = cap(Ltilde > 0 ? radius_fR / Ltilde : Infinity);
  const L1 = await evalL(gamma1);
  const gammaStar = cap(L1 > 0 ? radius_fR / L1 : Infinity);
  const Lstar = await evalL(gammaStar);
  return { radius: radiusAt(radius_fR, Lstar, gammaStar), gamma: gammaStar, L: Lstar, method: 'onestep', evaluations };
}
