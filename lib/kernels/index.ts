/**
 * Kernels the wasm backend lacks for training, registered by initBackend().
 */
let registered = false;

export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
}
