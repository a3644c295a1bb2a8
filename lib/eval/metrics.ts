/**
 * Summary numbers of a certification log (METHOD.md, "Results and logs"):
 * certified accuracy at eps = share of evaluated images with correct = 1 and
 * radius >= eps (Cohen et al.'s ApproximateAccuracy); ACR = mean over
 * evaluated images of radius * correct (abstentions count as 0).
 */

/** What the metrics need of a record. */
export interface RadiusRecord {
  radius: number;
  correct: number;
}

function checkRecords(records: readonly RadiusRecord[], fn: string): void {
  if (records.length === 0) throw new RangeError(`${fn}: no records (an empty log has no accuracy)`);
}

/** Certified accuracy at each eps in `radii` (same order). */
export function certifiedAccuracy(records: readonly RadiusRecord[], radii: readonly number[]): number[] {
  checkRecords(records, 'certifiedAccuracy');
  return radii.map((eps) => {
    let k = 0;
    for (const r of records) if (r.correct === 1 && r.radius >= eps) k++;
    return k / records.length;
  });
}

/** Average certified radius: mean of radius * correct (radius 0 when abstaining or wrong). */
export function averageCertifiedRadius(records: readonly RadiusRecord[]): number {
  checkRecords(records, 'averageCertifiedRadius');
  let s = 0;
  for (const r of records) if (r.correct === 1) s += r.radius;
  return s / records.length;
}

export interface AccuracyCurve {
  radius: number[];
  accuracy: number[];
}

/**
 * Certified accuracy as a function of eps: a non-increasing, left-continuous
 * step function (accuracy(eps) counts radius >= eps). Without a
 * grid it is given exactly, at eps = 0 and at every distinct radius of a
 * correct image (the value holds up to and including that radius, and drops
 * just after it); with `grid` it is sampled at those eps.
 */
export function accuracyVsRadius(records: readonly RadiusRecord[], grid?: readonly number[]): AccuracyCurve {
  checkRecords(records, 'accuracyVsRadius');
  if (grid) return { radius: [...grid], accuracy: certifiedAccuracy(records, grid) };
  const radii = records.filter((r) => r.correct === 1).map((r) => r.radius);
  const distinct = Array.from(new Set([0, ...radii])).sort((a, b) => a - b);
  return { radius: distinct, accuracy: certifiedAccuracy(records, distinct) };
}

/** Parse "0,0.25,0.5" (or "0:2:0.25" = start:stop:step inclusive) into radii. */
export function parseRadii(spec: string): number[] {
  const s = spec.trim();
  const range = /^([^:]+):([^:]+):([^:]+)$/.exec(s);
  if (range) {
    const [a, b, st] = range.slice(1).map(Number);
    if (![a, b, st].every(Number.isFinite) || st <= 0 || b < a) {
      throw new RangeError(`radii '${spec}': use start:stop:step with step > 0 and stop >= start, e.g. 0:2:0.25`);
    }
    const out: number[] = [];
    for (let k = 0; a + k * st <= b + 1e-12; k++) out.push(Number((a + k * st).toPrecision(12)));
    return out;
  }
  const out = s.split(',').map((t) => t.trim());
  const vals = out.map(Number);
  out.forEach((t, i) => {
    if (t === '' || !Number.isFinite(vals[i]) || vals[i] < 0) throw new RangeError(`radii '${spec}': '${t}' is not a radius (a number >= 0); use e.g. 0,0.25,0.5`);
  });
  return vals;
}

/** Quantile q of values sorted in ascending order (linear interpolation between neighbours). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new RangeError('quantileSorted: no values');
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/** Median of values in any order (the mean of the two middle ones for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (!values.length) return null;
  return quantileSorted([...values].sort((a, b) => a - b), 0.5);
}
