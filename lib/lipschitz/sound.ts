/**
 * A proven upper bound on the spectral norm of a masked operator
 * A = I_out W I_in (rows of W kept where I_out = 1, columns where I_in = 1),
 * in float64 — the `sound` mode of the local bound.
 *
 * Why it is fast: A^T A of a convolution is a sparse banded matrix. In the
 * channels-last order of the input, column j and column j' of W share a row
 * only when their pixels are within the kernel's reach of each other, so
 * (A^T A)_{jj'} = 0 beyond a bandwidth of about (kh - 1) * W * C + kw * C.
 * On MNIST's first conv (784 columns, 5x5) that is ~116, on a CIFAR-10
 * 3x3 conv (3072 columns) ~200. The Gram matrix is stored in envelope
 * (skyline) form and Cholesky stays inside the envelope, so certifying costs
 * O(n b^2) instead of O(n^3). The Gram matrix only depends on the masks.
 * When A has fewer rows than columns (e.g. a dense layer with few varying
 * neurons), A A^T is used instead: same nonzero eigenvalues.
 *
 * The argument, with u = 2^-53 the unit roundoff of float64:
 *  1. M~ = fl(A^T A). Each entry is a sum of at most N products, so
 *     |M~ - A^T A| <= gamma_{N+1} |A|^T |A| entrywise, and in spectral norm
 *     ||M~ - A^T A|| <= gamma_{N+1} || |A| ||^2 <= gamma_{N+1} ||A||_F^2.
 *  2. Lanczos (full reorthogonalization) on M~ gives an estimate mu of its
 *     largest eigenvalue. Only an estimate: nothing below relies on it.
 *  3. For c = mu (1 + delta), Cholesky is run on H~ = fl(c I - M~). If it
 *     runs to completion (all pivots > 0), Demmel's theorem (Higham, Accuracy
 *     and Stability of Numerical Algorithms, Thm 10.5) gives
 *     R^T R = H~ + dH with |dH| <= gamma_{n+1} |R^T||R|, and since
 *     ||r_i||^2 <= h~_ii / (1 - gamma_{n+1}), ||dH|| <= g' tr(H~) with
 *     g' = gamma_{n+1} / (1 - gamma_{n+1}). R^T R is positive semidefinite, so
 *     lambda_min(H~) >= -g' tr(H~). Forming the diagonal c - m~_ii rounds by at
 *     most u |h~_ii|, hence
 *       lambda_max(M~) <= c + g' tr(H~) + u max_i |h~_ii|.
 *     If Cholesky fails, delta grows (x100) and it is retried; past 1e-3,
 *     Lanczos runs again with 4x the steps and a finer ladder of delta up to
 *     0.1 follows; if that fails too, a Gershgorin bound (max absolute row
 *     sum) is used instead.
 *  4. sigma_max(A) <= sqrt(lambda_max(M~) + gamma_{N+1} ||A||_F^2) + 3u ||A||_F,
 *     the last term covering the rounding of the folded normalization
 *     (W / std) in the entries of A. The result is rounded up by (1 + 16u).
 * The bound is for the exact (real-arithmetic) operator defined by the
 * float32 weights.
 */
import { Csr, U64, gammaN } from './ops64';

export interface SoundNorm {
  /** Proven upper bound on sigma_max(A). */
  upper: number;
  /** Lanczos estimate of sigma_max(A) (a lower estimate in exact arithmetic). */
  estimate: number;
  /**
   * 'cholesky' normally; 'gershgorin' when every Cholesky attempt failed; 'zero' for an empty operator;
   * 'too-large' (upper = NaN) when the Cholesky would exceed `maxCholeskyCost`.
   */
  method: 'cholesky' | 'gershgorin' | 'zero' | 'too-large';
  /** Size of the Gram matrix that was certified. */
  gramSize: number;
}

/** A dense-or-sparse matrix given by sorted sparse rows (compact column indices). */
interface RowsMatrix {
  rows: number;
  cols: number;
  rowStart: Int32Array;
  colIdx: Int32Array;
  vals: Float64Array;
}

/** Restrict W to the kept rows and columns, renumbering columns compactly in order. */
export function maskedSubmatrix(W: Csr, rowMask: Uint8Array | undefined, colMask: Uint8Array | undefined): RowsMatrix {
  const colMap = new Int32Array(W.cols);
  let nc = 0;
  for (let j = 0; j < W.cols; j++) colMap[j] = !colMask || colMask[j] ? nc++ : -1;
  const starts = new Int32Array(W.rows + 1);
  const cols = new Int32Array(W.colIdx.length);
  const vals = new Float64Array(W.colIdx.length);
  let rows = 0;
  let nnz = 0;
  for (let r = 0; r < W.rows; r++) {
    if (rowMask && !rowMask[r]) continue;
    const before = nnz;
    for (let k = W.rowStart[r]; k < W.rowStart[r + 1]; k++) {
      const c = colMap[W.colIdx[k]];
      if (c >= 0 && W.vals[k] !== 0) {
        cols[nnz] = c;
        vals[nnz] = W.vals[k];
        nnz++;
      }
    }
    if (nnz > before) starts[++rows] = nnz;
  }
  return { rows, cols: nc, rowStart: starts.slice(0, rows + 1), colIdx: cols.slice(0, nnz), vals: vals.slice(0, nnz) };
}

function transpose(A: RowsMatrix): RowsMatrix {
  const count = new Int32Array(A.cols + 1);
  for (let k = 0; k < A.colIdx.length; k++) count[A.colIdx[k] + 1]++;
  for (let j = 0; j < A.cols; j++) count[j + 1] += count[j];
  const rowStart = count.slice();
  const next = count.slice(0, A.cols);
  const colIdx = new Int32Array(A.colIdx.length);
  const vals = new Float64Array(A.vals.length);
  for (let r = 0; r < A.rows; r++) {
    for (let k = A.rowStart[r]; k < A.rowStart[r + 1]; k++) {
      const p = next[A.colIdx[k]]++;
      colIdx[p] = r;
      vals[p] = A.vals[k];
    }
  }
  return { rows: A.cols, cols: A.rows, rowStart, colIdx, vals };
}

/** Symmetric matrix in envelope form: row i holds columns first[i]..i. */
export interface Envelope {
  n: number;
  first: Int32Array;
  start: Float64Array | Int32Array;
  data: Float64Array;
}

/** G = A^T A in envelope form; A's rows must have sorted column indices. */
export function gramEnvelope(A: RowsMatrix): Envelope {
  const n = A.cols;
  const first = new Int32Array(n);
  for (let j = 0; j < n; j++) first[j] = j;
  for (let r = 0; r < A.rows; r++) {
    const a = A.rowStart[r];
    const b = A.rowStart[r + 1];
    if (a === b) continue;
    const minc = A.colIdx[a];
    for (let k = a; k < b; k++) if (first[A.colIdx[k]] > minc) first[A.colIdx[k]] = minc;
  }
  const start = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) start[i + 1] = start[i] + (i - first[i] + 1);
  const data = new Float64Array(start[n]);
  for (let r = 0; r < A.rows; r++) {
    const a = A.rowStart[r];
    const b = A.rowStart[r + 1];
    for (let q = a; q < b; q++) {
      const cq = A.colIdx[q];
      const vq = A.vals[q];
      const base = start[cq] - first[cq];
      for (let p = a; p <= q; p++) data[base + A.colIdx[p]] += A.vals[p] * vq;
    }
  }
  return { n, first, start, data };
}

function envMatVec(E: Envelope, x: Float64Array, y: Float64Array): void {
  y.fill(0);
  const { n, first, start, data } = E;
  for (let i = 0; i < n; i++) {
    const base = start[i] - first[i];
    let s = 0;
    const xi = x[i];
    for (let j = first[i]; j < i; j++) {
      const m = data[base + j];
      s += m * x[j];
      y[j] += m * xi;
    }
    y[i] += s + data[base + i] * xi;
  }
}

/** Largest eigenvalue of a symmetric tridiagonal matrix (diag a, off-diag b) by Sturm bisection. */
function tridiagMax(a: number[], b: number[]): number {
  const k = a.length;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < k; i++) {
    const r = (i > 0 ? Math.abs(b[i - 1]) : 0) + (i < k - 1 ? Math.abs(b[i]) : 0);
    lo = Math.min(lo, a[i] - r);
    hi = Math.max(hi, a[i] + r);
  }
  // Number of eigenvalues < t (Sturm count via LDL^T of T - tI).
  const below = (t: number) => {
    let cnt = 0;
    let d = 1;
    for (let i = 0; i < k; i++) {
      d = a[i] - t - (i > 0 ? (b[i - 1] * b[i - 1]) / d : 0);
      if (d === 0) d = -1e-300;
      if (d < 0) cnt++;
    }
    return cnt;
  };
  for (let it = 0; it < 200 && hi - lo > 1e-15 * Math.max(Math.abs(hi), Math.abs(lo), 1e-300); it++) {
    const mid = 0.5 * (lo + hi);
    if (below(mid) >= k) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Lanczos estimate of lambda_max of a PSD envelope matrix (deterministic start vector). */
export function lanczosMax(E: Envelope, steps = 60): number {
  const n = E.n;
  const k = Math.min(steps, n);
  const V: Float64Array[] = [];
  let v = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    // Deterministic, non-structured start vector (no zero weight on any Fourier-like mode in practice).
    v[i] = 1 + 0.5 * Math.sin(12.9898 * (i + 1)) + 0.25 * Math.cos(78.233 * (i + 1));
    s += v[i] * v[i];
  }
  s = Math.sqrt(s);
  for (let i = 0; i < n; i++) v[i] /= s;
  const alpha: number[] = [];
  const beta: number[] = [];
  const w = new Float64Array(n);
  for (let j = 0; j < k; j++) {
    V.push(v);
    envMatVec(E, v, w);
    let a = 0;
    for (let i = 0; i < n; i++) a += w[i] * v[i];
    alpha.push(a);
    // Full reorthogonalization (twice is enough) against all previous vectors.
    for (let pass = 0; pass < 2; pass++) {
      for (const q of V) {
        let d = 0;
        for (let i = 0; i < n; i++) d += w[i] * q[i];
        for (let i = 0; i < n; i++) w[i] -= d * q[i];
      }
    }
    let bnorm = 0;
    for (let i = 0; i < n; i++) bnorm += w[i] * w[i];
    bnorm = Math.sqrt(bnorm);
    if (j === k - 1 || bnorm <= 1e-13 * Math.max(Math.abs(a), 1e-300)) break;
    beta.push(bnorm);
    const nv = new Float64Array(n);
    for (let i = 0; i < n; i++) nv[i] = w[i] / bnorm;
    v = nv;
  }
  return tridiagMax(alpha, beta.slice(0, alpha.length - 1));
}

/**
 * Cholesky of cI - E inside the envelope. Returns the trace and the largest
 * |diagonal| of cI - E when every pivot is positive, undefined otherwise.
 */
export function choleskyShifted(E: Envelope, c: number): { trace: number; maxDiag: number } | undefined {
  const { n, first, start, data } = E;
  const L = new Float64Array(data.length);
  let trace = 0;
  let maxDiag = 0;
  for (let i = 0; i < n; i++) {
    const fi = first[i];
    const bi = start[i] - fi;
    for (let j = fi; j <= i; j++) {
      const fj = first[j];
      const bj = start[j] - fj;
      let s = j === i ? c - data[bi + j] : -data[bi + j];
      if (j === i) {
        trace += s;
        maxDiag = Math.max(maxDiag, Math.abs(s));
      }
      const k0 = fi > fj ? fi : fj;
      for (let k = k0; k < j; k++) s -= L[bi + k] * L[bj + k];
      if (j < i) {
        L[bi + j] = s / L[bj + j];
      } else {
        if (!(s > 0)) return undefined;
        L[bi + i] = Math.sqrt(s);
      }
    }
  }
  return { trace, maxDiag };
}

/** Gershgorin: lambda_max <= max_i sum_j |m_ij| (a fallback bound, rounded up). */
function gershgorin(E: Envelope): number {
  const rows = new Float64Array(E.n);
  for (let i = 0; i < E.n; i++) {
    const base = E.start[i] - E.first[i];
    for (let j = E.first[i]; j <= i; j++) {
      const m = Math.abs(E.data[base + j]);
      rows[i] += m;
      if (j !== i) rows[j] += m;
    }
  }
  let mx = 0;
  for (let i = 0; i < E.n; i++) mx = Math.max(mx, rows[i]);
  return mx * (1 + gammaN(E.n + 2));
}

/** Rough number of multiply-adds of the envelope Cholesky, to decide whether it is affordable. */
export function choleskyCost(E: Envelope): number {
  let s = 0;
  for (let i = 0; i < E.n; i++) {
    const b = i - E.first[i];
    s += (b * b) / 2;
  }
  return s;
}

/**
 * Proven upper bound on sigma_max(W restricted to rowMask x colMask). See the
 * file comment for the argument.
 */
export function soundSpectralNorm(W: Csr, rowMask?: Uint8Array, colMask?: Uint8Array, options: { lanczosSteps?: number; maxCholeskyCost?: number } = {}): SoundNorm {
  let A = maskedSubmatrix(W, rowMask, colMask);
  if (A.rows === 0 || A.cols === 0 || A.vals.length === 0) return { upper: 0, estimate: 0, method: 'zero', gramSize: 0 };
  // Same nonzero spectrum either way; take the smaller Gram matrix.
  const N = Math.max(A.rows, A.cols) + 1; // max terms in one Gram entry
  if (A.rows < A.cols) A = transpose(A);
  const E = gramEnvelope(A);
  if (options.maxCholeskyCost !== undefined && choleskyCost(E) > options.maxCholeskyCost) return { upper: NaN, estimate: NaN, method: 'too-large', gramSize: E.n };
  let frob2 = 0;
  for (let i = 0; i < A.vals.length; i++) frob2 += A.vals[i] * A.vals[i];
  frob2 *= 1 + gammaN(A.vals.length + 1);
  const gN = gammaN(N + 1);
  const gramErr = gN * frob2 * (1 + gN);
  const steps = options.lanczosSteps ?? 60;
  let mu = Math.max(lanczosMax(E, steps), 0);
  const gn = gammaN(E.n + 1);
  const gPrime = gn / (1 - gn);
  /** The first c = mu (1 + delta) whose shifted Cholesky succeeds, as a bound on lambda_max(M~). */
  const certify = (deltas: number[]): number | undefined => {
    for (const delta of deltas) {
      const c = mu * (1 + delta) + 1e-300;
      const res = choleskyShifted(E, c);
      if (res) return c + gPrime * res.trace + U64 * res.maxDiag;
    }
    return undefined;
  };
  let lambdaUpper = certify([1e-9, 1e-7, 1e-5, 1e-3]);
  if (lambdaUpper === undefined) {
    // Lanczos stopped short of lambda_max (a crowded top of the spectrum, as
    // convolutions have): more steps, then a finer ladder. A coarse jump
    // straight to delta = 0.1 would cost up to 5% of the norm.
    mu = Math.max(mu, lanczosMax(E, 4 * steps));
    lambdaUpper = certify([1e-7, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]);
  }
  let method: SoundNorm['method'] = 'cholesky';
  if (lambdaUpper === undefined) {
    lambdaUpper = gershgorin(E);
    method = 'gershgorin';
  }
  const frob = Math.sqrt(frob2);
  const upper = (Math.sqrt(lambdaUpper + gramErr) + 3 * U64 * frob) * (1 + 16 * U64);
  return { upper, estimate: Math.sqrt(mu), method, gramSize: E.n };
}
