/** Worker-thread pool with one TensorFlow.js backend per worker (see ./pool.ts). */
export { Pool, PoolOptions, RunOptions, createPool } from './pool';
export { TaskContext, TaskFn, Transfer, getTask, registerTask, taskNames, transfer } from './registry';

/** Path of the self-test entry module (tasks 'selftest.*'), e.g. to check that pools work on a machine. */
export const SELFTEST_ENTRY: string = require('path').join(__dirname, `selftest${require('path').extname(__filename)}`);
