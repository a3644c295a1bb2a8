/**
 * ReLU's gradient on wasm as one SIMD pass (./simd.c relu_grad) instead of
 * tfjs-core's mul(dy, step(cast(x, 'float32'))): three scalar wasm kernels,
 * ~80 ms per ResNet-20 step at batch 128. Same rule: dy where x > 0, else 0.
 * Other backends keep tfjs-core's own gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import { simdFor } from './simd';

type Info = tf.TensorInfo;

export const RELU_GRAD_KERNEL = 'SplitzReluGrad';

function reluGradKernel({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: object }): Info {
  const { dy, x } = inputs as { dy: Info; x: Info };
  if (dy.dtype !== 'float32' || x.dtype !== 'float32') throw new Error(`${RELU_GRAD_KERNEL}: expected float32 dy and x, got ${dy.dtype}, ${x.dtype}`);
  const s = simdFor(backend);
  if (!s) throw new Error(`${RELU_GRAD_KERNEL}: the wasm backend's memory is not reachable`);
  const dx = s.backend.makeOutput(x.shape, 'float32');
  s.k.relu_grad(s.ptr(dy), s.ptr(x), s.ptr(dx), tf.util.sizeFromShape(x.shape));
  return dx;
}

let tfjsReluGradient: tf.GradConfig | undefined;

function reluGradFunc(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): Record<string, () => tf.Tensor> {
  const [x] = saved;
  if (tf.getBackend() === 'wasm' && x.dtype === 'float32') {
    return { x: () => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: dy as tf.Tensor, x }) as tf.Tensor };
  }
  if (!tfjsReluGradient) throw new Error('splitz kernels: tfjs-core has no Relu gradient to fall back on');
  return tfjsReluGradient.gradFunc(dy, saved, attrs);
}

function applyReluGradient(): void {
  const current = tf.getGradient(tf.Relu);
  if (current?.gradFunc === reluGradFunc) return;
  tfjsReluGradient = current;
  tf.registerGradient({ kernelName: tf.Relu, inputsToSave: ['x'], gradFunc: reluGradFunc });
}

let registered = false;

export function registerReluGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: RELU_GRAD_KERNEL,
    backendName: 'wasm',
    kernelFunc: reluGradKernel as unknown as tf.KernelFunc,
    // Loading @tensorflow/tfjs registers tfjs-core's gradients again (see the
    // ClipByValue gradient in ./index.ts); the backend runs setupFuncs when it
    // starts, after that, so the override is re-applied there.
    setupFunc: () => applyReluGradient(),
  });
  applyReluGradient();
}
