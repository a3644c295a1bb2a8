/**
 * The names of the files a run directory holds, in one place: the runner
 * writes them, and the campaign, parking and the report read them back
 * (without loading tfjs, which this module does not import).
 */

/** The certification log of `splitz certify` at n samples (a shard's log names its shard). */
export function certifyLogName(n: number, shard?: { index: number; count: number }): string {
  return `certify-n${n}${shard ? `-shard${shard.index}of${shard.count}` : ''}.tsv`;
}

/** True for a whole run's certification log (not a shard's, not a sidecar). */
export function isCertifyLog(file: string): boolean {
  return /^certify-n\d+\.tsv$/.test(file);
}

/** True for a certification log's sidecar (settings, images, seeds, commands). */
export function isCertifySidecar(file: string): boolean {
  return /^certify-n\d+\.tsv\.json$/.test(file);
}

/** The per-sample power-iteration vectors after `epochsDone` epochs (SPLITZ training's warm start). */
export function warmFileName(epochsDone: number): string {
  return `warm-e${epochsDone}.bin`;
}

export function isWarmFile(file: string): boolean {
  return /^warm-e\d+\.bin$/.test(file);
}
