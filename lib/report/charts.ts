/**
 * Chart builders: plain functions from data to a Vega-Lite spec (render them
 * with ./render.ts). They only fix what every splitz figure shares (size,
 * axis titles with units, a step curve for certified accuracy); anything
 * else is an ordinary Vega-Lite spec written where it is used.
 */
import type { VegaLiteSpec } from './render';
import type { AccuracyCurve } from '../eval/metrics';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

export interface LineChartOptions {
  /** Field plotted on x / y. */
  x: string;
  y: string;
  /** Field that separates the series (one line and colour per value). */
  color?: string;
  title: string;
  /** Axis titles (default: the field names). Put the unit or scale in them. */
  xTitle?: string;
  yTitle?: string;
  colorTitle?: string;
  /** Line interpolation; 'step-before' for left-continuous step functions. Default 'linear'. */
  interpolate?: 'linear' | 'step-before' | 'step-after' | 'monotone';
  /** Draw a point at every datum. Default false. */
  points?: boolean;
  xScale?: 'linear' | 'log';
  yScale?: 'linear' | 'log';
  yDomain?: [number, number];
  xDomain?: [number, number];
  width?: number;
  height?: number;
}

/** A line chart of `rows` (one object per point). */
export function lineChart(rows: ReadonlyArray<Record<string, unknown>>, o: LineChartOptions): VegaLiteSpec {
  if (!rows.length) throw new Error(`lineChart '${o.title}': no rows to plot`);
  for (const f of [o.x, o.y, ...(o.color ? [o.color] : [])]) {
    if (!rows.some((r) => f in r)) throw new Error(`lineChart '${o.title}': no row has the field '${f}' (fields: ${Object.keys(rows[0]).join(', ')})`);
  }
  const scale = (type: 'linear' | 'log' | undefined, domain?: [number, number]) => ({
    ...(type === 'log' ? { type: 'log' as const } : {}),
    ...(domain ? { domain } : { zero: false }),
  });
  return {
    $schema: SCHEMA,
    title: o.title,
    width: o.width ?? 420,
    height: o.height ?? 260,
    data: { values: rows.map((r) => ({ ...r })) },
    mark: { type: 'line', interpolate: o.interpolate ?? 'linear', point: o.points ?? false, clip: true },
    encoding: {
      x: { field: o.x, type: 'quantitative', title: o.xTitle ?? o.x, scale: scale(o.xScale, o.xDomain) },
      y: { field: o.y, type: 'quantitative', title: o.yTitle ?? o.y, scale: scale(o.yScale, o.yDomain) },
      ...(o.color ? { color: { field: o.color, type: 'nominal' as const, title: o.colorTitle ?? o.color } } : {}),
    },
  } as VegaLiteSpec;
}

/**
 * Rows of a certified-accuracy step curve: the points of accuracyVsRadius
 * (accuracy(eps) holds on (previous radius, radius], so 'step-before' draws
 * it exactly) plus the drop to 0 just after the largest certified radius.
 */
export function accuracyCurveRows(curve: AccuracyCurve, label: string, xMax?: number): Array<{ radius: number; accuracy: number; curve: string }> {
  const rows = curve.radius.map((r, i) => ({ radius: r, accuracy: curve.accuracy[i], curve: label }));
  const last = curve.radius[curve.radius.length - 1] ?? 0;
  const end = Math.max(xMax ?? 0, last * 1.05, last + 1e-6);
  if (curve.accuracy[curve.accuracy.length - 1] > 0) rows.push({ radius: end, accuracy: 0, curve: label });
  return rows;
}

/**
 * Certified accuracy vs l2 radius as step curves (the paper's accuracy-radius
 * figures). `curves`: one AccuracyCurve per label, e.g. from accuracyVsRadius(records).
 */
export function certifiedAccuracyChart(
  curves: ReadonlyArray<{ label: string; curve: AccuracyCurve }>,
  o: { title: string; xTitle?: string; width?: number; height?: number },
): VegaLiteSpec {
  if (!curves.length) throw new Error('certifiedAccuracyChart: give at least one curve');
  const xMax = Math.max(...curves.map((c) => c.curve.radius[c.curve.radius.length - 1] ?? 0)) * 1.05;
  const rows = curves.flatMap((c) => accuracyCurveRows(c.curve, c.label, xMax));
  return lineChart(rows, {
    x: 'radius',
    y: 'accuracy',
    color: curves.length > 1 ? 'curve' : undefined,
    colorTitle: '',
    title: o.title,
    xTitle: o.xTitle ?? 'l2 radius (input space, pixels in [0, 1])',
    yTitle: 'certified accuracy',
    interpolate: 'step-before',
    yDomain: [0, 1],
    width: o.width,
    height: o.height,
  });
}
