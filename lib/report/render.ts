/**
 * The one figure renderer of splitz: a Vega-Lite spec becomes an SVG (vega's
 * headless renderer) and a PNG (resvg), with no browser.
 *
 * Charts are plain Vega-Lite specs built by functions from data (./charts.ts);
 * the same spec is saved to figures/, shown in notebooks (natively by
 * JupyterLab through the Vega-Lite MIME type, as a PNG everywhere else) and
 * can be opened in the Vega editor.
 *
 * vega, vega-lite and resvg are loaded on first use, tslab only inside the
 * show* functions: the library (and the CLI) never needs a notebook, and
 * importing it does not pay vega's start-up time.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../io/atomic';

/** Re-exported: scripts write tables and captions with it. */
export { writeFileAtomic };

/** A Vega-Lite v5 top-level spec. */
export type VegaLiteSpec = TopLevelSpec;

export interface RenderedFigure {
  svg: string;
  png: Buffer;
  /** Size of the chart in CSS pixels (the PNG is `scale` times larger). */
  width: number;
  height: number;
}

export interface RenderOptions {
  /** PNG pixels per CSS pixel. Default 2 (sharp on high-density screens and in papers). */
  scale?: number;
  /** Background colour of the PNG. Default white (vega draws its own background too). */
  background?: string;
}

/**
 * Font families tried, in order, for vega's default `sans-serif` (whichever
 * the system has): `files` locate the family, `regular` / `bold` are the
 * files text is measured with (measureTextWidth).
 */
const SANS_CANDIDATES: Array<{ family: string; files: string[]; regular?: string; bold?: string }> = [
  {
    family: 'DejaVu Sans',
    files: ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/TTF/DejaVuSans.ttf', '/usr/share/fonts/dejavu/DejaVuSans.ttf'],
    regular: 'DejaVuSans.ttf',
    bold: 'DejaVuSans-Bold.ttf',
  },
  { family: 'Liberation Sans', files: ['/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf'], regular: 'LiberationSans-Regular.ttf', bold: 'LiberationSans-Bold.ttf' },
  { family: 'Lato', files: ['/usr/share/fonts/truetype/lato/Lato-Regular.ttf'], regular: 'Lato-Regular.ttf', bold: 'Lato-Bold.ttf' },
  { family: 'Arial', files: ['/Library/Fonts/Arial.ttf', '/System/Library/Fonts/Supplemental/Arial.ttf', 'C:\\Windows\\Fonts\\arial.ttf'] },
  { family: 'Helvetica', files: ['/System/Library/Fonts/Helvetica.ttc'] },
];

let sans: { family: string; fontFiles: string[] } | undefined | null = null;

/** The first known sans-serif family installed here, with the regular and bold files to measure text with (none when unknown). */
function preferredSansFont(): { family: string; fontFiles: string[] } | undefined {
  if (sans === null) {
    const found = SANS_CANDIDATES.map((c) => ({ candidate: c, file: c.files.find((f) => fs.existsSync(f)) })).find((x) => x.file);
    if (!found) sans = undefined;
    else {
      // The regular and bold files sit beside the file that located the family.
      const dir = path.dirname(found.file!);
      const fontFiles = [found.candidate.regular, found.candidate.bold].filter((f): f is string => !!f).map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f));
      sans = { family: found.candidate.family, fontFiles };
    }
  }
  return sans;
}

/** The first known sans-serif family installed here (undefined: let resvg pick the first system font). */
function preferredSans(): string | undefined {
  return preferredSansFont()?.family;
}

const widthCache = new Map<string, number>();

/**
 * Width in pixels of one line of text as resvg draws it (the right edge of
 * its ink, from x = 0), in the preferred sans-serif font; undefined when no
 * known font file is installed. Cached per (size, weight, text): a figure
 * has a few dozen distinct strings, each about 10 ms to measure.
 */
export function measureTextWidth(text: string, fontSize: number, fontWeight: string | number = 'normal'): number | undefined {
  const font = preferredSansFont();
  if (!font?.fontFiles.length) return undefined;
  const bold = fontWeight === 'bold' || Number(fontWeight) >= 600;
  const key = `${fontSize}|${bold ? 'b' : 'n'}|${text}`;
  let w = widthCache.get(key);
  if (w === undefined) {
    const esc = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(fontSize * (text.length + 4))}" height="${Math.ceil(3 * fontSize)}"><text x="0" y="${2 * fontSize}" font-family="${font.family}" font-size="${fontSize}" font-weight="${bold ? 'bold' : 'normal'}">${esc}</text></svg>`;
    const bbox = new (load().resvg.Resvg)(svg, { font: { loadSystemFonts: false, fontFiles: font.fontFiles, defaultFontFamily: font.family } }).getBBox();
    w = bbox ? bbox.x + bbox.width : 0;
    widthCache.set(key, w);
  }
  return w;
}

type VegaModule = typeof import('vega');
type VegaLiteModule = typeof import('vega-lite');
type ResvgModule = typeof import('@resvg/resvg-js');
let modules: { vega: VegaModule; vl: VegaLiteModule; resvg: ResvgModule } | undefined;

/** vega's text measurer (not in its typings): width(item, text) in pixels for an item's font. */
interface VegaTextMetrics {
  width: (item: { fontSize?: number; fontWeight?: string | number; font?: string; limit?: number }, text: unknown) => number;
  estimateWidth: VegaTextMetrics['width'];
}

function load(): { vega: VegaModule; vl: VegaLiteModule; resvg: ResvgModule } {
  if (!modules) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    modules = { vega: require('vega'), vl: require('vega-lite'), resvg: require('@resvg/resvg-js') };
    useFontMetrics((modules.vega as unknown as { textMetrics: VegaTextMetrics }).textMetrics);
  }
  return modules;
}

/**
 * Without node-canvas, vega estimates every character at 0.8 em, about 1.5x
 * too wide: the view is sized for titles wider than they are, and each PNG
 * gets a wide blank margin on the right. Measure with the font resvg draws
 * with instead (vega supports a replaced `textMetrics.width`), keeping the
 * estimate for other fonts or when no known font file is installed.
 */
function useFontMetrics(metrics: VegaTextMetrics): void {
  if (metrics.width !== metrics.estimateWidth) return; // vega has a canvas: it measures itself
  const estimate = metrics.estimateWidth;
  metrics.width = (item, text) => {
    const line = text === null || text === undefined ? '' : String(text).trim();
    const size = item.fontSize !== null && item.fontSize !== undefined ? Number(item.fontSize) || 0 : 11;
    if (!line || size <= 0) return 0;
    if (item.font && !/sans-serif/i.test(item.font)) return estimate(item, text);
    const w = measureTextWidth(line, size, item.fontWeight);
    if (w === undefined) return estimate(item, text);
    // vega truncates text longer than `limit` (with an ellipsis) to at most that width.
    return item.limit && item.limit > 0 ? Math.min(w, item.limit) : w;
  };
}

function checkSpec(spec: unknown, who: string): asserts spec is VegaLiteSpec {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new TypeError(`${who}: expected a Vega-Lite spec object (with data, mark/layer and encoding), got ${Array.isArray(spec) ? 'an array' : typeof spec}`);
  }
}

/** Compile a Vega-Lite spec to SVG (vega, renderer 'none') and PNG (resvg). */
export async function renderSpec(spec: VegaLiteSpec | object, options: RenderOptions = {}): Promise<RenderedFigure> {
  checkSpec(spec, 'renderSpec');
  const scale = options.scale ?? 2;
  if (!(scale > 0 && Number.isFinite(scale))) throw new RangeError(`renderSpec: scale must be a finite number > 0, got ${scale}`);
  const { vega, vl, resvg } = load();
  let compiled: ReturnType<VegaLiteModule['compile']>;
  try {
    // Compile a JSON copy: vega tags the data objects it ingests (Symbol ids), and the
    // spec is shown and saved as JSON anyway (NaN and undefined become null / absent).
    compiled = vl.compile(JSON.parse(JSON.stringify(spec)) as VegaLiteSpec);
  } catch (e) {
    throw new Error(`renderSpec: the Vega-Lite spec does not compile: ${(e as Error).message}`);
  }
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const m = /^<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
  const width = m ? Number(m[1]) : NaN;
  const height = m ? Number(m[2]) : NaN;
  const family = preferredSans();
  const png = new resvg.Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: options.background ?? 'white',
    font: { loadSystemFonts: true, ...(family ? { sansSerifFamily: family, defaultFontFamily: family } : {}) },
    logLevel: 'off',
  })
    .render()
    .asPng();
  return { svg, png, width, height };
}


function checkName(name: string, who: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new Error(`${who}: name must be a plain file name without extension (letters, digits, '.', '_', '-'), got ${JSON.stringify(name)}`);
  }
}

export interface SavedFigure {
  svg: string;
  png: string;
  /** The Vega-Lite spec as JSON (open it in the Vega editor). */
  spec: string;
}

/**
 * Render `spec` and write `<dir>/<name>.svg`, `.png` and `.vl.json`, each
 * atomically. Returns the paths. `dir` is relative to the working directory
 * (a notebook's is notebooks/, so notebooks pass '../figures').
 */
export async function saveFigure(name: string, spec: VegaLiteSpec | object, dir = 'figures', options: RenderOptions = {}): Promise<SavedFigure> {
  checkName(name, 'saveFigure');
  const fig = await renderSpec(spec, options);
  const out = { svg: path.join(dir, `${name}.svg`), png: path.join(dir, `${name}.png`), spec: path.join(dir, `${name}.vl.json`) };
  writeFileAtomic(out.svg, fig.svg);
  writeFileAtomic(out.png, fig.png);
  writeFileAtomic(out.spec, JSON.stringify(spec, null, 1) + '\n');
  return out;
}

/** The display functions of tslab, when running inside a tslab kernel. */
interface TslabHooks {
  display: { png(b: Uint8Array): void; html(s: string): void; text(s: string): void };
  /** tslab's internal writer of a display_data message: lets one output carry several MIME types. */
  writeBundle?: (content: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void;
}

function tslab(who: string): TslabHooks {
  let pub: TslabHooks['display'] | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    pub = (require('tslab') as { display: TslabHooks['display'] }).display;
  } catch {
    throw new Error(`${who}: displays only inside a Jupyter notebook running the tslab kernel; outside notebooks use saveFigure/saveTable`);
  }
  let writeBundle: TslabHooks['writeBundle'];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const w = (require('tslab/dist/jupyter') as { lastWriteDisplayData?: unknown }).lastWriteDisplayData;
    if (typeof w === 'function') writeBundle = w as TslabHooks['writeBundle'];
  } catch {
    writeBundle = undefined;
  }
  return { display: pub, writeBundle };
}

/**
 * Show a chart in a notebook: ONE output carrying the Vega-Lite spec
 * (JupyterLab draws it natively, interactive), the PNG (nbconvert, GitHub
 * and other static viewers) and a text title. Falls back to the PNG alone
 * when tslab's multi-MIME writer is unavailable. Returns the rendering.
 */
export async function showSpec(spec: VegaLiteSpec | object, options: RenderOptions = {}): Promise<RenderedFigure> {
  const fig = await renderSpec(spec, options);
  const t = tslab('showSpec');
  const title = (spec as { title?: unknown }).title;
  const text = typeof title === 'string' ? title : title && typeof title === 'object' && 'text' in title ? String((title as { text: unknown }).text) : 'chart';
  if (t.writeBundle) {
    t.writeBundle(
      {
        data: {
          'application/vnd.vegalite.v5+json': spec,
          'image/png': fig.png.toString('base64'),
          'text/plain': `<Vega-Lite chart: ${text}>`,
        },
        // Show the PNG at its CSS size (it is rendered at `scale`x for sharpness).
        metadata: Number.isFinite(fig.width) ? { 'image/png': { width: fig.width, height: fig.height } } : {},
        transient: {},
      },
      false,
    );
  } else {
    t.display.png(fig.png);
  }
  return fig;
}

/* ------------------------------------------------------------------ tables */

/** A table: an array of row objects, or a danfo.js DataFrame (anything with `columns` and `values`). */
export type TableLike = ReadonlyArray<Record<string, unknown>> | { columns: string[]; values: unknown[][] | unknown[] };

/** Columns and rows of a table, whichever form it was given in. */
export function tableRows(table: TableLike): { columns: string[]; rows: unknown[][] } {
  if (Array.isArray(table)) {
    const rowsIn = table as ReadonlyArray<Record<string, unknown>>;
    const columns: string[] = [];
    const seen = new Set<string>();
    for (const r of rowsIn) {
      if (r === null || typeof r !== 'object') throw new TypeError(`table: every row must be an object, got ${r === null ? 'null' : typeof r}`);
      for (const k of Object.keys(r)) if (!seen.has(k)) (seen.add(k), columns.push(k));
    }
    return { columns, rows: rowsIn.map((r) => columns.map((c) => r[c])) };
  }
  const df = table as { columns?: unknown; values?: unknown };
  if (Array.isArray(df.columns) && Array.isArray(df.values)) {
    const columns = df.columns.map(String);
    // A danfo Series-like (1-D values) becomes one column.
    const rows = (df.values as unknown[]).map((v) => (Array.isArray(v) ? v : [v]));
    return { columns, rows };
  }
  throw new TypeError('table: expected an array of row objects or a DataFrame (an object with `columns` and `values`)');
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** RFC 4180 CSV: fields with a comma, quote or line break are quoted, quotes doubled. Numbers keep full precision. */
export function toCsv(table: TableLike): string {
  const { columns, rows } = tableRows(table);
  const field = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [columns.map(field).join(','), ...rows.map((r) => r.map((v) => field(cellText(v))).join(','))];
  return lines.join('\n') + '\n';
}

/**
 * Parse RFC 4180 CSV (as written by toCsv) into row objects. Values that read
 * back exactly as numbers become numbers; empty fields become null.
 */
export function parseCsv(text: string): Record<string, string | number | null>[] {
  const records: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endField = () => (row.push(field), (field = ''));
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') (field += '"'), (i += 2);
        else (quoted = false), i++;
      } else (field += c), i++;
    } else if (c === '"' && field === '') (quoted = true), i++;
    else if (c === ',') endField(), i++;
    else if (c === '\n' || c === '\r') {
      endField();
      records.push(row);
      row = [];
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else (field += c), i++;
  }
  if (quoted) throw new Error('parseCsv: unterminated quoted field');
  if (field !== '' || row.length) (endField(), records.push(row));
  if (!records.length) return [];
  const [head, ...body] = records;
  return body.map((r, k) => {
    if (r.length !== head.length) throw new Error(`parseCsv: row ${k + 2} has ${r.length} fields, the header has ${head.length}`);
    const o: Record<string, string | number | null> = {};
    head.forEach((h, j) => {
      const s = r[j];
      const num = s.trim() === '' ? NaN : Number(s);
      o[h] = s === '' ? null : s === 'NaN' ? NaN : Number.isFinite(num) || /^-?Infinity$/.test(s) ? num : s;
    });
    return o;
  });
}

/** Write a table to `<dir>/<name>.csv` atomically; returns the path. */
export function saveTable(name: string, table: TableLike, dir = 'tables'): string {
  checkName(name, 'saveTable');
  const file = path.join(dir, `${name}.csv`);
  writeFileAtomic(file, toCsv(table));
  return file;
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface TableFormat {
  /** Significant digits of non-integer numbers. Default 4. */
  digits?: number;
  /** Optional caption above the table. */
  caption?: string;
}

function formatCell(v: unknown, digits: number): string {
  if (typeof v === 'number' && Number.isFinite(v) && !Number.isInteger(v)) {
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(digits - 1) : String(Number(v.toPrecision(digits)));
  }
  return cellText(v);
}

/** An HTML table of a table (numbers rounded for reading; the CSV keeps full precision). */
export function tableHtml(table: TableLike, format: TableFormat = {}): string {
  const { columns, rows } = tableRows(table);
  const digits = format.digits ?? 4;
  const right = (v: unknown) => (typeof v === 'number' ? ' style="text-align:right"' : '');
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((v) => `<td${right(v)}>${escapeHtml(formatCell(v, digits))}</td>`).join('')}</tr>`).join('\n');
  const caption = format.caption ? `<caption>${escapeHtml(format.caption)}</caption>` : '';
  return `<table>${caption}\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** A plain-text table (fixed-width columns), e.g. for logs and the CLI. */
export function tableText(table: TableLike, format: TableFormat = {}): string {
  const { columns, rows } = tableRows(table);
  const digits = format.digits ?? 4;
  const cells = [columns, ...rows.map((r) => r.map((v) => formatCell(v, digits)))];
  const widths = columns.map((_, j) => Math.max(...cells.map((r) => (r[j] ?? '').length)));
  return cells.map((r) => r.map((c, j) => (c ?? '').padStart(widths[j])).join('  ')).join('\n');
}

/** Show a table in a notebook (HTML, with a plain-text fallback in the same output). */
export function showTable(table: TableLike, format: TableFormat = {}): void {
  const t = tslab('showTable');
  const html = tableHtml(table, format);
  if (t.writeBundle) {
    t.writeBundle({ data: { 'text/html': html, 'text/plain': tableText(table, format) }, metadata: {}, transient: {} }, false);
  } else {
    t.display.html(html);
  }
}
