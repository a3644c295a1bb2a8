/** Reading and writing models: splitz checkpoints and user-supplied TensorFlow.js layers models. */
export * from './checkpoint';
