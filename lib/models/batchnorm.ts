/**
 * tfjs-layers' BatchNormalization with its training-mode forward pass run as
 * one fused kernel where the backend has it (wasm: lib/kernels/batchnorm.ts).
 *
 * Same class name, config, weights and semantics as the stock layer (it is
 * registered under 'BatchNormalization', so saved models load into it): in
 * training mode it normalises with the batch mean and biased variance over
 * all axes but the channel axis and updates the moving statistics exactly as
 * tfjs-layers does,
 *   moving <- moving - (moving - batch) * (1 - momentum);
 * in inference mode, on other backends, or for an axis other than the last,
 * the stock code runs unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { batchNormTraining, hasFusedBatchNormTraining } from '../kernels/batchnorm';

/** tfjs-layers does not export the class itself; its factory's product has it as constructor. */
const TfjsBatchNormalization = tfl.layers.batchNormalization({}).constructor as typeof tfl.layers.Layer;

type LayerVariable = { read(): tf.Tensor; write(t: tf.Tensor): void };

/** The stock layer's fields this subclass reads. */
interface BatchNormFields {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma?: LayerVariable;
  beta?: LayerVariable;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
}

export class BatchNormalization extends TfjsBatchNormalization {
  static className = 'BatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const f = this as unknown as BatchNormFields;
    const lastAxis = f.axis === -1 || f.axis === x.rank - 1;
    if (!kwargs?.training || !hasFusedBatchNormTraining() || !lastAxis || x.rank < 2 || x.dtype !== 'float32' || !f.gamma || !f.beta) {
      return super.call(inputs, kwargs);
    }
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(x, f.gamma!.read(), f.beta!.read(), f.epsilon);
      const decay = 1 - f.momentum;
      for (const [moving, batch] of [[f.movingMean, mean], [f.movingVariance, variance]] as const) {
        tf.tidy(() => {
          const orig = moving.read();
          moving.write(tf.sub(orig, tf.mul(tf.sub(orig, batch), decay)));
        });
      }
      return y;
    });
  }
}
tf.serialization.registerClass(BatchNormalization);

/** Factory with the stock factory's arguments. */
export function batchNormalization(args: Parameters<typeof tfl.layers.batchNormalization>[0]): tfl.layers.Layer {
  return new BatchNormalization(args as never);
}
