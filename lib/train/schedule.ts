/**
 * The lambda and learning-rate schedules of a training config (METHOD.md,
 * "Training"), as functions of the run's epoch.
 *
 * The paper's schedules are defined over `schedule_epochs` (150 MNIST, 200
 * CIFAR-10): lambda falls linearly from start (first epoch) to end (last
 * epoch); the lr is multiplied by `gamma` at each milestone (MNIST) or held
 * until `from_fraction` of the schedule and then decays linearly to
 * `final_lr` at its last epoch (CIFAR-10).
 *
 * A run of `epochs` < schedule_epochs follows them in one of two ways
 * (`schedule_mode`), and every log line says which:
 *  - compress: run epoch e sits at schedule position t = e * (S - 1) / (E - 1),
 *    so the whole ramp and every lr drop happen within the run;
 *  - truncate: t = e, the paper's schedule cut off after E epochs.
 * The early-stopping extension (`extra_epochs`) runs at the schedule's final
 * values (t = S - 1), as the configs' notes say.
 */
import type { LrSchedule, TrainConfig } from '../config';

export interface SchedulePoint {
  /** Run epoch (0-based). */
  epoch: number;
  /** Position on the paper's schedule, in schedule epochs (0 .. schedule_epochs - 1). */
  t: number;
  /** 'main' for the first `epochs` epochs, 'extension' for the early-stopping search after them. */
  phase: 'main' | 'extension';
  lr: number;
  lambda: number;
}

/** Schedule position of run epoch e (see the module comment). */
export function schedulePosition(train: Pick<TrainConfig, 'epochs' | 'schedule_epochs' | 'schedule_mode'>, epoch: number): number {
  const S = train.schedule_epochs;
  const E = train.epochs;
  if (epoch >= E) return S - 1;
  if (train.schedule_mode === 'truncate') return epoch;
  return E === 1 ? 0 : (epoch * (S - 1)) / (E - 1);
}

/** Learning rate at schedule position t. */
export function lrAt(lr0: number, schedule: LrSchedule, t: number, scheduleEpochs: number): number {
  switch (schedule.kind) {
    case 'constant':
      return lr0;
    case 'step': {
      // PyTorch MultiStepLR: the lr drops when the epoch counter reaches a milestone.
      let lr = lr0;
      for (const m of schedule.milestones) if (t >= m) lr *= schedule.gamma;
      return lr;
    }
    case 'linear_decay': {
      const a = schedule.from_fraction * scheduleEpochs;
      const last = scheduleEpochs - 1;
      if (t <= a || last <= a) return t <= a ? lr0 : schedule.final_lr;
      const f = Math.min(1, (t - a) / (last - a));
      return lr0 + (schedule.final_lr - lr0) * f;
    }
  }
}

/** Lambda at schedule position t: linear from start (t = 0) to end (t = S - 1). */
export function lambdaAt(lambda: { start: number; end: number }, t: number, scheduleEpochs: number): number {
  const f = scheduleEpochs <= 1 ? 1 : Math.min(1, t / (scheduleEpochs - 1));
  return lambda.start + (lambda.end - lambda.start) * f;
}

/** lr and lambda of run epoch `epoch` (0-based; epochs >= train.epochs are the extension). */
export function scheduleAt(train: TrainConfig, epoch: number): SchedulePoint {
  const t = schedulePosition(train, epoch);
  return {
    epoch,
    t,
    phase: epoch < train.epochs ? 'main' : 'extension',
    lr: lrAt(train.lr, train.lr_schedule, t, train.schedule_epochs),
    lambda: lambdaAt(train.lambda, t, train.schedule_epochs),
  };
}
