/**
 * The paper's figures as Vega-Lite specs: plain functions from data to a
 * spec (rendered by ./render.ts). Every spec has a title, a subtitle naming
 * the scale of our runs, axis titles with units and a legend; where the paper
 * gives numbers (data/literature), they are drawn as large hollow markers
 * with their own legend entry ("paper (Table X)"), our results as lines.
 */
import type { VegaLiteSpec } from './render';
import type { AccuracyCurve } from '../eval/metrics';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

export const RADIUS_TITLE = 'l2 radius ε (input space, pixels in [0, 1])';
export const ACCURACY_TITLE = 'certified accuracy (%)';

/** Options every figure takes. */
export interface FigureOptions {
  /** Second title line: the scale of our runs (e.g. "ours: reduced scale, 12 epochs, 500 test images, n = 100,000"). */
  subtitle?: string | string[];
  width?: number;
  height?: number;
}

function title(text: string, subtitle?: string | string[]): { text: string; subtitle?: string | string[]; anchor: 'start' } {
  return subtitle ? { text, subtitle: wrapSubtitle(subtitle), anchor: 'start' } : { text, anchor: 'start' };
}

/** Subtitle lines of at most ~`width` characters: long lines break after '; ' (one run group per line), else after ', '. */
export function wrapSubtitle(subtitle: string | string[], width = 120): string | string[] {
  const lines = (Array.isArray(subtitle) ? subtitle : [subtitle]).flatMap((line) => {
    if (line.length <= width) return [line];
    const out: string[] = [];
    line.split(/(?<=; )/).forEach((group, g) => {
      let cur = g === 0 ? '' : '  ';
      for (const part of group.split(/(?<=, )/)) {
        if (cur.trim() && (cur + part).length > width) {
          out.push(cur.trimEnd());
          cur = '    ' + part;
        } else cur += part;
      }
      if (cur.trim()) out.push(cur.trimEnd());
    });
    return out;
  });
  return Array.isArray(subtitle) || lines.length > 1 ? lines : lines[0];
}

/** A fixed first subtitle line followed by the caller's lines. */
function subtitleLines(first: string, more?: string | string[]): string[] {
  return [first, ...(more === undefined ? [] : Array.isArray(more) ? more : [more])];
}

// ------------------------------------------------------------------ certified accuracy vs radius

/** One of our curves: certified accuracy (fractions) vs radius, from accuracyVsRadius. */
export interface OurCurve {
  /** Colour group (e.g. 'SPLITZ', 'σ = 0.5', 'Lip_θ = 0.3'). */
  series: string;
  /** Dash group (e.g. 'σ = 0.25', 'local bound'); default: the same for all. */
  style?: string;
  curve: AccuracyCurve;
}

/** A number the paper prints, drawn as a marker. certified_accuracy in percent. */
export interface PaperPoint {
  /** Colour group: the same value as the matching OurCurve.series, so colours agree. */
  series: string;
  eps: number;
  certified_accuracy: number;
  /** Legend entry of the marker's shape, e.g. 'paper (Table II, best over σ)'. */
  source: string;
}

/** At most this many points per curve are drawn (a 10,000-image curve has 10,000 steps). */
const MAX_CURVE_POINTS = 600;

/**
 * Plot rows of a certified-accuracy step curve, in percent: the exact steps,
 * or (for long curves) the exact values on a fine grid. The drop to 0 after
 * the largest radius is included.
 */
export function curveRows(curve: AccuracyCurve, xMax: number): Array<{ radius: number; accuracy: number }> {
  if (curve.radius.length !== curve.accuracy.length) throw new Error('curveRows: radius and accuracy differ in length');
  const rows: Array<{ radius: number; accuracy: number }> = [];
  if (curve.radius.length <= MAX_CURVE_POINTS) {
    curve.radius.forEach((r, i) => rows.push({ radius: r, accuracy: 100 * curve.accuracy[i] }));
  } else {
    // accuracy(eps) = value at the first curve radius >= eps (left-continuous steps).
    let j = 0;
    for (let k = 0; k <= MAX_CURVE_POINTS; k++) {
      const eps = (xMax * k) / MAX_CURVE_POINTS;
      while (j < curve.radius.length && curve.radius[j] < eps) j++;
      rows.push({ radius: eps, accuracy: j < curve.radius.length ? 100 * curve.accuracy[j] : 0 });
    }
    return rows;
  }
  const last = curve.radius[curve.radius.length - 1] ?? 0;
  if ((curve.accuracy[curve.accuracy.length - 1] ?? 0) > 0) rows.push({ radius: Math.max(xMax, last + 1e-6), accuracy: 0 });
  return rows;
}

export interface AccuracyFigureOptions extends FigureOptions {
  title: string;
  colorTitle: string;
  styleTitle?: string;
  /** Largest radius shown; default: a little past the largest radius of the data. Curves cut by it are named in the subtitle. */
  xMax?: number;
}

/** Subtitle lines naming the curves that go on past the x axis's end, so a cut axis hides nothing unsaid. */
function cutNotes(curves: readonly OurCurve[], xMax: number): string[] {
  const notes: string[] = [];
  for (const c of curves) {
    const { radius, accuracy } = c.curve;
    const j = radius.findIndex((r) => r >= xMax);
    if (j < 0 || !(accuracy[j] > 0)) continue;
    const name = c.style && c.style !== 'ours' ? `${c.series}, ${c.style}` : c.series;
    notes.push(`${name}: ${(100 * accuracy[j]).toFixed(1)}% at ε = ${xMax}, certified up to ε = ${radius[radius.length - 1].toFixed(2)} (cut off)`);
  }
  return notes.length ? [`x axis ends at ε = ${xMax}; beyond it: ${notes.join('; ')}`] : [];
}

/**
 * Certified accuracy (%) vs l2 radius: our curves as step lines (colour =
 * series, dash = style), the paper's numbers as large hollow markers
 * (colour = series, shape = which table).
 */
export function accuracyFigure(curves: readonly OurCurve[], paper: readonly PaperPoint[], o: AccuracyFigureOptions): VegaLiteSpec {
  if (!curves.length && !paper.length) throw new Error(`accuracyFigure '${o.title}': no curves and no paper points to plot`);
  const dataMax = Math.max(0, ...curves.map((c) => c.curve.radius[c.curve.radius.length - 1] ?? 0), ...paper.map((p) => p.eps));
  const xMax = o.xMax ?? Math.max(0.25, Math.ceil(dataMax * 1.05 * 4) / 4);
  const ours = curves.flatMap((c) => curveRows(c.curve, xMax).map((r) => ({ ...r, series: c.series, style: c.style ?? 'ours', kind: 'ours' })));
  const pts = paper.map((p) => ({ radius: p.eps, accuracy: p.certified_accuracy, series: p.series, source: p.source, kind: 'paper' }));
  const x = { field: 'radius', type: 'quantitative' as const, title: RADIUS_TITLE, scale: { domain: [0, xMax] } };
  const y = { field: 'accuracy', type: 'quantitative' as const, title: ACCURACY_TITLE, scale: { domain: [0, 100] } };
  const color = { field: 'series', type: 'nominal' as const, title: o.colorTitle, legend: { symbolType: 'stroke', symbolStrokeWidth: 3 } };
  const layers: object[] = [];
  if (ours.length) {
    const multiStyle = new Set(ours.map((r) => r.style)).size > 1;
    layers.push({
      data: { values: ours },
      mark: { type: 'line', interpolate: 'step-before', clip: true, strokeWidth: 2 },
      encoding: {
        x,
        y,
        color,
        ...(multiStyle ? { strokeDash: { field: 'style', type: 'nominal', title: o.styleTitle ?? 'ours' } } : {}),
        detail: { field: 'style', type: 'nominal' },
        tooltip: [{ field: 'series' }, { field: 'style' }, { field: 'radius', format: '.3f' }, { field: 'accuracy', format: '.1f' }],
      },
    });
  }
  if (pts.length) {
    layers.push({
      data: { values: pts },
      mark: { type: 'point', filled: false, size: 130, strokeWidth: 2.2, clip: true },
      encoding: {
        x,
        y,
        color,
        shape: { field: 'source', type: 'nominal', title: "paper's numbers (markers)" },
        tooltip: [{ field: 'source' }, { field: 'series' }, { field: 'radius', title: 'eps' }, { field: 'accuracy', title: 'certified accuracy (%)' }],
      },
    });
  }
  return {
    $schema: SCHEMA,
    title: title(o.title, withCutNotes(o.subtitle ?? (ours.length ? undefined : 'no runs of ours yet: the paper\u2019s numbers only'), o.xMax === undefined ? [] : cutNotes(curves, xMax))),
    width: o.width ?? 440,
    height: o.height ?? 280,
    layer: layers,
    resolve: { scale: { color: 'shared' } },
    config: { legend: { orient: 'right', labelLimit: 320, titleLimit: 320 } },
  } as unknown as VegaLiteSpec;
}

function withCutNotes(subtitle: string | string[] | undefined, notes: string[]): string | string[] | undefined {
  if (!notes.length) return subtitle;
  return [...(subtitle === undefined ? [] : Array.isArray(subtitle) ? subtitle : [subtitle]), ...notes];
}

/** Sigma as a legend label. */
export const sigmaLabel = (s: number): string => `σ = ${s}`;

/**
 * Fig. 3: certified accuracy vs radius on CIFAR-10, RS vs SPLITZ at
 * sigma in {0.25, 0.5, 1.0}. Colour = method, dash = sigma. The paper's
 * markers: Table II's RS and SPLITZ rows (best over sigma) and the numbers
 * of the Fig. 3 caption.
 */
export function fig3(
  ours: ReadonlyArray<{ method: string; sigma: number; curve: AccuracyCurve }>,
  paper: readonly PaperPoint[],
  o: FigureOptions = {},
): VegaLiteSpec {
  return accuracyFigure(
    ours.map((c) => ({ series: c.method, style: sigmaLabel(c.sigma), curve: c.curve })),
    paper,
    { ...o, title: 'Fig. 3: certified accuracy vs l2 radius on CIFAR-10, RS vs SPLITZ', colorTitle: 'method', styleTitle: 'ours: noise level' },
  );
}

/**
 * Where Fig. 4(a)'s x axis ends: past the paper's largest eps (2.5) and past
 * the largest radius RS can certify at sigma <= 1 with n <= 100,000 (3.81).
 * A SPLITZ run whose f_R collapsed to one class can certify that class far
 * beyond (radius R_fR / L with L << 1); such curves are cut and named.
 */
export const FIG4A_X_MAX = 4;

/**
 * Fig. 4(a): SPLITZ on MNIST at several sigma (colour = sigma). The paper's
 * markers: the sigma = 0.75 row of Table V and Table I's SPLITZ row (best
 * over sigma). The x axis ends at FIG4A_X_MAX unless `xMax` says otherwise.
 */
export function fig4a(ours: ReadonlyArray<{ sigma: number; curve: AccuracyCurve }>, paper: readonly PaperPoint[], o: FigureOptions & { xMax?: number } = {}): VegaLiteSpec {
  return accuracyFigure(
    [...ours].sort((a, b) => a.sigma - b.sigma).map((c) => ({ series: sigmaLabel(c.sigma), curve: c.curve })),
    paper,
    { xMax: FIG4A_X_MAX, ...o, title: 'Fig. 4(a): SPLITZ certified accuracy on MNIST, varying σ', colorTitle: 'noise level' },
  );
}

/**
 * Fig. 4(b): global vs local Lipschitz bound of f_L, and the Lipschitz
 * threshold Lip_theta. Colour = setting (e.g. 'Lip_θ = 0.3'), dash = bound
 * used for the radius ('local (sound)', 'local (paper)', 'global'). The
 * paper's markers: Table VI.
 */
export function fig4b(ours: ReadonlyArray<{ setting: string; bound: string; curve: AccuracyCurve }>, paper: readonly PaperPoint[], o: FigureOptions = {}): VegaLiteSpec {
  return accuracyFigure(
    ours.map((c) => ({ series: c.setting, style: c.bound, curve: c.curve })),
    paper,
    { ...o, title: 'Fig. 4(b): SPLITZ on MNIST (σ = 0.75): global vs local Lipschitz bound, and Lip_θ', colorTitle: 'training setting', styleTitle: 'bound on L(x, γ)' },
  );
}

/** Legend name of the bound on L(x, gamma) behind a radius column: a run's `bound` ('sound', 'none' for RS) or an extra column's suffix ('paper', 'global'). */
export function boundLegend(bound: string): string {
  const names: Record<string, string> = { paper: 'local (paper: power iteration)', sound: 'local (sound)', global: 'global', none: 'none (RS)' };
  return names[bound] ?? bound;
}

/**
 * The headline pair: SPLITZ and RS on MNIST at sigma = 0.75 at the paper's
 * full training schedule (colour = method, dash = bound on L(x, gamma)).
 * The paper's markers: the sigma = 0.75 row of Tables V-VII (SPLITZ only).
 */
export function figHeadline(ours: ReadonlyArray<{ method: string; bound: string; curve: AccuracyCurve }>, paper: readonly PaperPoint[], o: FigureOptions = {}): VegaLiteSpec {
  return accuracyFigure(
    ours.map((c) => ({ series: c.method, style: c.bound, curve: c.curve })),
    paper,
    { ...o, title: "The headline pair: SPLITZ vs RS on MNIST at σ = 0.75, the paper's full training schedule", colorTitle: 'method', styleTitle: 'bound on L(x, γ)' },
  );
}

// ------------------------------------------------------------------ Lipschitz constants

/** One affine layer's global Lipschitz constant (spectral norm on its input shape). */
export interface LayerLipschitz {
  /** Network name, one panel each (e.g. 'VGG-16 (CIFAR-10, trained here)'). */
  net: string;
  /** 1-based index of the affine layer, input to output. */
  layer: number;
  /** 'conv' or 'dense' (legend). */
  kind?: string;
  lipschitz: number;
}

/**
 * Fig. 1(a) / Fig. 5: the global Lipschitz constant of each affine layer,
 * one panel per network, log y axis.
 */
export function figGlobalLipschitz(rows: readonly LayerLipschitz[], o: FigureOptions & { figure: '1a' | '5' }): VegaLiteSpec {
  if (!rows.length) throw new Error(`Fig. ${o.figure}: no layers to plot`);
  for (const r of rows) {
    if (!(r.lipschitz > 0)) throw new Error(`Fig. ${o.figure}: layer ${r.layer} of ${r.net} has Lipschitz constant ${r.lipschitz}; a log axis needs values > 0`);
  }
  const values = rows.map((r) => ({ ...r, kind: r.kind ?? 'affine' }));
  const name = o.figure === '1a' ? 'Fig. 1(a)' : 'Fig. 5';
  return {
    $schema: SCHEMA,
    title: title(`${name}: Lipschitz constant (spectral norm) of each affine layer`, o.subtitle),
    data: { values },
    facet: { column: { field: 'net', type: 'nominal', title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } } },
    spec: {
      width: o.width ?? 220,
      height: o.height ?? 220,
      layer: [
        { mark: { type: 'line', color: '#999', strokeWidth: 1 }, encoding: { x: { field: 'layer', type: 'quantitative' }, y: { field: 'lipschitz', type: 'quantitative' } } },
        {
          mark: { type: 'point', filled: true, size: 60 },
          encoding: {
            x: { field: 'layer', type: 'quantitative', title: 'affine layer (1 = first, input side)', axis: { tickMinStep: 1, format: 'd' } },
            y: { field: 'lipschitz', type: 'quantitative', title: 'spectral norm ||W||₂ (log scale)', scale: { type: 'log' } },
            color: { field: 'kind', type: 'nominal', title: 'layer type' },
            tooltip: [{ field: 'net' }, { field: 'layer' }, { field: 'kind' }, { field: 'lipschitz', format: '.4g' }],
          },
        },
      ],
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  } as unknown as VegaLiteSpec;
}

/** A local Lipschitz bound of the first `layer` layers at one image. */
export interface LocalBoundPoint {
  /** Image label (e.g. 'test #17 (cat)'). */
  image: string;
  /** f_L = the first `layer` layers. */
  layer: number;
  bound: number;
}

/**
 * Fig. 1(b) / Fig. 6(a): the local Lipschitz bound L(x, gamma) of the first
 * 1..k layers for a few images (grouped bars, one colour per image).
 */
export function figLocalBoundsImages(rows: readonly LocalBoundPoint[], o: FigureOptions & { figure: '1b' | '6a'; net: string; gamma: number }): VegaLiteSpec {
  if (!rows.length) throw new Error(`Fig. ${o.figure}: no bounds to plot`);
  const name = o.figure === '1b' ? 'Fig. 1(b)' : 'Fig. 6(a)';
  return {
    $schema: SCHEMA,
    title: title(`${name}: local Lipschitz bound of the first layers, per image`, subtitleLines(`${o.net}, ${new Set(rows.map((r) => r.image)).size} CIFAR-10 test images, γ = ${o.gamma}`, o.subtitle)),
    width: o.width ?? 420,
    height: o.height ?? 260,
    data: { values: rows.map((r) => ({ ...r })) },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'layer', type: 'ordinal', title: 'f_L = first k affine layers (k)', axis: { labelAngle: 0 } },
      xOffset: { field: 'image', type: 'nominal' },
      y: { field: 'bound', type: 'quantitative', title: 'local Lipschitz bound L(x, γ) (upper bound, l2)' },
      color: { field: 'image', type: 'nominal', title: 'image', legend: { labelLimit: 320 } },
      tooltip: [{ field: 'image' }, { field: 'layer' }, { field: 'bound', format: '.4g' }],
    },
  } as unknown as VegaLiteSpec;
}

/** Share of values in each bin [edges[i], edges[i+1]) (the last bin closed), in percent. */
export function binPercent(values: readonly number[], edges: readonly number[]): Array<{ bin: string; lo: number; hi: number; percent: number; count: number }> {
  if (edges.length < 2) throw new Error('binPercent: give at least two bin edges');
  for (let i = 1; i < edges.length; i++) if (!(edges[i] > edges[i - 1])) throw new Error('binPercent: bin edges must increase');
  if (!values.length) throw new Error('binPercent: no values');
  const counts = new Array(edges.length - 1).fill(0);
  let outside = 0;
  for (const v of values) {
    let k = -1;
    for (let i = 0; i < edges.length - 1; i++) {
      if (v >= edges[i] && (v < edges[i + 1] || (i === edges.length - 2 && v === edges[i + 1]))) {
        k = i;
        break;
      }
    }
    if (k < 0) outside++;
    else counts[k]++;
  }
  if (outside) throw new Error(`binPercent: ${outside} value(s) fall outside [${edges[0]}, ${edges[edges.length - 1]}]; widen the edges`);
  const fmt = (v: number) => String(Number(v.toPrecision(3)));
  return counts.map((c, i) => ({ bin: `${fmt(edges[i])}–${fmt(edges[i + 1])}`, lo: edges[i], hi: edges[i + 1], percent: (100 * c) / values.length, count: c }));
}

/** Bin edges spanning values: `bins` equal bins from the minimum to the maximum (rounded outwards). */
export function niceEdges(values: readonly number[], bins = 8): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  if (!(hi > lo)) return [lo - 0.5, hi + 0.5];
  const step = (hi - lo) / bins;
  const p = Math.pow(10, Math.floor(Math.log10(step)) - 1);
  const s = Math.ceil(step / p) * p;
  const start = Math.floor(lo / p) * p;
  const edges = Array.from({ length: bins + 1 }, (_, i) => Number((start + i * s).toPrecision(12)));
  while (edges[edges.length - 1] < hi) edges.push(Number((edges[edges.length - 1] + s).toPrecision(12)));
  return edges;
}

/**
 * Fig. 1(c) / Fig. 6(b): the distribution of the local bound over the test
 * set, as the percentage of images in each range (the paper's "percentage
 * analysis"), one colour per f_L depth.
 */
export function figLocalBoundDistribution(rows: ReadonlyArray<{ layer: number; bound: number }>, o: FigureOptions & { figure: '1c' | '6b'; net: string; gamma: number; bins?: number }): VegaLiteSpec {
  if (!rows.length) throw new Error(`Fig. ${o.figure}: no bounds to plot`);
  const edges = niceEdges(rows.map((r) => r.bound), o.bins ?? 8);
  const layers = [...new Set(rows.map((r) => r.layer))].sort((a, b) => a - b);
  const values = layers.flatMap((layer) => {
    const vs = rows.filter((r) => r.layer === layer).map((r) => r.bound);
    return binPercent(vs, edges).map((b) => ({ ...b, layer: `first ${layer} layer${layer === 1 ? '' : 's'}`, images: vs.length }));
  });
  const n = Math.max(...values.map((v) => v.images));
  const name = o.figure === '1c' ? 'Fig. 1(c)' : 'Fig. 6(b)';
  return {
    $schema: SCHEMA,
    title: title(`${name}: local Lipschitz bound over the test set`, subtitleLines(`${o.net}, ${n.toLocaleString('en-US')} CIFAR-10 test images, γ = ${o.gamma}`, o.subtitle)),
    width: o.width ?? 460,
    height: o.height ?? 260,
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'bin', type: 'ordinal', sort: { field: 'lo' }, title: 'local Lipschitz bound L(x, γ) (range)', axis: { labelAngle: -30 } },
      xOffset: { field: 'layer', type: 'nominal', sort: layers.map((l) => `first ${l} layer${l === 1 ? '' : 's'}`) },
      y: { field: 'percent', type: 'quantitative', title: 'share of test images (%)' },
      color: { field: 'layer', type: 'nominal', title: 'f_L', sort: layers.map((l) => `first ${l} layer${l === 1 ? '' : 's'}`) },
      tooltip: [{ field: 'layer' }, { field: 'bin' }, { field: 'percent', format: '.1f' }, { field: 'count' }],
    },
  } as unknown as VegaLiteSpec;
}

// ------------------------------------------------------------------ Fig. 2

/**
 * Fig. 2: the SPLITZ schematic, x -> f_L -> (+ delta ~ N(0, sigma^2 I)) ->
 * f_R -> class, drawn with rect, text and rule marks on a fixed canvas.
 */
export function fig2(o: FigureOptions = {}): VegaLiteSpec {
  const boxes = [
    { x: 12, x2: 28, y: 40, y2: 60, label: 'f_L', sub: 'first s layers', role: 'f_L: local Lipschitz bound L(x, γ) kept small (eq. 17)' },
    { x: 62, x2: 78, y: 40, y2: 60, label: 'f_R', sub: 'remaining layers', role: 'f_R: smoothed by Gaussian noise (randomized smoothing)' },
  ];
  const texts = [
    { x: 3, y: 50, text: 'x', size: 18 },
    { x: 20, y: 53, text: 'f_L', size: 16 },
    { x: 20, y: 45, text: 'first s layers', size: 10 },
    { x: 70, y: 53, text: 'f_R', size: 16 },
    { x: 70, y: 45, text: 'remaining layers', size: 10 },
    { x: 45, y: 50, text: '+', size: 22 },
    { x: 45, y: 14, text: 'δ ~ N(0, σ² I)', size: 13 },
    { x: 94, y: 50, text: 'class', size: 14 },
    { x: 36, y: 56, text: 'f_L(x)', size: 11 },
    { x: 54, y: 56, text: 'f_L(x) + δ', size: 11 },
    { x: 50, y: 88, text: 'g(x) = argmax_c P(f_R(f_L(x) + δ) = c);  certified radius R(x) = max_γ min(R_fR / L(x, γ), γ)  (Theorem 1)', size: 11 },
  ];
  const arrows = [
    { x: 5, x2: 12, y: 50, y2: 50 },
    { x: 28, x2: 42, y: 50, y2: 50 },
    { x: 48, x2: 62, y: 50, y2: 50 },
    { x: 78, x2: 89, y: 50, y2: 50 },
    { x: 45, x2: 45, y: 20, y2: 46 },
  ];
  const heads = [
    { x: 12, y: 50, shape: 'triangle-right' },
    { x: 42, y: 50, shape: 'triangle-right' },
    { x: 62, y: 50, shape: 'triangle-right' },
    { x: 89, y: 50, shape: 'triangle-right' },
    { x: 45, y: 46, shape: 'triangle-down' },
  ];
  const X = { type: 'quantitative', scale: { domain: [0, 100] }, axis: null };
  const Y = { type: 'quantitative', scale: { domain: [100, 0] }, axis: null };
  return {
    $schema: SCHEMA,
    title: title('Fig. 2: the SPLITZ classifier', o.subtitle ?? 'noise is added after the Lipschitz-constrained left half f_L; the right half f_R is smoothed'),
    width: o.width ?? 640,
    height: o.height ?? 200,
    view: { stroke: null },
    layer: [
      {
        data: { values: boxes },
        mark: { type: 'rect', cornerRadius: 6, stroke: '#333', strokeWidth: 1.5, opacity: 0.9 },
        encoding: {
          x: { field: 'x', ...X },
          x2: { field: 'x2' },
          y: { field: 'y', ...Y },
          y2: { field: 'y2' },
          color: { field: 'role', type: 'nominal', title: 'part', scale: { range: ['#a6cee3', '#fdbf6f'] }, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 500 } },
        },
      },
      { data: { values: [{ x: 45, y: 50 }] }, mark: { type: 'point', shape: 'circle', size: 700, stroke: '#333', strokeWidth: 1.5, fill: 'white', filled: false }, encoding: { x: { field: 'x', ...X }, y: { field: 'y', ...Y } } },
      { data: { values: arrows }, mark: { type: 'rule', strokeWidth: 1.6, color: '#333' }, encoding: { x: { field: 'x', ...X }, x2: { field: 'x2' }, y: { field: 'y', ...Y }, y2: { field: 'y2' } } },
      { data: { values: heads }, mark: { type: 'point', filled: true, size: 90, color: '#333', opacity: 1 }, encoding: { x: { field: 'x', ...X }, y: { field: 'y', ...Y }, shape: { field: 'shape', type: 'nominal', scale: null } } },
      {
        data: { values: texts },
        mark: { type: 'text', baseline: 'middle', align: 'center', color: '#111' },
        encoding: { x: { field: 'x', ...X }, y: { field: 'y', ...Y }, text: { field: 'text' }, size: { field: 'size', type: 'quantitative', scale: null } },
      },
    ],
  } as unknown as VegaLiteSpec;
}
