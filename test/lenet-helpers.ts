/** Models for the tests of f_L's Jacobian and of the reports built on it. */
import * as tfl from '@tensorflow/tfjs-layers';
import { tf } from '../lib/backend';
import { lenet } from '../lib/models/lenet';

/**
 * LeNet with every bias set to b. At initialisation the biases are 0, so the
 * units over MNIST's blank background sit exactly on ReLU_theta's kink, where
 * the Jacobian is not defined (a central difference gives them slope 1/2).
 */
export function lenetWithBias(splitAfter: number, seed: number, b = 0.05): tfl.Sequential {
  const m = lenet({ splitAfter, seed });
  for (const l of m.layers) {
    const w = l.getWeights();
    if (w.length === 2) l.setWeights([w[0], tf.fill(w[1].shape, b)]);
  }
  return m;
}
