/**
 * How much f_L really stretches a small step at x: the spectral norm of its
 * Jacobian J(x), to hold the bound L(x, gamma) of eq. 18 against.
 *
 * L(x, gamma) bounds f_L's Lipschitz constant on the whole ball B(x, gamma),
 * so it is never below ||J(x)||. How far above it sits is the price of the
 * bound's product form: eq. 18 multiplies one spectral norm per affine layer,
 * ||I_s W'_s P|| ... ||I_1 W'_1||, while J(x) is the product of the operators
 * themselves. For a one-layer f_L the two agree at gamma = 0 (both are
 * ||I W'|| with the ReLU_theta mask at x); with more layers the product of
 * norms can exceed the norm of the product by a lot, and training against the
 * bound (eq. 17) then shrinks the real stretch, and with it the signal that
 * reaches f_R, by that factor. This is a diagnostic, not a bound: nothing
 * certified uses it.
 *
 * Method: power iteration on J^T J, one chain per input. J^T u is exact
 * (reverse-mode autodiff of f_L with upstream gradient u). J v is a central
 * difference (f_L(x + h v) - f_L(x - h v)) / 2h with ||v|| = 1: f_L is piecewise
 * linear (affine layers, ReLU_theta, max-pool), so this is exact up to float32
 * rounding unless a unit crosses a kink within h of x. The estimate
 * max_t ||J v_t|| approaches ||J(x)|| from below.
 */
import * as tf from '@tensorflow/tfjs-core';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { SplitModel } from '../models/split';
import { checkBatch } from './local';
import { seededRandomNormal } from './seed';

export interface JacobianNormOptions {
  /** Power-iteration steps (default 30). */
  iterations?: number;
  /** Finite-difference step h in raw input units, along a unit vector (default 1e-3). */
  step?: number;
  /** Seed of the start vectors (default 0). */
  seed?: number;
}

/** Rescale each row of v (batch first) to unit l2 norm; returns the norms before. */
function normalizeRows(v: tf.Tensor): { unit: tf.Tensor; norms: tf.Tensor1D } {
  return tf.tidy(() => {
    const B = v.shape[0];
    const norms = tf.norm(tf.reshape(v, [B, -1]), 2, 1) as tf.Tensor1D;
    const shape = [B, ...v.shape.slice(1).map(() => 1)];
    return { unit: tf.div(v, tf.reshape(tf.maximum(norms, 1e-30), shape)), norms };
  });
}

/**
 * Estimate of ||J(x)||_2, the spectral norm of f_L's Jacobian, for each input
 * of the batch x (raw pixels, shape [batch, ...inputShape]). s = 0 (f_L the
 * identity) gives 1. Synchronous.
 */
export function jacobianNorm(split: SplitModel, x: tf.Tensor, options: JacobianNormOptions = {}): Float64Array {
  const iterations = options.iterations ?? 30;
  const h = options.step ?? 1e-3;
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError(`jacobianNorm: iterations must be an integer >= 1, got ${iterations}`);
  if (!(h > 0) || !Number.isFinite(h)) throw new RangeError(`jacobianNorm: step must be a finite number > 0, got ${h}`);
  const B = checkBatch(split, x, 'jacobianNorm');
  const best = new Float64Array(B);
  if (split.leftOps.every((o) => o.kind !== 'conv' && o.kind !== 'dense')) return best.fill(1);

  // J^T u at x: the gradient of <f_L(x), u> with respect to x.
  const vjp = tf.grad((xx: tf.Tensor) => split.fL(xx));
  let v = tf.tidy(() => normalizeRows(seededRandomNormal([B, ...split.inputShape], options.seed ?? 0)).unit);
  for (let t = 0; t < iterations; t++) {
    const next = tf.tidy(() => {
      const Jv = tf.div(tf.sub(split.fL(tf.add(x, tf.mul(v, h))), split.fL(tf.sub(x, tf.mul(v, h)))), 2 * h);
      const norms = tf.norm(tf.reshape(Jv, [B, -1]), 2, 1);
      return { JtJv: vjp(x, Jv), norms };
    });
    const n = next.norms.dataSync();
    for (let b = 0; b < B; b++) best[b] = Math.max(best[b], n[b]);
    next.norms.dispose();
    v.dispose();
    const r = normalizeRows(next.JtJv);
    next.JtJv.dispose();
    r.norms.dispose();
    v = r.unit;
  }
  v.dispose();
  return best;
}

export interface JacobianSpectrumOptions {
  /** Finite-difference step h in raw input units (default 1e-3). */
  step?: number;
  /** Refuse inputs with more coordinates than this (default 1024): the Gram matrix is n x n and its eigendecomposition O(n^3). */
  maxInputs?: number;
  /** Input coordinates per forward pass when building J (default 256; bounds memory). */
  chunk?: number;
}

/**
 * All singular values of f_L's Jacobian at ONE input x (shape inputShape or
 * [1, ...inputShape]), largest first: J is built column by column from
 * central differences along each input coordinate (exact for piecewise-linear
 * f_L unless a unit sits within h of a kink), and the singular values are the
 * square roots of the eigenvalues of J^T J (ml-matrix, float64).
 *
 * Why all of them: noise delta added after a linear f_L = J x + c reaches the
 * input space as N(0, sigma^2 (J^T J)^-1), noise sigma / s_i along the i-th
 * right singular vector, while Theorem 1 credits the radius with sigma / s_max
 * only. The spread of the s_i says how much more noise f_R has to see through
 * than the radius is paid for.
 */
export function jacobianSingularValues(split: SplitModel, x: tf.Tensor, options: JacobianSpectrumOptions = {}): Float64Array {
  const h = options.step ?? 1e-3;
  if (!(h > 0) || !Number.isFinite(h)) throw new RangeError(`jacobianSingularValues: step must be a finite number > 0, got ${h}`);
  const n = split.inputShape.reduce((a, b) => a * b, 1);
  const x1 = x.rank === split.inputShape.length ? tf.expandDims(x, 0) : x;
  if (x1.rank !== split.inputShape.length + 1 || x1.shape[0] !== 1 || x1.size !== n) {
    if (x1 !== x) x1.dispose();
    throw new Error(`jacobianSingularValues: x must be one input of shape [${split.inputShape.join(', ')}] (or [1, ...]), got [${x.shape.join(', ')}]`);
  }
  const maxInputs = options.maxInputs ?? 1024;
  if (n > maxInputs) {
    if (x1 !== x) x1.dispose();
    throw new RangeError(`jacobianSingularValues: the input has ${n} coordinates, more than maxInputs = ${maxInputs}; the ${n} x ${n} eigendecomposition would be slow (raise maxInputs to run it anyway)`);
  }
  if (split.leftOps.every((o) => o.kind !== 'conv' && o.kind !== 'dense')) {
    if (x1 !== x) x1.dispose();
    return new Float64Array(n).fill(1);
  }
  // Rows of JT are the columns of J: (f_L(x + h e_i) - f_L(x - h e_i)) / 2h.
  const chunk = options.chunk ?? 256;
  const parts: tf.Tensor2D[] = [];
  for (let i0 = 0; i0 < n; i0 += chunk) {
    const m = Math.min(chunk, n - i0);
    parts.push(
      tf.tidy(() => {
        const E = tf.reshape(tf.mul(tf.oneHot(tf.range(i0, i0 + m, 1, 'int32'), n), h), [m, ...split.inputShape]);
        const d = tf.sub(split.fL(tf.add(x1, E)), split.fL(tf.sub(x1, E)));
        return tf.div(tf.reshape(d, [m, -1]), 2 * h) as tf.Tensor2D;
      }),
    );
  }
  if (x1 !== x) x1.dispose();
  const gram = tf.tidy(() => {
    const JT = parts.length === 1 ? parts[0] : tf.concat(parts, 0);
    return tf.matMul(JT, JT, false, true);
  });
  tf.dispose(parts);
  const g = gram.dataSync();
  gram.dispose();
  const M = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M.set(i, j, 0.5 * (g[i * n + j] + g[j * n + i]));
  const eig = new EigenvalueDecomposition(M, { assumeSymmetric: true }).realEigenvalues;
  return Float64Array.from(eig, (v) => Math.sqrt(Math.max(0, v))).sort().reverse();
}
