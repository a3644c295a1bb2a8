/** Worker-thread pool with one TensorFlow.js backend per worker (see ./pool.ts). */
export { Pool, PoolOptions, RunOptions, createPool } from './pool';
export { TaskContext, TaskFn, Transfer, getTask, registerTask, taskNames, transfer } from './registry';
