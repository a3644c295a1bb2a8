/**
 * Per-image certification logs: tab-separated, one header line, one line per
 * image. Cohen et al.'s columns come first so their analysis scripts read our
 * files, and their files (certify.py output) load here:
 *
 *     idx  label  predict  radius  correct  time
 *
 * then SPLITZ's own, when present:
 *
 *     pA_lower  radius_fR  lipschitz  gamma  bound
 *
 * then any extra columns a run adds (e.g. radius_paper, lipschitz_paper,
 * gamma_paper when both `sound` and `paper` bounds are logged).
 * predict = -1 means abstain. `time` is written as Python's str(timedelta)
 * (H:MM:SS.ffffff), as Cohen does; plain seconds are accepted on reading.
 * Numbers are written in the shortest form that reads back exactly;
 * Infinity/NaN as inf/nan (Python's spelling).
 */
import * as fs from 'fs';
import type { CertifyResult } from '../smoothing/certify';

export const COHEN_COLUMNS = ['idx', 'label', 'predict', 'radius', 'correct', 'time'] as const;
export const SPLITZ_COLUMNS = ['pA_lower', 'radius_fR', 'lipschitz', 'gamma', 'bound'] as const;

/** One image's certification. Extra keys become extra columns (numbers or strings without tabs). */
export interface CertifyRecord {
  idx: number;
  label: number;
  /** Predicted class, -1 = abstain. */
  predict: number;
  radius: number;
  /** 1 when predict === label, else 0. */
  correct: number;
  /** Seconds spent on this image. */
  time: number;
  pA_lower?: number;
  radius_fR?: number;
  lipschitz?: number;
  gamma?: number;
  /** Which local bound produced lipschitz: 'sound', 'paper', or 'none' (plain RS). */
  bound?: string;
  [extra: string]: number | string | undefined;
}

export interface CertifyLog {
  path: string;
  columns: string[];
  records: CertifyRecord[];
}

/**
 * The log record of one certified image: Cohen's columns (correct = 1 when
 * the prediction is the label; an abstention is never correct), then
 * SPLITZ's, then `extra` (e.g. radius_paper, lipschitz_paper, gamma_paper).
 * `bound`: which local bound gave lipschitz ('sound', 'paper'; 'none' for plain RS).
 */
export function recordFromResult(
  idx: number,
  label: number,
  r: Pick<CertifyResult, 'predict' | 'radius' | 'time' | 'pA_lower' | 'radius_fR' | 'lipschitz' | 'gamma'>,
  bound: string,
  extra: Record<string, number | string> = {},
): CertifyRecord {
  return {
    idx,
    label,
    predict: r.predict,
    radius: r.radius,
    correct: r.predict !== -1 && r.predict === label ? 1 : 0,
    time: r.time,
    pA_lower: r.pA_lower,
    radius_fR: r.radius_fR,
    lipschitz: r.lipschitz,
    gamma: r.gamma,
    bound,
    ...extra,
  };
}

/** A malformed log: names the file and line. */
export class LogFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogFormatError';
  }
}

/** Python's str(datetime.timedelta(seconds=s)): "0:00:01.234567", "1 day, 2:03:04", "2 days, ...". */
export function formatTimedelta(seconds: number): string {
  if (!(seconds >= 0 && Number.isFinite(seconds))) throw new RangeError(`formatTimedelta: seconds must be finite and >= 0, got ${seconds}`);
  const totalUs = Math.round(seconds * 1e6);
  const us = totalUs % 1000000;
  let s = Math.floor(totalUs / 1000000);
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (v: number, w = 2) => String(v).padStart(w, '0');
  let out = `${h}:${pad(m)}:${pad(sec)}`;
  if (us) out += `.${pad(us, 6)}`;
  if (days) out = `${days} day${days === 1 ? '' : 's'}, ${out}`;
  return out;
}

/** Seconds from Python's timedelta string (H:MM:SS[.ffffff], with an optional "N day(s), " prefix) or from plain seconds. */
export function parseTime(text: string): number {
  const t = text.trim();
  const m = /^(?:(-?\d+) days?, )?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(t);
  if (m) return (m[1] ? Number(m[1]) * 86400 : 0) + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
  const v = parseNumber(t);
  if (Number.isNaN(v) && !/^nan$/i.test(t)) throw new Error(`'${text}' is neither H:MM:SS.ffffff nor a number of seconds`);
  return v;
}

/** A number as Python/pandas writes it (inf, -inf, nan, 1e-05, ...). NaN when it is not one. */
function parseNumber(text: string): number {
  const t = text.trim();
  if (/^[+]?inf(inity)?$/i.test(t)) return Infinity;
  if (/^-inf(inity)?$/i.test(t)) return -Infinity;
  if (/^nan$/i.test(t)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return NaN;
  return Number(t);
}

function formatValue(v: number | string): string {
  if (typeof v === 'string') return v;
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return String(v);
}

/** Header columns for a record: Cohen's, then SPLITZ's present in it, then its other keys in order. */
export function columnsFor(rec: CertifyRecord): string[] {
  const known = new Set<string>([...COHEN_COLUMNS, ...SPLITZ_COLUMNS]);
  const splitz = SPLITZ_COLUMNS.filter((c) => rec[c] !== undefined);
  const extra = Object.keys(rec).filter((k) => !known.has(k) && rec[k] !== undefined);
  return [...COHEN_COLUMNS, ...splitz, ...extra];
}

function formatLine(rec: CertifyRecord, columns: string[], path: string): string {
  return columns
    .map((c) => {
      const v = rec[c];
      if (v === undefined) throw new LogFormatError(`${path}: the record for idx ${rec.idx} has no value for column '${c}' of the log's header`);
      if (c === 'time') return formatTimedelta(v as number);
      const s = formatValue(v);
      if (/[\t\n\r]/.test(s)) throw new LogFormatError(`${path}: value of '${c}' contains a tab or newline: ${JSON.stringify(s)}`);
      return s;
    })
    .join('\t');
}

function readHeader(path: string): string[] | undefined {
  const text = fs.readFileSync(path, 'utf8');
  const first = text.split(/\r?\n/, 1)[0];
  return first === '' ? undefined : first.split('\t');
}

/**
 * Append one record to a TSV log. A missing (or empty) file is created with
 * the header; an existing one (a resumed run) must have the same header,
 * otherwise this throws rather than mixing two layouts in one file.
 * Columns: `options.columns`, or Cohen's + SPLITZ's present + extra keys.
 */
export function appendRecord(path: string, rec: CertifyRecord, options: { columns?: string[] } = {}): void {
  const columns = options.columns ?? columnsFor(rec);
  for (const c of COHEN_COLUMNS) {
    if (!columns.includes(c)) throw new LogFormatError(`appendRecord: column '${c}' is required (Cohen's columns come first: ${COHEN_COLUMNS.join(', ')})`);
  }
  COHEN_COLUMNS.forEach((c, i) => {
    if (columns[i] !== c) throw new LogFormatError(`appendRecord: Cohen's columns must come first, in order ${COHEN_COLUMNS.join(', ')}; got ${columns.join(', ')}`);
  });
  const exists = fs.existsSync(path) && fs.statSync(path).size > 0;
  if (exists) {
    const header = readHeader(path);
    if (!header || header.join('\t') !== columns.join('\t')) {
      throw new LogFormatError(
        `${path}: cannot append, its header (${(header ?? []).join(', ')}) differs from this record's columns (${columns.join(', ')}); write to a new file or resume with the same settings`,
      );
    }
    const text = fs.readFileSync(path, 'utf8');
    const sep = text.endsWith('\n') ? '' : '\n';
    fs.appendFileSync(path, sep + formatLine(rec, columns, path) + '\n');
  } else {
    fs.writeFileSync(path, columns.join('\t') + '\n' + formatLine(rec, columns, path) + '\n');
  }
}

const INT_COLUMNS = new Set(['idx', 'label', 'predict', 'correct']);

/** Parse TSV text (ours or Cohen's). `name` is used in error messages. */
export function parseCertifyLog(text: string, name = '<log>'): CertifyLog {
  const lines = text.split(/\r?\n/);
  if (lines.length === 0 || lines[0].trim() === '') throw new LogFormatError(`${name}:1: empty file, expected a header line (${COHEN_COLUMNS.join('\\t')})`);
  const columns = lines[0].split('\t').map((c) => c.trim());
  const missing = COHEN_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length) {
    throw new LogFormatError(`${name}:1: header lacks column(s) ${missing.join(', ')}; a certification log has tab-separated columns ${COHEN_COLUMNS.join(', ')} first`);
  }
  const records: CertifyRecord[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    const lineNo = i + 1;
    const fields = line.split('\t');
    if (fields.length !== columns.length) {
      throw new LogFormatError(`${name}:${lineNo}: ${fields.length} tab-separated fields, the header has ${columns.length}`);
    }
    const rec: Record<string, number | string> = {};
    columns.forEach((c, j) => {
      const f = fields[j].trim();
      if (c === 'time') {
        try {
          rec.time = parseTime(f);
        } catch (e) {
          throw new LogFormatError(`${name}:${lineNo}: column 'time': ${(e as Error).message}`);
        }
        return;
      }
      if (c === 'bound') {
        rec[c] = f;
        return;
      }
      // Cohen's pandas-era files may write correct as True/False.
      const v = c === 'correct' && /^(true|false)$/i.test(f) ? (/^true$/i.test(f) ? 1 : 0) : parseNumber(f);
      if (INT_COLUMNS.has(c)) {
        if (!Number.isInteger(v)) throw new LogFormatError(`${name}:${lineNo}: column '${c}' must be an integer, got '${f}'`);
        if (c === 'correct' && v !== 0 && v !== 1) throw new LogFormatError(`${name}:${lineNo}: column 'correct' must be 0 or 1, got '${f}'`);
        rec[c] = v;
        return;
      }
      if (c === 'radius') {
        if (!(v >= 0)) throw new LogFormatError(`${name}:${lineNo}: column 'radius' must be a number >= 0, got '${f}'`);
        rec[c] = v;
        return;
      }
      // SPLITZ numeric columns must parse; extra columns may be text.
      if ((SPLITZ_COLUMNS as readonly string[]).includes(c) && Number.isNaN(v) && !/^nan$/i.test(f)) {
        throw new LogFormatError(`${name}:${lineNo}: column '${c}' must be a number, got '${f}'`);
      }
      rec[c] = Number.isNaN(v) && !/^nan$/i.test(f) ? f : v;
    });
    records.push(rec as unknown as CertifyRecord);
  }
  return { path: name, columns, records };
}

/**
 * Length of the complete lines of a log's text: every record is appended with
 * its newline in one write, so text after the last newline is a record cut
 * short by a kill mid-append.
 */
export function completeLinesLength(text: string | Buffer): number {
  const nl = typeof text === 'string' ? text.lastIndexOf('\n') : text.lastIndexOf(0x0a);
  return nl + 1;
}

export interface ReadCertifyLogOptions {
  /**
   * 'drop': ignore a last line without its newline (a log being written, or
   * one a kill cut short: the runner drops that line before it resumes).
   * 'parse' (default): parse it like any other line, so a cut record is an error.
   */
  partialLastLine?: 'parse' | 'drop';
}

/** Read a certification log (ours, or Cohen's certify.py output). */
export function readCertifyLog(path: string, options: ReadCertifyLogOptions = {}): CertifyLog {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LogFormatError(`${path}: cannot read the log (${code ?? (e as Error).message})`);
  }
  // The header has no newline yet only in a file just created: keep it, it holds no record.
  if (options.partialLastLine === 'drop' && text.includes('\n')) text = text.slice(0, completeLinesLength(text));
  return parseCertifyLog(text, path);
}
