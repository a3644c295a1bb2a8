/**
 * The base classifier f_R(f_L(x) + delta) of each run, the thing randomized
 * smoothing smooths: its held-out accuracy under noise at the epoch that was
 * certified (the training log's best epoch), and the local bound L(x) that
 * certification found.
 *
 * Why this view: SPLITZ certifies R_fR / L(x), and R_fR = sigma Phi^-1(pA),
 * so its radius is what RS would certify at noise sigma / L with the same pA.
 * SPLITZ beats RS at sigma / L exactly where its base classifier is more
 * accurate under noise than RS's there; `sigma_over_L` puts each run on that
 * scale. Held-out accuracy uses one fixed noise draw per held-out image, so
 * it estimates the mean pA, not a certified number.
 */
import { readCertifyLog } from '../eval/log';
import { median } from '../eval/metrics';
import { readJsonLines } from '../io/jsonl';
import { RunSummary } from './tables';

export interface BaseClassifierRow {
  config: string;
  scale: string;
  method: 'RS' | 'SPLITZ';
  sigma: number;
  /** 1-based epoch of the certified checkpoint, and the epochs trained. */
  best_epoch: number;
  epochs: number;
  /** Held-out accuracy of f_R(f_L(x) + delta) (one draw per image) and of f_R(f_L(x)), at the best epoch. */
  holdout_noisy_acc: number;
  holdout_clean_acc: number | null;
  /** Mean L(x, gamma_train) over the training images of the best epoch (power iteration); 1 for RS. */
  mean_L_train: number;
  /** Median L(x) over the images certification did not abstain on (the log's `lipschitz` column, its bound); 1 for RS. */
  median_L_certified: number | null;
  /** sigma / median_L_certified: the RS noise level with the same radius for the same pA. */
  sigma_over_L: number | null;
}

/** One row per run that has a training log with a best epoch; runs without one are left out. */
export function baseClassifierRows(runs: readonly RunSummary[]): BaseClassifierRow[] {
  const rows: BaseClassifierRow[] = [];
  for (const r of runs) {
    if (!r.trainLog) continue;
    // The last line of each epoch (a resumed run may have re-run one).
    const byEpoch = new Map<number, Record<string, unknown>>();
    for (const l of readJsonLines(r.trainLog)) if (l.type === 'epoch') byEpoch.set(Number(l.epoch), l);
    const epochs = [...byEpoch.keys()].sort((a, b) => a - b).map((e) => byEpoch.get(e) as Record<string, unknown>);
    const best = [...epochs].reverse().find((e) => e.best === true);
    if (!best || typeof best.holdout_acc !== 'number') continue;
    const Ls =
      r.method === 'RS'
        ? [1]
        : readCertifyLog(r.certifyLog)
            .records.filter((x) => x.predict !== -1 && typeof x.lipschitz === 'number' && Number.isFinite(x.lipschitz))
            .map((x) => x.lipschitz as number);
    const L = median(Ls);
    rows.push({
      config: r.config,
      scale: r.scale,
      method: r.method,
      sigma: r.sigma,
      best_epoch: Number(best.epoch) + 1,
      epochs: epochs.length,
      holdout_noisy_acc: best.holdout_acc,
      holdout_clean_acc: typeof best.holdout_clean_acc === 'number' ? best.holdout_clean_acc : null,
      mean_L_train: r.method === 'RS' ? 1 : Number(best.mean_L),
      median_L_certified: L,
      sigma_over_L: L ? r.sigma / L : null,
    });
  }
  return rows.sort((a, b) => a.config.localeCompare(b.config) || a.scale.localeCompare(b.scale));
}
