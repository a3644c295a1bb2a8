/** The campaign status line of a run in its early-stopping extension (scripts/train-progress.ts). */
import { extensionState } from '../scripts/train-progress';

const plan = { epochs: 150, extra_epochs: 150, early_stopping_patience: 20 };

/** Epoch lines 0..last (0-based, as the training log counts), new bests at `bests`. */
function epochs(last: number, bests: number[]): Array<Record<string, unknown>> {
  return Array.from({ length: last + 1 }, (_, e) => ({ type: 'epoch', epoch: e, holdout_acc: 0.5 + e / 1000, best: bests.includes(e) }));
}

test('in the extension: the last new best plus the patience is the last epoch it trains', () => {
  expect(extensionState(epochs(165, [140, 150, 162]), plan)).toBe('; early-stopping extension: best held-out accuracy 0.6620 at epoch 162, stops after epoch 182 unless that improves');
});

test('never past the extension itself', () => {
  expect(extensionState(epochs(290, [289]), plan)).toMatch(/at epoch 289, stops after epoch 299 unless/);
});

test('stopped early: says so; in the main phase, or without an extension: nothing', () => {
  const lines = [...epochs(182, [162]), { type: 'early_stop', after_epoch: 182, best_epoch: 162, patience: 20 }];
  expect(extensionState(lines, plan)).toBe('; stopped early after epoch 182 (best held-out at epoch 162)');
  expect(extensionState(epochs(100, [90]), plan)).toBe('');
  expect(extensionState(epochs(20, [3]), { epochs: 12, extra_epochs: 0 })).toBe('');
  expect(extensionState(epochs(20, [3]), undefined)).toBe('');
});
