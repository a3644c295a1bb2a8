/** The public API of splitz, imported by the notebooks and the tests. */
export * from './backend';
export * from './data';
export * from './report';
export * from './smoothing';
export * from './eval';
export * from './lipschitz';
export * from './models/split';
export * from './models/layers';
export * from './models/lenet';
export * from './train/basic';
export * from './train/splitz';
export * from './train/schedule';
export * from './train/optim';
export * from './runner';
export * from './models';
export * from './io';
export * from './config';
export { Pool, PoolOptions, RunOptions, TaskContext, TaskFn, createPool, registerTask, transfer, SELFTEST_ENTRY } from './parallel';
