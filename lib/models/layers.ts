/**
 * The two layers SPLITZ adds to an ordinary classifier.
 *
 * - `Normalize`: (x - mean) / std per channel (channels last). It is the first
 *   map of f_L, so its Lipschitz constant 1 / min(std) enters every bound
 *   (METHOD.md) and certified radii stay in raw pixel space.
 * - `ReLUTheta`: the clipped ReLU of Appendix B, eq. 19,
 *   ReLU_theta(z) = min(max(z, 0), theta). Every affine layer of f_L is
 *   followed by one; its gradient is 1 on (0, theta) and 0 elsewhere, which is
 *   what makes the varying set I^v of the local bound small.
 *
 * Both are registered for TensorFlow.js serialization, so models that use them
 * save and load in the standard layers format.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export interface ReLUThetaArgs {
  theta?: number;
  name?: string;
  /** Base-layer fields, passed through so a deserialised layer keeps them. */
  trainable?: boolean;
  dtype?: tf.DataType;
}

export class ReLUTheta extends tfl.layers.Layer {
  static className = 'ReLUTheta';
  readonly theta: number;

  constructor(args: ReLUThetaArgs = {}) {
    super({ name: args.name, trainable: args.trainable, dtype: args.dtype });
    this.theta = args.theta ?? 1;
    if (!(this.theta > 0) || !Number.isFinite(this.theta)) {
      throw new Error(`ReLUTheta: theta must be a positive finite number, got ${args.theta}`);
    }
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    // clipByValue's gradient is 1 strictly inside (0, theta), 0 outside: the
    // derivative of ReLU_theta almost everywhere.
    return tf.clipByValue(x, 0, this.theta);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), theta: this.theta };
  }
}
tf.serialization.registerClass(ReLUTheta);

export interface NormalizeArgs {
  mean: number[];
  std: number[];
  name?: string;
  /** Shape of one input (channels last), when this is the model's first layer. */
  inputShape?: number[];
  /**
   * What getConfig() writes for a first layer; passed through so a model that
   * starts with Normalize loads back from model.json (as tfl.Sequential needs).
   */
  batchInputShape?: Array<number | null>;
  trainable?: boolean;
  dtype?: tf.DataType;
}

export class Normalize extends tfl.layers.Layer {
  static className = 'Normalize';
  readonly mean: number[];
  readonly std: number[];

  constructor(args: NormalizeArgs) {
    super({
      name: args?.name,
      inputShape: args?.inputShape,
      batchInputShape: args?.batchInputShape as number[] | undefined,
      trainable: args?.trainable,
      dtype: args?.dtype,
    });
    if (!args || !Array.isArray(args.mean) || !Array.isArray(args.std) || args.mean.length !== args.std.length || args.mean.length === 0) {
      throw new Error('Normalize: mean and std must be non-empty arrays of the same length (one value per channel)');
    }
    if (args.std.some((s) => !(s > 0))) throw new Error(`Normalize: every std must be > 0, got [${args.std.join(', ')}]`);
    this.mean = args.mean.slice();
    this.std = args.std.slice();
  }

  /** Lipschitz constant of the map in l2: 1 / min(std). */
  lipschitz(): number {
    return 1 / Math.min(...this.std);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => tf.div(tf.sub(x, tf.tensor1d(this.mean)), tf.tensor1d(this.std)));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mean: this.mean, std: this.std };
  }
}
tf.serialization.registerClass(Normalize);
