/**
 * Paired comparison of two certified models on the same test images.
 *
 * Two certification logs of the same image selection differ only on the
 * images where one model certifies and the other does not, so comparing
 * their certified accuracies is a paired test:
 *  - certified accuracy at eps: image i counts for a model when it is
 *    classified correctly with radius >= eps (Cohen et al.); McNemar's exact
 *    test (a binomial test with p = 1/2 on the discordant images) gives the
 *    two-sided p-value;
 *  - average certified radius: the mean of the per-image differences of
 *    radius * correct, with a 95% normal-approximation interval;
 *  - agreement: on how many images the two smoothed classifiers give the
 *    same answer (a class or abstention), and the same class where both
 *    classify. Two models that are one another in disguise (SPLITZ with f_L
 *    at L = 0.5 and RS at twice its sigma) agree far beyond their accuracy.
 * At 500 images a difference of a few points of certified accuracy can be
 * noise; these say how much.
 */
import binomialCdf = require('@stdlib/stats-base-dists-binomial-cdf');
import { CertifyRecord } from './log';

/** Per-image radius (one radius column) and correctness, by test-image index. */
export type ImageRadii = Map<number, { radius: number; correct: boolean }>;

/**
 * Each record's radius in one column ('radius', 'radius_paper', ...), or, for
 * column 'global', R_fR / L under a global bound L of f_L.
 */
export function recordRadii(records: readonly CertifyRecord[], column = 'radius', globalL?: number): ImageRadii {
  const out: ImageRadii = new Map();
  for (const r of records) {
    const radius = column === 'global' ? Number(r.radius_fR) / (globalL as number) : Number(r[column]);
    out.set(r.idx, { radius, correct: r.correct === 1 });
  }
  return out;
}

/** Two-sided exact McNemar p-value from the discordant counts. */
export function mcnemarExact(onlyA: number, onlyB: number): number {
  const m = onlyA + onlyB;
  if (m === 0) return 1;
  const k = Math.min(onlyA, onlyB);
  return Math.min(1, 2 * binomialCdf(k, m, 0.5));
}

/** Test-image indices both maps hold, in A's order. */
export function commonImages(a: ImageRadii, b: ImageRadii): number[] {
  return [...a.keys()].filter((k) => b.has(k));
}

export interface PairedAccuracy {
  eps: number;
  /** Images in both logs. */
  images: number;
  /** Certified-correct at eps, of those images. */
  certifiedA: number;
  certifiedB: number;
  /** Discordant images: certified by A only, by B only. */
  onlyA: number;
  onlyB: number;
  /** Two-sided exact McNemar p-value. */
  p: number;
}

/** Certified accuracy of A and B at eps on their common images, with McNemar's test. */
export function pairedAccuracy(a: ImageRadii, b: ImageRadii, eps: number): PairedAccuracy {
  const idx = commonImages(a, b);
  let certifiedA = 0;
  let certifiedB = 0;
  let onlyA = 0;
  let onlyB = 0;
  for (const i of idx) {
    // Certified-correct at eps, as in lib/eval/metrics certifiedAccuracy.
    const ra = a.get(i)!;
    const rb = b.get(i)!;
    const ca = ra.correct && ra.radius >= eps;
    const cb = rb.correct && rb.radius >= eps;
    if (ca) certifiedA++;
    if (cb) certifiedB++;
    if (ca && !cb) onlyA++;
    if (cb && !ca) onlyB++;
  }
  return { eps, images: idx.length, certifiedA, certifiedB, onlyA, onlyB, p: mcnemarExact(onlyA, onlyB) };
}

export interface PairedAcr {
  images: number;
  acrA: number;
  acrB: number;
  /** Mean of A's minus B's radius * correct, and its 95% interval. */
  difference: number;
  ci: [number, number];
}

/** ACR of A and B on their common images, and the 95% interval of the mean per-image difference. */
export function pairedAcr(a: ImageRadii, b: ImageRadii): PairedAcr {
  const idx = commonImages(a, b);
  // ACR counts radius * correct (lib/eval/metrics averageCertifiedRadius).
  const v = (m: ImageRadii, i: number) => (m.get(i)!.correct ? m.get(i)!.radius : 0);
  const d = idx.map((i) => v(a, i) - v(b, i));
  const n = d.length;
  const mean = d.reduce((s, x) => s + x, 0) / Math.max(1, n);
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, n - 1));
  const half = (1.959964 * sd) / Math.sqrt(Math.max(1, n));
  const acr = (m: ImageRadii) => idx.reduce((s, i) => s + v(m, i), 0) / Math.max(1, n);
  return { images: n, acrA: acr(a), acrB: acr(b), difference: mean, ci: [mean - half, mean + half] };
}

export interface PairedAgreement {
  /** Images in both logs. */
  images: number;
  /** Same prediction, a class or abstention (predict -1) alike. */
  sameAnswer: number;
  /** Images where A, B abstains. */
  abstainA: number;
  abstainB: number;
  /** Images where neither abstains, and of those, the ones with the same class. */
  bothClassify: number;
  sameClass: number;
}

/** How often A and B predict alike on the test images both logs hold (by idx). */
export function pairedAgreement(a: readonly CertifyRecord[], b: readonly CertifyRecord[]): PairedAgreement {
  const predictB = new Map(b.map((r) => [r.idx, r.predict]));
  const out: PairedAgreement = { images: 0, sameAnswer: 0, abstainA: 0, abstainB: 0, bothClassify: 0, sameClass: 0 };
  for (const r of a) {
    const pb = predictB.get(r.idx);
    if (pb === undefined) continue;
    out.images++;
    if (r.predict === pb) out.sameAnswer++;
    if (r.predict === -1) out.abstainA++;
    if (pb === -1) out.abstainB++;
    if (r.predict !== -1 && pb !== -1) {
      out.bothClassify++;
      if (r.predict === pb) out.sameClass++;
    }
  }
  return out;
}

/** A plain-text table of a paired comparison: one row per radius, then the ACR and agreement lines. */
export function formatPairedTable(
  a: { path: string; images: number },
  b: { path: string; images: number },
  column: string,
  rows: readonly PairedAccuracy[],
  acr: PairedAcr,
  agreement: PairedAgreement,
): string {
  const header = ['r', 'A (%)', 'B (%)', 'only A', 'only B', 'McNemar p'];
  const pct = (k: number) => ((100 * k) / Math.max(1, acr.images)).toFixed(1);
  const cells = rows.map((r) => [String(r.eps), pct(r.certifiedA), pct(r.certifiedB), String(r.onlyA), String(r.onlyB), r.p < 0.001 ? '< 0.001' : r.p.toFixed(3)]);
  const widths = header.map((h, j) => Math.max(h.length, ...cells.map((c) => c[j].length)));
  const fmt = (c: string[]) => c.map((x, j) => x.padStart(widths[j])).join('  ');
  return [
    `A = ${a.path} (${a.images} images)`,
    `B = ${b.path} (${b.images} images)`,
    `compared on the ${acr.images} images in both logs, radius column '${column}'`,
    fmt(header),
    ...cells.map(fmt),
    `ACR  A ${acr.acrA.toFixed(4)}  B ${acr.acrB.toFixed(4)}  A - B ${acr.difference.toFixed(4)}  95% interval [${acr.ci[0].toFixed(4)}, ${acr.ci[1].toFixed(4)}]`,
    `agreement  same answer (class or abstention) on ${agreement.sameAnswer} of ${agreement.images}; both classify ${agreement.bothClassify}, same class on ${agreement.sameClass} of them; abstain A ${agreement.abstainA}, B ${agreement.abstainB}`,
    '(certified accuracy in % at each radius r on the common images; only A / only B: images one model certifies at r and the other does not; McNemar p: two-sided exact test on them)',
  ].join('\n');
}
