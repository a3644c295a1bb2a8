/**
 * End to end on the wasm backend with the splitz training kernels: LeNet
 * (ReLU_theta after the first conv, as SPLITZ uses it) trained for a few
 * hundred Adam steps on real MNIST must reach >= 95% on the full 10k test set.
 * Without Conv2DBackpropFilter on wasm this cannot even start; with wrong
 * conv / pooling gradients it stays far below 95%.
 */
import { initBackend, tf } from '../lib/backend';
import { loadMnist } from '../lib/data/mnist';
import { lenet } from '../lib/models/lenet';
import { accuracy, trainBasic } from '../lib/train/basic';

const STEPS = 300;
const BATCH = 64;

test(`LeNet on wasm: ${STEPS} Adam steps (batch ${BATCH}) reach >= 95% on the MNIST test set`, async () => {
  await initBackend({ force: 'wasm' });
  expect(tf.getBackend()).toBe('wasm');
  const train = loadMnist('train');
  const test = loadMnist('test');
  expect(train.n).toBe(60000);
  expect(test.n).toBe(10000);

  const model = lenet({ splitAfter: 1, theta: 1, seed: 7 });
  const t0 = Date.now();
  const losses = trainBasic(model, train, { steps: STEPS, batchSize: BATCH, learningRate: 1e-3, seed: 1 });
  const trainSeconds = (Date.now() - t0) / 1000;
  const acc = accuracy(model, test);
  // eslint-disable-next-line no-console
  console.log(`LeNet/MNIST on wasm: ${STEPS} steps x ${BATCH} in ${trainSeconds.toFixed(1)} s (${((STEPS * BATCH) / trainSeconds).toFixed(0)} samples/s), loss ${losses[0].toFixed(3)} -> ${losses[losses.length - 1].toFixed(3)}, test accuracy ${(acc * 100).toFixed(2)}%`);
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(acc).toBeGreaterThanOrEqual(0.95);
  model.dispose();
}, 240_000);
