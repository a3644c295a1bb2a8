/**
 * A gradient of tfjs-core replaced, on wasm only, by one kernel of ours
 * (ReLU's and ClipByValue's: tfjs-core composes them from several scalar
 * kernels). The replacement gradient runs `kernelName` with {dy, x} and the
 * op's attributes where the backend is wasm and `applies(x)`; elsewhere it
 * calls tfjs-core's own gradient, kept when the override is installed.
 *
 * Loading @tensorflow/tfjs (as initBackend's probe for tfjs-node does, through
 * the package alias) registers all of tfjs-core's gradients again, replacing
 * ours. The wasm backend runs every kernel's setupFunc when it starts, after
 * that probe, so the override is (re)installed there.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface GradientOverride {
  /** The op whose gradient is replaced (tf.Relu, tf.ClipByValue). */
  op: string;
  /** Name of our wasm kernel computing dx from {dy, x}. */
  kernelName: string;
  kernelFunc: tf.KernelFunc;
  /** Whether our kernel handles this x (else tfjs-core's gradient runs). */
  applies?: (x: tf.Tensor) => boolean;
}

const installed = new Set<string>();

export function overrideGradientOnWasm(o: GradientOverride): void {
  if (installed.has(o.op)) return;
  installed.add(o.op);
  let tfjsGradient: tf.GradConfig | undefined;
  const gradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): Record<string, () => tf.Tensor> => {
    const [x] = saved;
    if (tf.getBackend() === 'wasm' && (o.applies?.(x) ?? true)) {
      return { x: () => tf.engine().runKernel(o.kernelName, { dy: dy as tf.Tensor, x }, attrs) as tf.Tensor };
    }
    if (!tfjsGradient) throw new Error(`splitz kernels: tfjs-core has no ${o.op} gradient to fall back on`);
    return tfjsGradient.gradFunc(dy, saved, attrs);
  };
  const install = () => {
    const current = tf.getGradient(o.op);
    if (current?.gradFunc === gradFunc) return;
    // Keep tfjs-core's own for the other backends (it may have been registered again since).
    tfjsGradient = current;
    tf.registerGradient({ kernelName: o.op, inputsToSave: ['x'], gradFunc });
  };
  tf.registerKernel({ kernelName: o.kernelName, backendName: 'wasm', kernelFunc: o.kernelFunc, setupFunc: install });
  install();
}
