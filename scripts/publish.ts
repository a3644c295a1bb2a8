/**
 * Publishing a result folder (a campaign run in data/results, the Lipschitz
 * nets' checkpoints, a frozen engine): built beside its place and renamed in,
 * so the place never holds half a folder, and checkpoints copied only when
 * small enough to commit.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Checkpoints above this size are not committed; the provenance says how to regenerate them. */
export const MAX_CHECKPOINT_BYTES = 20 * 1024 * 1024;

/** Bytes of a file, or of every file below a folder. */
export function dirBytes(p: string): number {
  const st = fs.statSync(p);
  return st.isDirectory() ? fs.readdirSync(p).reduce((s, f) => s + dirBytes(path.join(p, f)), 0) : st.size;
}

/** Builds a folder with FILL beside TARGET, then renames it into place (replacing TARGET); returns what FILL returns. */
export function publishDir<T>(target: string, fill: (tmp: string) => T): T {
  const tmp = `${target}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const result = fill(tmp);
  fs.rmSync(target, { recursive: true, force: true });
  fs.renameSync(tmp, target);
  return result;
}
