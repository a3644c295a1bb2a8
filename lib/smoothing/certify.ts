/**
 * CERTIFY and PREDICT of Cohen et al. (2019), applied to f_R at the split
 * point u = f_L(x), with the SPLITZ radius of Theorem 1 on top
 * (Algorithm 1 of the paper).
 *
 * Defaults follow METHOD.md and Cohen's certify.py: n0 = 100 selection
 * samples, n = 100,000 estimation samples (an independent noise stream),
 * alpha = 0.001, batch 1000.
 */
import { tf } from '../backend';
import { clopperPearsonLower, normalQuantile, binomTestTwoSided } from './stats';
import { sampleCounts, toSplitPoint, argmaxCount, TensorFn, SplitPoint } from './sample';
import { splitzRadius, LocalBound, RadiusOptions } from './radius';

/** predict value meaning "abstain" (Cohen's Smooth.ABSTAIN). */
export const ABSTAIN = -1;

/**
 * What certification needs of a split classifier: f_L (omitted or s = 0:
 * identity, plain randomized smoothing) and f_R, both on batches.
 * A split object of lib/models/split.ts fits as is.
 */
export interface SplitClassifierLike {
  f_L?: TensorFn;
  f_R?: TensorFn;
  /** The same under lib/models/split.ts's names (SplitModel.fL / fR). */
  fL?: TensorFn;
  fR?: TensorFn;
  /** Split index; 0 means plain RS (f_L = identity, L = 1). */
  s?: number;
  /** Shape of one input (no batch), when known: x is then checked against it, and [1, ...inputShape] is accepted too. */
  inputShape?: number[];
}

/** f_L (undefined: identity) and f_R of a classifier, bound to it, whichever spelling it uses. */
function parts(model: SplitClassifierLike): { f_L?: TensorFn; f_R: TensorFn } {
  const fl = model.f_L ?? model.fL;
  const fr = model.f_R ?? model.fR;
  if (typeof fr !== 'function') {
    throw new TypeError('certify/predict: the classifier needs f_R (or fR), a function from a batch at the split to logits [batch, classes]');
  }
  return { f_L: fl && ((x: tf.Tensor) => fl.call(model, x)), f_R: (u: tf.Tensor) => fr.call(model, u) };
}

export interface CertifyOptions {
  /** Noise level sigma at the split. */
  sigma: number;
  /** Selection samples. Default 100. */
  n0?: number;
  /** Estimation samples. Default 100,000. */
  n?: number;
  /** Failure probability of the certificate. Default 0.001. */
  alpha?: number;
  /** Samples per forward pass. Default 1000. */
  batchSize?: number;
  /** Noise seed (see lib/smoothing/noise.ts); a random one is drawn and reported when omitted. */
  seed?: number;
  /** Image index: part of the noise key. Default 0. */
  idx?: number;
  /**
   * Local Lipschitz bound of f_L at x as a function of gamma, e.g.
   * `(g) => localLipschitz(split, x, g, { mode: 'sound' })`. Required unless
   * the classifier is plain RS (no f_L, or s = 0).
   */
  L?: LocalBound;
  /** How Theorem 1's gamma is searched. Default binary search. */
  radius?: RadiusOptions;
  numClasses?: number;
  onBatch?: (phase: 'selection' | 'estimation', done: number, total: number) => void;
  /** Noise on a worker thread overlapped with f_R (same draws); see SampleOptions.pipeline. Default 'auto'. */
  pipeline?: boolean | 'auto';
}

export interface CertifyResult {
  /** Predicted class, or ABSTAIN (-1). */
  predict: number;
  /** Certified l2 radius in the input space (0 when abstaining). */
  radius: number;
  /** Clopper-Pearson lower bound on P(f_R(u + delta) = cHat). */
  pA_lower: number;
  /** R_fR = sigma * Phi^-1(pA_lower): the radius of smoothed f_R around u (0 when abstaining). */
  radius_fR: number;
  /** L(gamma) at the chosen gamma (1 for plain RS, NaN when abstaining). */
  lipschitz: number;
  /** The chosen gamma (Infinity for plain RS: no ball constraint; NaN when abstaining). */
  gamma: number;
  /** Class chosen from the selection samples. */
  cHat: number;
  nA: number;
  n: number;
  counts0: Int32Array;
  counts: Int32Array;
  /** The noise seed actually used. */
  seed: number;
  /** Wall-clock seconds of the whole certification of this input. */
  time: number;
  /** Evaluations of L made by the gamma search. */
  evaluations?: Array<{ gamma: number; L: number }>;
}

function isPlainRS(model: SplitClassifierLike): boolean {
  return (model.f_L ?? model.fL) === undefined || model.s === 0;
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`certify: ${name} must be an integer >= ${min}, got ${v}`);
}

function checkSigma(sigma: number): void {
  if (!(typeof sigma === 'number' && sigma > 0 && Number.isFinite(sigma))) {
    throw new RangeError(`certify: sigma must be a finite number > 0 (the noise level used in training), got ${sigma}`);
  }
}

/** u = f_L(x) for ONE input x given without batch dimension; x itself for plain RS. */
async function splitPoint(model: SplitClassifierLike, x: tf.Tensor): Promise<SplitPoint> {
  const want = model.inputShape;
  if (want) {
    const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
    const one = x.shape.length === want.length + 1 && x.shape[0] === 1 ? x.shape.slice(1) : x.shape;
    if (!same(one, want)) {
      throw new Error(`certify/predict: x must be ONE input of shape [${want.join(', ')}] (or [1, ${want.join(', ')}]), got [${x.shape.join(', ')}]`);
    }
    if (one !== x.shape) {
      const x1 = tf.reshape(x, want);
      try {
        return await splitPoint(model, x1);
      } finally {
        x1.dispose();
      }
    }
  }
  if (isPlainRS(model)) return toSplitPoint(x, false);
  const f_L = parts(model).f_L as TensorFn;
  const u = tf.tidy(() => f_L(tf.expandDims(x, 0)));
  try {
    return await toSplitPoint(u, true);
  } finally {
    u.dispose();
  }
}

function randomSeed(): number {
  return Math.floor(Math.random() * 4294967296);
}

/**
 * CERTIFY (Cohen et al., Algorithm 1 of SPLITZ) for one input x, given WITHOUT
 * a batch dimension (e.g. [28, 28, 1]):
 *   cHat = argmax of counts over n0 selection samples;
 *   nA = count of cHat over n independent estimation samples;
 *   pA_lower = clopperPearsonLower(nA, n, alpha); abstain if pA_lower < 0.5;
 *   R_fR = sigma * Phi^-1(pA_lower);
 *   plain RS: radius = R_fR; SPLITZ: radius = max_gamma min(R_fR / L(gamma), gamma).
 * With probability >= 1 - alpha over the noise, the smoothed classifier
 * g(x') = cHat for every ||x' - x||_2 < radius (when not abstaining).
 */
export async function certify(model: SplitClassifierLike, x: tf.Tensor, options: CertifyOptions): Promise<CertifyResult> {
  const t0 = process.hrtime.bigint();
  const n0 = options.n0 ?? 100;
  const n = options.n ?? 100000;
  const alpha = options.alpha ?? 0.001;
  checkSigma(options.sigma);
  checkInt('n0', n0, 1);
  checkInt('n', n, 1);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`certify: alpha must be in (0, 1), got ${alpha}`);
  const plain = isPlainRS(model);
  if (!plain && options.L === undefined) {
    throw new Error(
      'certify: a SPLITZ classifier (s > 0) needs the local Lipschitz bound of f_L at x: pass options.L = (gamma) => localLipschitz(split, x, gamma), or use s = 0 for plain randomized smoothing',
    );
  }
  const seed = options.seed ?? randomSeed();
  const common = {
    sigma: options.sigma,
    batchSize: options.batchSize,
    seed,
    idx: options.idx ?? 0,
    numClasses: options.numClasses,
    pipeline: options.pipeline,
  };

  const { f_R } = parts(model);
  const u = await splitPoint(model, x);
  const counts0 = await sampleCounts(f_R, u, n0, {
    ...common,
    phase: 'selection',
    onBatch: options.onBatch && ((d, t) => options.onBatch?.('selection', d, t)),
  });
  const cHat = argmaxCount(counts0);
  const counts = await sampleCounts(f_R, u, n, {
    ...common,
    numClasses: counts0.length,
    phase: 'estimation',
    onBatch: options.onBatch && ((d, t) => options.onBatch?.('estimation', d, t)),
  });
  const nA = counts[cHat];
  const pA_lower = clopperPearsonLower(nA, n, alpha);
  const seconds = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const base = { cHat, nA, n, counts0, counts, seed, pA_lower };

  if (pA_lower < 0.5) {
    return { ...base, predict: ABSTAIN, radius: 0, radius_fR: 0, lipschitz: NaN, gamma: NaN, time: seconds() };
  }
  const radius_fR = options.sigma * normalQuantile(pA_lower);
  if (plain) {
    // Plain RS: f_L = identity, L = 1 for every gamma, so min(R/1, gamma) -> R as gamma -> infinity.
    return { ...base, predict: cHat, radius: radius_fR, radius_fR, lipschitz: 1, gamma: Infinity, time: seconds() };
  }
  const r = await splitzRadius(radius_fR, options.L as LocalBound, options.radius);
  return {
    ...base,
    predict: cHat,
    radius: r.radius,
    radius_fR,
    lipschitz: r.L,
    gamma: r.gamma,
    evaluations: r.evaluations,
    time: seconds(),
  };
}

export interface PredictOptions {
  sigma: number;
  /** Samples. Default 100,000 (Cohen's predict.py uses 100,000 too). */
  n?: number;
  /** Default 0.001. */
  alpha?: number;
  batchSize?: number;
  seed?: number;
  idx?: number;
  numClasses?: number;
  pipeline?: boolean | 'auto';
}

export interface PredictResult {
  /** The top class, or ABSTAIN (-1) when the test cannot tell it from the runner-up. */
  predict: number;
  /** Two-sided binomial test p-value of nA vs nB. */
  pValue: number;
  nA: number;
  nB: number;
  counts: Int32Array;
  seed: number;
}

/**
 * PREDICT (Cohen et al.): n samples; top two classes with counts nA >= nB;
 * abstain when the two-sided binomial test of nA out of nA + nB against 1/2
 * has p-value > alpha. Returns the wrong class with probability <= alpha.
 */
export async function predict(model: SplitClassifierLike, x: tf.Tensor, options: PredictOptions): Promise<PredictResult> {
  const n = options.n ?? 100000;
  const alpha = options.alpha ?? 0.001;
  checkSigma(options.sigma);
  checkInt('n', n, 1);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`predict: alpha must be in (0, 1), got ${alpha}`);
  const seed = options.seed ?? randomSeed();
  const { f_R } = parts(model);
  const u = await splitPoint(model, x);
  const counts = await sampleCounts(f_R, u, n, {
    sigma: options.sigma,
    batchSize: options.batchSize,
    seed,
    idx: options.idx ?? 0,
    phase: 'predict',
    numClasses: options.numClasses,
    pipeline: options.pipeline,
  });
  const top = argmaxCount(counts);
  let second = top === 0 ? 1 : 0;
  for (let k = 0; k < counts.length; k++) if (k !== top && counts[k] > counts[second]) second = k;
  const nA = counts[top];
  const nB = counts.length > 1 ? counts[second] : 0;
  const pValue = binomTestTwoSided(nA, nA + nB);
  return { predict: pValue > alpha ? ABSTAIN : top, pValue, nA, nB, counts, seed };
}
