/**
 * `splitz merge LOG... --out MERGED`: joins certification logs (the shards of
 * one run) into one, sorted by idx. The lines are copied verbatim. Two logs
 * holding the same image are an error (which images, which files); images
 * missing from the union are reported as a warning: against the full
 * selection recorded in the shards' sidecar JSON when there is one, otherwise
 * against the arithmetic progression the indices follow.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ExperimentConfig, ImageSelection } from '../config';
import { parseCertifyLog } from '../eval/log';
import { RunnerError, writeFileAtomic } from './common';

export interface MergeResult {
  out: string;
  count: number;
  /** Images of the selection that no log holds. */
  missing: number[];
  /** Human-readable warnings (gaps). */
  warnings: string[];
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

interface SidecarLike {
  images?: { selection?: ImageSelection; total?: number };
  settings?: unknown;
  checkpoint?: { dir?: string };
  config?: { name?: string; scale?: ExperimentConfig['scale'] };
}

function readSidecar(log: string): SidecarLike | undefined {
  const f = `${log}.json`;
  if (!fs.existsSync(f)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(f, 'utf8')) as SidecarLike;
  } catch {
    return undefined;
  }
}

/** The full selection a shard's sidecar records (its `total` images), before sharding. */
function expectedFromSidecar(s: SidecarLike): number[] | undefined {
  const sel = s.images?.selection;
  const total = s.images?.total;
  if (sel === undefined || total === undefined) return undefined;
  if (sel !== 'all' && 'list' in sel) return sel.list.slice();
  if (sel !== 'all' && 'first' in sel) return Array.from({ length: sel.first }, (_, i) => i);
  const step = sel === 'all' ? 1 : sel.every;
  const offset = sel === 'all' ? 0 : (sel.offset ?? 0);
  return Array.from({ length: total }, (_, j) => offset + j * step);
}

export function mergeLogs(logs: string[], out: string): MergeResult {
  if (logs.length === 0) throw new RunnerError('merge: give the logs to merge (e.g. the shards of one certify run)');
  const target = path.resolve(out);
  let header: string | undefined;
  const lines = new Map<number, { line: string; file: string }>();
  const overlaps: string[] = [];
  for (const f of logs) {
    const file = path.resolve(f);
    if (file === target) throw new RunnerError(`merge: the output ${out} is also an input; write the merged log elsewhere`);
    if (!fs.existsSync(file)) throw new RunnerError(`merge: ${f} not found`);
    let text = fs.readFileSync(file, 'utf8');
    // A partial last line (a shard killed mid-write) is not a record.
    if (text.length && !text.endsWith('\n')) text = text.slice(0, text.lastIndexOf('\n') + 1);
    const parsed = parseCertifyLog(text, f);
    const raw = text.split(/\r?\n/);
    if (header === undefined) header = raw[0];
    else if (raw[0] !== header) throw new RunnerError(`merge: ${f} has columns ${raw[0].split('\t').join(', ')}, the first log ${header.split('\t').join(', ')}; only logs of the same run can be merged`);
    const body = raw.slice(1).filter((l) => l.trim() !== '');
    body.forEach((line, i) => {
      const idx = parsed.records[i].idx;
      const prev = lines.get(idx);
      if (prev) overlaps.push(`idx ${idx} in ${prev.file} and ${f}`);
      else lines.set(idx, { line, file: f });
    });
  }
  if (overlaps.length) {
    throw new RunnerError(`merge: ${overlaps.length} image(s) appear in more than one log (${overlaps.slice(0, 10).join('; ')}${overlaps.length > 10 ? '; ...' : ''}); shards of one run never overlap, so these logs do not belong together`);
  }
  const idxs = [...lines.keys()].sort((a, b) => a - b);
  // Gaps: the sidecar's selection, else the progression of the indices.
  const warnings: string[] = [];
  let expected: number[] | undefined;
  const sidecars = logs.map(readSidecar).filter((s): s is SidecarLike => s !== undefined);
  if (sidecars.length && idxs.length) expected = expectedFromSidecar(sidecars[0]);
  if (!expected && idxs.length > 1) {
    const step = idxs.slice(1).reduce((g, v, i) => gcd(g, v - idxs[i]), 0);
    expected = [];
    for (let v = idxs[0]; v <= idxs[idxs.length - 1]; v += step || 1) expected.push(v);
  }
  const have = new Set(idxs);
  const missing = (expected ?? []).filter((i) => !have.has(i));
  if (missing.length) {
    warnings.push(`${missing.length} image(s) of the selection are in none of the logs: idx ${missing.slice(0, 50).join(', ')}${missing.length > 50 ? ', ...' : ''} (a shard missing or unfinished? resume it with --resume)`);
  }
  writeFileAtomic(target, [header!, ...idxs.map((i) => lines.get(i)!.line)].join('\n') + '\n');
  if (sidecars.length) {
    writeFileAtomic(`${target}.json`, JSON.stringify({ ...sidecars[0], images: { ...sidecars[0].images, shard: null }, merged_from: logs.map((l) => path.resolve(l)), missing }, null, 2) + '\n');
  }
  return { out: target, count: idxs.length, missing, warnings };
}
