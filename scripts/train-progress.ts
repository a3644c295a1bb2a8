/** What `npm run campaign -- --status` says about a run's training, from its training log (pure functions, tested). */

/** The resolved config's training fields this reads. */
export interface TrainPlan {
  epochs?: number;
  extra_epochs?: number;
  early_stopping_patience?: number;
}

/** The training plan of a run: the resolved config in its training log's first (`run`) line. */
export function plannedTraining(lines: ReadonlyArray<Record<string, unknown>>): TrainPlan | undefined {
  return (lines.find((l) => l.type === 'run')?.resolved as { train?: TrainPlan } | undefined)?.train;
}

/**
 * Where a run in its early-stopping extension stands: the best held-out
 * accuracy so far and the last epoch it trains unless that improves (the
 * trainer stops once `early_stopping_patience` epochs pass without a new best;
 * epochs counted from 0, as the training log does).
 */
export function extensionState(lines: ReadonlyArray<Record<string, unknown>>, train: TrainPlan | undefined): string {
  const epochs = lines.filter((l) => l.type === 'epoch');
  if (!train?.epochs || !train.extra_epochs || train.early_stopping_patience === undefined || epochs.length <= train.epochs) return '';
  const stop = lines.find((l) => l.type === 'early_stop');
  if (stop) return `; stopped early after epoch ${String(stop.after_epoch)} (best held-out at epoch ${String(stop.best_epoch)})`;
  const best = [...epochs].reverse().find((e) => e.best === true);
  if (!best) return '';
  const bestEpoch = Number(best.epoch);
  const lastEpoch = Math.min(bestEpoch + train.early_stopping_patience, train.epochs + train.extra_epochs - 1);
  return `; early-stopping extension: best held-out accuracy ${Number(best.holdout_acc).toFixed(4)} at epoch ${bestEpoch}, stops after epoch ${lastEpoch} unless that improves`;
}
