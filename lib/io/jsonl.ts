/**
 * JSON-lines logs as the runners append them (lib/runner/common appendLine):
 * one object a line, written durably, so a kill can leave at most a partial
 * LAST line. That line is dropped; an unreadable line anywhere else is damage
 * and raises the caller's error (so the CLI prints it as one line).
 * No tensors here: the campaign orchestrator and the report read logs without
 * loading TensorFlow.js.
 */
import * as fs from 'fs';

export function readJsonLines(file: string, damaged: (message: string) => Error = (m) => new Error(m)): Record<string, unknown>[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const out: Record<string, unknown>[] = [];
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    try {
      out.push(JSON.parse(l) as Record<string, unknown>);
    } catch (e) {
      if (i === lines.length - 1) return; // partial last line: a run killed mid-write
      throw damaged(`${file}:${i + 1}: not a JSON line (${(e as Error).message})`);
    }
  });
  return out;
}
