/** Randomized smoothing at the split: statistics, sampling, CERTIFY/PREDICT, Theorem 1 radius. */
export { clopperPearsonLower, normalQuantile, binomTestTwoSided } from './stats';
export { PHASES, Phase, deriveSeed, certifyNoiseKey, GaussianStream, NoisySampleStream } from './noise';
export { CERTIFY_NOISE_GENERATOR } from './philox';
export { TensorFn, SampleOptions, SplitPoint, sampleCounts, toSplitPoint, argmaxCount, PIPELINE_MIN_NORMALS } from './sample';
export { NoiseWorker } from './noise-pipeline';
export { LocalBound, GammaSearch, RadiusOptions, RadiusResult, splitzRadius, radiusAt } from './radius';
export {
  ABSTAIN,
  SplitClassifierLike,
  CertifyOptions,
  CertifyResult,
  PredictOptions,
  PredictResult,
  certify,
  predict,
} from './certify';
