/**
 * SPLITZ training: schedules, the optimizer against a hand-written Adam, the
 * decomposition of the eq. 17 loss (lambda = 0 is pure cross-entropy; the L
 * term is mean max(theta_lip, L) with L from lib/lipschitz), gradients of the
 * L term, and a training run killed after an epoch and resumed that ends with
 * the same weights and log as an uninterrupted run.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend, tf } from '../lib/backend';
import { ExperimentConfig, loadConfig } from '../lib/config';
import { loadMnist } from '../lib/data/mnist';
import { lenet } from '../lib/models/lenet';
import { localLipschitz } from '../lib/lipschitz/local';
import { lambdaAt, lrAt, scheduleAt } from '../lib/train/schedule';
import { SplitzOptimizer } from '../lib/train/optim';
import { WarmStartStore, affineInputShapes, optimizerVariables, splitzLoss, trainNet, trainingNoise } from '../lib/train/splitz';
import { LAST_DIR, readTrainLog, runTraining, TRAIN_LOG } from '../lib/runner/train';
import { loadCheckpoint } from '../lib/io/checkpoint';
import { holdoutSplit } from '../lib/runner/common';

const CONFIG = path.join(__dirname, '..', 'configs', 'mnist-splitz-sigma0.75.json');

beforeAll(async () => {
  await initBackend();
});

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `splitz-${prefix}-`));
}

describe('schedules', () => {
  const paper = loadConfig(CONFIG).train;
  const reduced = loadConfig(CONFIG, { scale: 'reduced' }).train;

  test('paper MNIST: lr x0.1 at epochs 50 and 100, lambda 0.8 -> 0.4 over 150 epochs', () => {
    expect(scheduleAt(paper, 0)).toMatchObject({ lr: 0.001, lambda: 0.8, t: 0 });
    expect(scheduleAt(paper, 49).lr).toBeCloseTo(1e-3, 12);
    expect(scheduleAt(paper, 50).lr).toBeCloseTo(1e-4, 12);
    expect(scheduleAt(paper, 100).lr).toBeCloseTo(1e-5, 12);
    expect(scheduleAt(paper, 149).lambda).toBeCloseTo(0.4, 12);
    expect(scheduleAt(paper, 74.5).lambda).toBeCloseTo(0.6, 12);
  });

  test('compress squeezes both schedules into 12 epochs; truncate cuts them off', () => {
    const lrs = Array.from({ length: 12 }, (_, e) => scheduleAt(reduced, e).lr);
    // Milestones 50, 100 of 150 -> run epochs 50 * 11/149 = 3.7 and 7.4: the drops happen at epochs 4 and 8.
    expect(lrs.map((v) => Math.round(Math.log10(v)))).toEqual([-3, -3, -3, -3, -4, -4, -4, -4, -5, -5, -5, -5]);
    expect(scheduleAt(reduced, 0).lambda).toBeCloseTo(0.8, 12);
    expect(scheduleAt(reduced, 11).lambda).toBeCloseTo(0.4, 12);
    const trunc = { ...reduced, schedule_mode: 'truncate' as const };
    expect(scheduleAt(trunc, 11).lr).toBeCloseTo(1e-3, 12);
    expect(scheduleAt(trunc, 11).lambda).toBeCloseTo(0.8 - (0.4 * 11) / 149, 12);
    // The extension runs at the schedule's final values.
    expect(scheduleAt(reduced, 12)).toMatchObject({ phase: 'extension' });
    expect(scheduleAt(reduced, 12).lambda).toBeCloseTo(0.4, 12);
  });

  test('linear decay (CIFAR-10): constant to half, then linear to final_lr at the last epoch', () => {
    const s = { kind: 'linear_decay' as const, from_fraction: 0.5, final_lr: 1e-6 };
    expect(lrAt(1e-3, s, 100, 200)).toBeCloseTo(1e-3, 15);
    expect(lrAt(1e-3, s, 199, 200)).toBeCloseTo(1e-6, 15);
    expect(lrAt(1e-3, s, 149.5, 200)).toBeCloseTo((1e-3 + 1e-6) / 2, 12);
    expect(lambdaAt({ start: 0.7, end: 0.5 }, 199, 200)).toBeCloseTo(0.5, 12);
  });
});

describe('optimizer', () => {
  test('Adam matches PyTorch\'s update rule computed independently in float64', async () => {
    const w = tf.variable(tf.tensor1d([1, -2, 0.5]));
    const opt = new SplitzOptimizer([w], { kind: 'adam', lr: 0.1, weightDecay: 0.01 });
    // Reference: PyTorch Adam on f(w) = sum(w^3)/3 (grad w^2), weight decay added to the gradient.
    const ref = [1, -2, 0.5];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    for (let t = 1; t <= 3; t++) {
      const g = tf.tidy(() => tf.square(w));
      opt.applyGradients([g]);
      g.dispose();
      for (let i = 0; i < 3; i++) {
        const gi = ref[i] ** 2 + 0.01 * ref[i];
        m[i] = 0.9 * m[i] + 0.1 * gi;
        v[i] = 0.999 * v[i] + 0.001 * gi * gi;
        const denom = Math.sqrt(v[i]) / Math.sqrt(1 - 0.999 ** t) + 1e-8;
        ref[i] -= (0.1 / (1 - 0.9 ** t)) * (m[i] / denom);
      }
    }
    const got = Array.from(w.dataSync());
    got.forEach((x, i) => expect(x).toBeCloseTo(ref[i], 5));
    // State round trip: a restored optimizer continues exactly.
    const state = await opt.getWeights();
    const w2 = tf.variable(tf.clone(w));
    const opt2 = new SplitzOptimizer([w2], { kind: 'adam', lr: 0.1, weightDecay: 0.01 });
    await opt2.setWeights(state);
    const g1 = tf.square(w);
    const g2 = tf.square(w2);
    opt.applyGradients([g1]);
    opt2.applyGradients([g2]);
    expect(Array.from(w2.dataSync())).toEqual(Array.from(w.dataSync()));
    tf.dispose([w, w2, g1, g2]);
    opt.dispose();
    opt2.dispose();
  });
});

describe('the loss of eq. 17', () => {
  const B = 8;
  let x: tf.Tensor4D;
  let y: tf.Tensor1D;
  beforeAll(() => {
    const ds = loadMnist('test');
    x = tf.tensor4d(ds.images.slice(0, B * 784), [B, 28, 28, 1]);
    y = tf.tensor1d(Array.from(ds.labels.slice(0, B)), 'int32');
  });

  test('lambda = 0 is exactly the cross-entropy of f_R(f_L(x) + delta); the L term is mean max(theta_lip, L) of lib/lipschitz', () => {
    const model = lenet({ splitAfter: 1, seed: 3 });
    const net = trainNet(model, 1);
    const noise = tf.tensor(trainingNoise(7, 0, 0, 2, B, net.D, 0.5), [2 * B, ...net.splitShape]);
    const store = new WarmStartStore(affineInputShapes(net.split), B, 0);
    const idx = Array.from({ length: B }, (_, i) => i);
    const warm = store.gather(idx, idx);
    const p0 = splitzLoss(net, x, y, noise, { lambda: 0, thetaLip: 0.5, gammaTrain: 1, powerIterations: 5, warmStart: warm, Q: 2 });
    // Independent: logits of the whole model on the same split-space points, CE averaged over the 2B rows.
    const ce = tf.tidy(() => {
      const u = net.split.fL(x);
      const logits = net.split.fR(tf.add(tf.concat([u, u]), noise));
      const logp = tf.logSoftmax(logits);
      const yy = tf.concat([y, y]);
      return -tf.mean(tf.sum(tf.mul(logp, tf.oneHot(yy, 10)), 1)).dataSync()[0];
    });
    expect(p0.loss.dataSync()[0]).toBe(p0.ce.dataSync()[0]);
    expect(p0.ce.dataSync()[0]).toBeCloseTo(ce, 4);

    // L from lib/lipschitz's paper mode with the same start vectors.
    const ref = localLipschitz(net.split, x, 1, { mode: 'paper', iterations: 5, warmStart: warm });
    const L = p0.L.dataSync();
    ref.L.forEach((v, i) => expect(L[i]).toBeCloseTo(v, 3));
    const theta = (ref.L[0] + ref.L[1]) / 2; // some inputs below, some above
    const p = splitzLoss(net, x, y, noise, { lambda: 0.3, thetaLip: theta, gammaTrain: 1, powerIterations: 5, warmStart: warm, Q: 2 });
    const lip = Array.from(ref.L).reduce((a, v) => a + Math.max(theta, v), 0) / B;
    expect(p.lip.dataSync()[0]).toBeCloseTo(lip, 3);
    expect(p.loss.dataSync()[0]).toBeCloseTo(0.7 * p.ce.dataSync()[0] + 0.3 * lip, 3);
    tf.dispose([noise, ...warm, ...Object.values(p0).flat(), ...Object.values(p).flat(), ...(ref.vectors ?? [])] as tf.Tensor[]);
    model.dispose();
  });

  test('gradients: the L term reaches f_L only, the smoothing loss all layers; theta_lip learns where it is the max', () => {
    const model = lenet({ splitAfter: 1, seed: 4 });
    const net = trainNet(model, 1);
    const theta = tf.variable(tf.scalar(1e6), true); // above every L: the max is theta for all inputs
    const vars = optimizerVariables(model, theta);
    const noise = tf.tensor(trainingNoise(1, 0, 0, 1, B, net.D, 0.5), [B, ...net.splitShape]);
    const grads = (lambda: number, th: number | tf.Variable) =>
      tf.variableGrads(() => {
        const p = splitzLoss(net, x, y, noise, { lambda, thetaLip: th, gammaTrain: 1, powerIterations: 3, Q: 1 });
        tf.dispose([p.ce, p.lip, p.L, p.correct, ...p.vectors]);
        return p.loss;
      }, vars);
    const norm = (g: tf.Tensor | undefined) => (g ? tf.norm(g).dataSync()[0] : 0);
    const kernel1 = vars[0].name;
    const lastKernel = vars[vars.length - 3].name; // dense10 kernel (then its bias, then theta)
    const onlyLip = grads(1, 0);
    expect(norm(onlyLip.grads[kernel1])).toBeGreaterThan(0);
    expect(norm(onlyLip.grads[lastKernel])).toBe(0);
    const onlyCe = grads(0, 0);
    expect(norm(onlyCe.grads[lastKernel])).toBeGreaterThan(0);
    const thetaMax = grads(0.5, theta);
    // d/dtheta of 0.5 * mean(max(theta, L)) = 0.5 when theta > every L; no gradient reaches the weights through L.
    expect(thetaMax.grads[theta.name].dataSync()[0]).toBeCloseTo(0.5, 6);
    for (const g of [onlyLip, onlyCe, thetaMax]) tf.dispose([g.value, ...Object.values(g.grads)]);
    tf.dispose([noise, theta]);
    model.dispose();
  });

  test('RS (split 0): noise on the input, loss = CE, L = 1', () => {
    const model = lenet({ splitAfter: 0, seed: 5 });
    const net = trainNet(model, 0);
    expect(net.splitShape).toEqual([28, 28, 1]);
    const noise = tf.tensor(trainingNoise(1, 0, 0, 1, B, net.D, 0.25), [B, 28, 28, 1]);
    const p = splitzLoss(net, x, y, noise, { lambda: 0, thetaLip: 0.5, gammaTrain: 1, powerIterations: 5, Q: 1 });
    const ce = tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), model.predict(tf.add(x, noise)) as tf.Tensor).dataSync()[0]);
    expect(p.loss.dataSync()[0]).toBeCloseTo(ce, 5);
    expect(Array.from(p.L.dataSync())).toEqual(new Array(B).fill(1));
    expect(p.vectors).toEqual([]);
    tf.dispose([noise, p.loss, p.ce, p.lip, p.L, p.correct]);
    model.dispose();
  });
});

describe('training runs', () => {
  /** A tiny run: 2 epochs of 3 steps on 192 images, compressed schedule (lr 1e-3 then 1e-5, lambda 0.8 then 0.4). */
  function tinyConfig(): ExperimentConfig {
    const c = loadConfig(CONFIG, { scale: 'smoke' });
    return { ...c, train: { ...c.train, epochs: 2, subset: 192, holdout: 128, batch_size: 64, extra_epochs: 0 } };
  }

  test('holdout and training images are disjoint and seeded', () => {
    const t = tinyConfig().train;
    const a = holdoutSplit(60000, t);
    const b = holdoutSplit(60000, t);
    expect(Array.from(a.trainIdx)).toEqual(Array.from(b.trainIdx));
    expect(a.trainIdx.length).toBe(192);
    expect(a.holdoutIdx.length).toBe(128);
    const h = new Set(a.holdoutIdx);
    expect(Array.from(a.trainIdx).some((i) => h.has(i))).toBe(false);
  });

  test('a run killed before its first epoch ended starts over on --resume, with one run line naming the earlier start', async () => {
    const data = loadMnist('train');
    const config = { ...tinyConfig(), train: { ...tinyConfig().train, epochs: 1 } };
    const dir = tmp('train-epoch0');
    await expect(runTraining(config, { outDir: dir, data, hooks: { onStart: () => { throw new Error('simulated kill'); } } })).rejects.toThrow('simulated kill');
    const first = readTrainLog(path.join(dir, TRAIN_LOG));
    expect(first.map((r) => r.type)).toEqual(['run']);
    expect(fs.existsSync(path.join(dir, LAST_DIR))).toBe(false);
    const r = await runTraining(config, { outDir: dir, data, resume: true });
    expect(r.epochsDone).toBe(1);
    const log = readTrainLog(path.join(dir, TRAIN_LOG));
    expect(log.map((l) => l.type)).toEqual(['run', 'epoch']);
    expect(log[0].earlier_starts).toEqual([first[0].time]);
  });

  test('a run killed after its first epoch and resumed ends with the same weights, optimizer state and log as an uninterrupted run', async () => {
    const data = loadMnist('train');
    const config = tinyConfig();
    const full = tmp('train-full');
    const killed = tmp('train-killed');
    const a = await runTraining(config, { outDir: full, data });
    expect(a.records.map((r) => r.epoch)).toEqual([0, 1]);
    expect(a.records.map((r) => r.lambda)).toEqual([expect.closeTo(0.8, 12), expect.closeTo(0.4, 12)]);
    expect(a.records.map((r) => r.lr)).toEqual([expect.closeTo(1e-3, 15), expect.closeTo(1e-5, 15)]);

    await expect(
      runTraining(config, {
        outDir: killed,
        data,
        hooks: {
          onEpochEnd: (r) => {
            if (r.epoch === 0) throw new Error('simulated kill');
          },
        },
      }),
    ).rejects.toThrow('simulated kill');
    // A partial line, as a kill in the middle of a log write leaves.
    fs.appendFileSync(path.join(killed, TRAIN_LOG), '{"type":"epoch","epoch":1,"ph');
    await expect(runTraining(config, { outDir: killed, data })).rejects.toThrow(/--resume/);
    // Without its checkpoint the run cannot resume: refused, and the log keeps its epoch.
    const logBefore = fs.readFileSync(path.join(killed, TRAIN_LOG), 'utf8');
    fs.renameSync(path.join(killed, LAST_DIR), path.join(killed, 'moved'));
    await expect(runTraining(config, { outDir: killed, data, resume: true })).rejects.toThrow(/records 1 epoch, but checkpoint\/ .* is missing/);
    expect(fs.readFileSync(path.join(killed, TRAIN_LOG), 'utf8')).toBe(logBefore);
    fs.renameSync(path.join(killed, 'moved'), path.join(killed, LAST_DIR));
    const b = await runTraining(config, { outDir: killed, data, resume: true });
    expect(b.epochsDone).toBe(2);

    const strip = (rs: Record<string, unknown>[]) => rs.filter((r) => r.type === 'epoch').map(({ seconds, ...rest }) => rest);
    const logA = strip(readTrainLog(path.join(full, TRAIN_LOG)));
    const logB = strip(readTrainLog(path.join(killed, TRAIN_LOG)));
    expect(logB).toEqual(logA);
    expect(readTrainLog(path.join(killed, TRAIN_LOG)).filter((r) => r.type === 'resume')).toHaveLength(1);

    const ca = await loadCheckpoint(path.join(full, LAST_DIR));
    const cb = await loadCheckpoint(path.join(killed, LAST_DIR));
    const wa = ca.model.getWeights().map((w) => Array.from(w.dataSync()));
    const wb = cb.model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(wb).toEqual(wa);
    const oa = ca.optimizerWeights!.map((w) => Array.from(w.tensor.dataSync()));
    const ob = cb.optimizerWeights!.map((w) => Array.from(w.tensor.dataSync()));
    expect(ob).toEqual(oa);
    expect(fs.readFileSync(path.join(killed, 'warm-e2.bin')).equals(fs.readFileSync(path.join(full, 'warm-e2.bin')))).toBe(true);
    // The loss parts are logged and consistent: loss = (1 - lambda) ce + lambda lip per step, so per epoch too.
    for (const r of a.records) expect(r.loss).toBeCloseTo((1 - r.lambda) * r.ce + r.lambda * r.lip, 4);
    for (const c of [ca, cb]) {
      c.model.dispose();
      tf.dispose(c.optimizerWeights!.map((w) => w.tensor));
    }
  });
});
