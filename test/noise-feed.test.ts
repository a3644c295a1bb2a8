/**
 * TrainingNoiseFeed (lib/train/noise-feed.ts) hands out exactly
 * trainingNoise's draws, whether a worker computed them ahead, a guess was
 * wrong, buffers were reused, or there is no worker at all.
 */
import { TrainingNoiseFeed, batchSizeAt } from '../lib/train/noise-feed';
import { trainingNoise } from '../lib/train/noise';

const D = 37;
const sigma = 0.5;
const seed = 11;

function expectDraws(got: Float32Array, epoch: number, step: number, Q: number, B: number): void {
  const want = trainingNoise(seed, epoch, step, Q, B, D, sigma);
  expect(got.length).toBe(want.length);
  expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer))).toBe(true);
}

test('batchSizeAt: full batches, then the rest, then nothing (as lib/data batches without dropLast)', () => {
  expect([0, 1, 2, 3].map((s) => batchSizeAt(10, 4, s))).toEqual([4, 4, 2, undefined]);
  expect(batchSizeAt(8, 4, 2)).toBeUndefined();
});

test.each([true, false])('the feed gives trainingNoise exactly (worker %s): prefetched, wrong guesses, a new epoch, reused buffers', async (worker) => {
  const Q = 2;
  const feed = new TrainingNoiseFeed(seed, Q, D, sigma, { worker });
  try {
    // An epoch of 3 steps over 10 images in batches of 4, then the next epoch.
    const plan = [
      { key: { epoch: 0, step: 0, B: 4 }, next: { epoch: 0, step: 1, B: 4 } },
      { key: { epoch: 0, step: 1, B: 4 }, next: { epoch: 0, step: 2, B: 4 } }, // the guess for step 2 is wrong (B = 2)
      { key: { epoch: 0, step: 2, B: 2 }, next: { epoch: 1, step: 0, B: 4 } },
      { key: { epoch: 1, step: 0, B: 4 }, next: { epoch: 1, step: 1, B: 4 } },
      { key: { epoch: 1, step: 1, B: 4 }, next: undefined },
    ];
    for (const { key, next } of plan) {
      const noise = await feed.take(key, next);
      expectDraws(noise, key.epoch, key.step, Q, key.B);
      // Overwrite the buffer before giving it back: a reused buffer must be filled anew.
      noise.fill(123);
      feed.recycle(noise);
      await feed.settled();
    }
    if (worker) {
      expect(feed.threaded).toBe(true);
      // Steps 1 (or later, if the worker started slowly), epoch 1 step 0 and 1 came from the worker; step 2 of epoch 0 could not.
      expect(feed.counts.prefetched).toBeGreaterThanOrEqual(2);
    } else expect(feed.counts).toEqual({ prefetched: 0, inline: plan.length });
  } finally {
    await feed.close();
  }
  // Closed: computes on the calling thread.
  expectDraws(await feed.take({ epoch: 3, step: 5, B: 3 }), 3, 5, Q, 3);
}, 60000);
