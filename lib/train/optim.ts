/**
 * Adam and SGD (with momentum) written out here, as PyTorch defines them,
 * instead of tf.train.adam / tf.train.momentum. Two reasons:
 *  - exact resumption: tfjs's Adam keeps beta^t as a running product and, on
 *    setWeights, recomputes it with pow(), which rounds differently; a resumed
 *    run would drift from an uninterrupted one. Here the bias corrections are
 *    computed from the step count in float64 every step, so the state
 *    (step, m, v) saved in a checkpoint determines the continuation exactly;
 *  - the paper's code is PyTorch: Adam(betas = (0.9, 0.999), eps = 1e-8),
 *    weight decay added to the gradient (L2, not AdamW).
 *
 * They extend tf.Optimizer, so lib/io's saveCheckpoint stores their state
 * (getWeights) in optimizer.bin and loadCheckpoint returns it for setWeights.
 * The state is kept by position in the variable list given at construction.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor, NamedTensorMap } from '@tensorflow/tfjs-core/dist/tensor_types';

/** PyTorch's Adam defaults (the paper states only Adam and lr 1e-3). */
export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
export const ADAM_EPSILON = 1e-8;

export interface SplitzOptimizerConfig {
  kind: 'adam' | 'sgd';
  lr: number;
  weightDecay: number;
  /** SGD only. */
  momentum?: number;
}

export class SplitzOptimizer extends tf.Optimizer {
  static get className(): string {
    return 'SplitzOptimizer';
  }
  /** Learning rate of the next step (the trainer sets it every epoch). */
  lr: number;
  /** Steps taken. */
  step = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(
    readonly vars: tf.Variable[],
    readonly cfg: SplitzOptimizerConfig,
  ) {
    super();
    this.lr = cfg.lr;
    if (cfg.kind === 'sgd' && cfg.momentum === undefined) throw new Error('SplitzOptimizer: SGD needs momentum (0 for plain SGD)');
    this.m = vars.map((x) => tf.variable(tf.zerosLike(x), false));
    this.v = cfg.kind === 'adam' ? vars.map((x) => tf.variable(tf.zerosLike(x), false)) : [];
  }

  /** Gradients in the order of `vars` (a NamedTensorMap is matched by variable name). */
  applyGradients(grads: NamedTensorMap | NamedTensor[] | tf.Tensor[]): void {
    const list: (tf.Tensor | undefined)[] = Array.isArray(grads)
      ? grads.map((g) => (g instanceof tf.Tensor ? g : (g as NamedTensor).tensor))
      : this.vars.map((x) => (grads as NamedTensorMap)[x.name]);
    if (list.length !== this.vars.length) throw new Error(`SplitzOptimizer: got ${list.length} gradients for ${this.vars.length} variables`);
    const t = this.step + 1;
    const { kind, weightDecay } = this.cfg;
    tf.tidy(() => {
      this.vars.forEach((w, i) => {
        let g = list[i];
        if (g === undefined) return;
        if (weightDecay > 0) g = tf.add(g, tf.mul(w, weightDecay));
        if (kind === 'adam') {
          const m = tf.add(tf.mul(this.m[i], ADAM_BETA1), tf.mul(g, 1 - ADAM_BETA1));
          const v = tf.add(tf.mul(this.v[i], ADAM_BETA2), tf.mul(tf.square(g), 1 - ADAM_BETA2));
          this.m[i].assign(m);
          this.v[i].assign(v);
          // w -= lr * m_hat / (sqrt(v_hat) + eps), bias corrections in float64 from t.
          const bc1 = 1 - Math.pow(ADAM_BETA1, t);
          const bc2 = 1 - Math.pow(ADAM_BETA2, t);
          const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), ADAM_EPSILON);
          w.assign(tf.sub(w, tf.mul(tf.div(m, denom), this.lr / bc1)));
        } else {
          // PyTorch SGD: buf = mu * buf + g (buf = g at the first step); w -= lr * buf.
          const mu = this.cfg.momentum ?? 0;
          const buf = t === 1 || mu === 0 ? g : tf.add(tf.mul(this.m[i], mu), g);
          this.m[i].assign(buf);
          w.assign(tf.sub(w, tf.mul(buf, this.lr)));
        }
      });
    });
    this.step = t;
    this.incrementIterations();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    return [
      { name: 'step', tensor: tf.scalar(this.step, 'int32') },
      ...this.m.map((t, i) => ({ name: `m/${i}`, tensor: t as tf.Tensor })),
      ...this.v.map((t, i) => ({ name: `v/${i}`, tensor: t as tf.Tensor })),
    ];
  }

  override async setWeights(weights: NamedTensor[]): Promise<void> {
    const by = new Map(weights.map((w) => [w.name, w.tensor]));
    const step = by.get('step');
    if (!step) throw new Error("SplitzOptimizer.setWeights: the state has no 'step'");
    const load = (arr: tf.Variable[], prefix: string) =>
      arr.forEach((x, i) => {
        const t = by.get(`${prefix}/${i}`);
        if (!t) throw new Error(`SplitzOptimizer.setWeights: the state lacks '${prefix}/${i}' (was it saved for a different model or optimizer?)`);
        if (t.shape.join(',') !== x.shape.join(',')) throw new Error(`SplitzOptimizer.setWeights: '${prefix}/${i}' has shape [${t.shape}], the variable [${x.shape}]`);
        x.assign(t);
      });
    load(this.m, 'm');
    load(this.v, 'v');
    this.step = step.dataSync()[0];
  }

  getConfig(): tf.serialization.ConfigDict {
    return { kind: this.cfg.kind, lr: this.lr, weightDecay: this.cfg.weightDecay, momentum: this.cfg.momentum ?? null, beta1: ADAM_BETA1, beta2: ADAM_BETA2, epsilon: ADAM_EPSILON };
  }

  override dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
