/**
 * Lipschitz bounds of f_L (Appendix B): interval bounds over the l2 ball,
 * varying masks I^v, the local bound of eq. 18 (`sound` proven upper bound or
 * `paper` power iteration), and global per-layer spectral norms.
 */
export { BoundMode, LocalLipschitzOptions, LocalLipschitzResult, LocalLipschitzTensorResult, intervalBounds, varyingMasks, localLipschitz, localLipschitzTensor, localLipschitzOf, paperLipschitz } from './local';
export { AffineBounds, Intervals, maskCount } from './intervals';
export { LayerNorm, GlobalOptions, GlobalSplitBound, globalLayerLipschitz, globalLipschitzOfSplit, powerIterationNorm, soundLayerNorm } from './global';
export { SoundNorm, soundSpectralNorm } from './sound';
export { JacobianNormOptions, JacobianSpectrumOptions, jacobianNorm, jacobianSingularValues } from './jacobian';
export { Csr, left64 } from './ops64';
export { intervalBoundsTf } from './tfops';
