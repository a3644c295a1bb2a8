/**
 * The paper's numbers (data/literature/*.csv): the "paper" columns of our
 * tables and the paper's markers in our figures. They are read here and only
 * here, and never feed a result of ours (data/literature/README.md).
 *
 * Column names are kept as in the CSVs (snake_case), so rows go straight
 * into DataFrames and Vega-Lite specs.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseCsv } from './render';

/** data/literature/ of this package (works from lib/ under ts-node and from dist/). */
export const LITERATURE_DIR = path.resolve(__dirname, '..', '..', 'data', 'literature');

export type Dataset = 'mnist' | 'cifar10';

/** One cell of Tables I, II, V, VI, VII: certified accuracy (percent) of a method/setting at radius eps. */
export interface AccuracyRow {
  table: 'I' | 'II' | 'V' | 'VI' | 'VII';
  dataset: Dataset;
  method: string;
  /** Reference number as printed, e.g. "[7]"; '' for SPLITZ. */
  ref: string;
  extra_data: boolean;
  /** Noise level when the table states it; null when the paper gives the best over sigma. */
  sigma: number | null;
  /** The ablated setting (Tables V-VII), else null. */
  param: 'split' | 'theta_lip' | 'gamma_train' | null;
  param_value: number | null;
  /** l2 radius, pixels in [0, 1]. */
  eps: number;
  /** Percent, as printed; null where the paper prints '-'. */
  certified_accuracy: number | null;
  source: string;
  note: string;
}

/** One cell of Table III: average certified radius. */
export interface AcrRow {
  table: 'III';
  dataset: Dataset;
  method: string;
  ref: string;
  sigma: number;
  /** l2 radius, pixels in [0, 1]. */
  acr: number;
  /** Marked '*' in the table: "reported by [12], [22]". */
  starred: boolean;
  source: string;
  note: string;
}

/** One row of Table IV. */
export interface TimeRow {
  table: 'IV';
  dataset: Dataset;
  architecture: string;
  gpus: number;
  hardware: string;
  train_seconds_per_epoch: number;
  certify_seconds_per_image: number;
  source: string;
  note: string;
}

/** A number the text gives for a figure. */
export interface FigPointRow {
  figure: string;
  panel: string;
  dataset: Dataset;
  method: string;
  sigma: number | null;
  eps: number;
  /** Percent. */
  certified_accuracy: number;
  source: string;
  quote: string;
  note: string;
}

/** A number the prose cites, with its line in splitz-paper.txt. */
export interface TextNumberRow {
  line: number;
  where: string;
  quote: string;
  table: string;
  dataset: Dataset;
  method: string;
  sigma: number | null;
  eps: number | null;
  value: number;
  unit: string;
  agrees_with_table: boolean;
  note: string;
}

export interface LiteratureRows {
  I: AccuracyRow[];
  II: AccuracyRow[];
  III: AcrRow[];
  IV: TimeRow[];
  V: AccuracyRow[];
  VI: AccuracyRow[];
  VII: AccuracyRow[];
  fig: FigPointRow[];
  text: TextNumberRow[];
}

export type LiteratureTable = keyof LiteratureRows;

/** The file of each table in data/literature/. */
export const LITERATURE_FILES: Record<LiteratureTable, string> = {
  I: 'table_I_mnist.csv',
  II: 'table_II_cifar10.csv',
  III: 'table_III_acr.csv',
  IV: 'table_IV_time.csv',
  V: 'table_V_split.csv',
  VI: 'table_VI_theta_lip.csv',
  VII: 'table_VII_gamma_train.csv',
  fig: 'fig_points.csv',
  text: 'text_numbers.csv',
};

type Kind = 'string' | 'number' | 'number?' | 'boolean' | 'dataset';

const ACCURACY_COLUMNS: Record<string, Kind> = {
  table: 'string',
  dataset: 'dataset',
  method: 'string',
  ref: 'string',
  extra_data: 'boolean',
  sigma: 'number?',
  param: 'string',
  param_value: 'number?',
  eps: 'number',
  certified_accuracy: 'number?',
  source: 'string',
  note: 'string',
};

const COLUMNS: Record<LiteratureTable, Record<string, Kind>> = {
  I: ACCURACY_COLUMNS,
  II: ACCURACY_COLUMNS,
  V: ACCURACY_COLUMNS,
  VI: ACCURACY_COLUMNS,
  VII: ACCURACY_COLUMNS,
  III: { table: 'string', dataset: 'dataset', method: 'string', ref: 'string', sigma: 'number', acr: 'number', starred: 'boolean', source: 'string', note: 'string' },
  IV: {
    table: 'string',
    dataset: 'dataset',
    architecture: 'string',
    gpus: 'number',
    hardware: 'string',
    train_seconds_per_epoch: 'number',
    certify_seconds_per_image: 'number',
    source: 'string',
    note: 'string',
  },
  fig: {
    figure: 'string',
    panel: 'string',
    dataset: 'dataset',
    method: 'string',
    sigma: 'number?',
    eps: 'number',
    certified_accuracy: 'number',
    source: 'string',
    quote: 'string',
    note: 'string',
  },
  text: {
    line: 'number',
    where: 'string',
    quote: 'string',
    table: 'string',
    dataset: 'dataset',
    method: 'string',
    sigma: 'number?',
    eps: 'number?',
    value: 'number',
    unit: 'string',
    agrees_with_table: 'boolean',
    note: 'string',
  },
};

/** A malformed literature file: names the file, row and column. */
export class LiteratureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LiteratureError';
  }
}

function convert(v: string | number | null, kind: Kind, where: string): unknown {
  switch (kind) {
    case 'string':
      // parseCsv reads "1" as a number; text columns keep their text ('' when empty).
      return v === null ? '' : String(v);
    case 'dataset':
      if (v !== 'mnist' && v !== 'cifar10') throw new LiteratureError(`${where}: dataset must be 'mnist' or 'cifar10', got ${JSON.stringify(v)}`);
      return v;
    case 'boolean':
      if (v !== 'true' && v !== 'false') throw new LiteratureError(`${where}: expected true or false, got ${JSON.stringify(v)}`);
      return v === 'true';
    case 'number':
    case 'number?':
      if (v === null && kind === 'number?') return null;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new LiteratureError(`${where}: expected a number, got ${JSON.stringify(v)}`);
      return v;
  }
}

const cache = new Map<string, unknown[]>();

/**
 * The rows of one of the paper's tables (or `fig` / `text`), typed and
 * checked: every column present, numbers numeric, no unknown columns.
 * `dir` defaults to this package's data/literature/.
 */
export function loadLiterature<T extends LiteratureTable>(table: T, options: { dir?: string } = {}): LiteratureRows[T] {
  if (!(table in LITERATURE_FILES)) {
    throw new LiteratureError(`loadLiterature: unknown table '${String(table)}'; use one of ${Object.keys(LITERATURE_FILES).join(', ')}`);
  }
  const file = path.join(options.dir ?? LITERATURE_DIR, LITERATURE_FILES[table]);
  const hit = cache.get(file);
  if (hit) return hit.map((r) => ({ ...(r as object) })) as LiteratureRows[T];
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new LiteratureError(`loadLiterature: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the literature CSVs live in data/literature/ of the splitz package`);
  }
  const spec = COLUMNS[table];
  const header = text.split(/\r?\n/, 1)[0].split(',');
  const missing = Object.keys(spec).filter((c) => !header.includes(c));
  const unknown = header.filter((c) => !(c in spec));
  if (missing.length || unknown.length) {
    throw new LiteratureError(`${file}: header ${missing.length ? `lacks ${missing.join(', ')}` : ''}${missing.length && unknown.length ? ' and ' : ''}${unknown.length ? `has unknown column(s) ${unknown.join(', ')}` : ''}; expected ${Object.keys(spec).join(', ')}`);
  }
  const raw = parseCsv(text);
  if (raw.length === 0) throw new LiteratureError(`${file}: no rows`);
  const rows = raw.map((r, i) => {
    const out: Record<string, unknown> = {};
    for (const [c, kind] of Object.entries(spec)) out[c] = convert(r[c], kind, `${file}:${i + 2}, column '${c}'`);
    if ('param' in spec) out.param = out.param === '' ? null : out.param;
    if (typeof out.source === 'string' && out.source.trim() === '') throw new LiteratureError(`${file}:${i + 2}: empty source; every row says where its number comes from`);
    return out;
  });
  cache.set(file, rows);
  return rows.map((r) => ({ ...r })) as unknown as LiteratureRows[T];
}

/**
 * The SPLITZ numbers of the paper as printed (certified accuracies in % of
 * Tables I, II, V-VII, ACRs of Table III, the Fig. 3 caption), as text
 * tokens. A results file of ours that contains one of them as a whole token
 * is suspect: our results must come from our runs (issue 6's check "grep the
 * literature CSVs' SPLITZ values out of data/results").
 */
export function splitzPaperTokens(options: { dir?: string } = {}): Set<string> {
  const out = new Set<string>();
  for (const t of ['I', 'II', 'V', 'VI', 'VII'] as const) {
    for (const r of loadLiterature(t, options)) if (r.method === 'SPLITZ' && r.certified_accuracy !== null) out.add(r.certified_accuracy.toFixed(1));
  }
  for (const r of loadLiterature('III', options)) if (r.method === 'SPLITZ') out.add(r.acr.toFixed(3));
  for (const r of loadLiterature('fig', options)) if (r.method === 'SPLITZ') out.add(r.certified_accuracy.toFixed(1));
  return out;
}

/** Files under `dir` (recursively) holding a SPLITZ number of the paper as a whole token, with the tokens found. */
export function findPaperNumbers(dir: string, options: { dir?: string } = {}): Array<{ file: string; tokens: string[] }> {
  const tokens = splitzPaperTokens(options);
  const hits: Array<{ file: string; tokens: string[] }> = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(csv|tsv|json|jsonl|txt|md)$/.test(e.name)) {
        // Whole tokens only: "40.5" matches "40.5" but not "140.52" or "0.405".
        const found = new Set((fs.readFileSync(p, 'utf8').match(/-?\d+(?:\.\d+)?/g) ?? []).filter((s) => tokens.has(s)));
        if (found.size) hits.push({ file: p, tokens: [...found].sort() });
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return hits;
}
