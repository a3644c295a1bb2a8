/**
 * Experiment configs (configs/*.json): loading, strict validation, scales.
 * The generic validator lives in ./schema (imported by path where needed).
 */
export * from './experiment';
export { closestName, didYouMean } from './suggest';
