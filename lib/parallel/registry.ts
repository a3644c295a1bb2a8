/**
 * Task registry of the worker pool. A module named as a pool `entry` calls
 * `registerTask(name, fn)` at load time; inside each worker the pool looks
 * tasks up here by name. Kept free of worker_threads so that the same module
 * can also be loaded (and its tasks run) on the main thread.
 */
import type { BackendName } from '../backend';

/** What a task sees of the worker that runs it. */
export interface TaskContext {
  /** 0-based index of the worker in its pool (0 on the main thread). */
  workerIndex: number;
  /** Backend initialised in this worker. */
  backend: BackendName;
}

/** A task: payload in, result out (structured-cloneable both ways). */
export type TaskFn<P = unknown, R = unknown> = (payload: P, ctx: TaskContext) => R | Promise<R>;

/**
 * A result whose ArrayBuffers are moved to the caller instead of copied
 * (e.g. large Float32Arrays). Return `transfer(value, [buf.buffer])` from a task.
 */
export class Transfer<T> {
  constructor(
    readonly value: T,
    readonly list: ArrayBuffer[],
  ) {}
}

export function transfer<T>(value: T, list: ArrayBuffer[]): Transfer<T> {
  return new Transfer(value, list);
}

const tasks = new Map<string, TaskFn>();

/** Register `fn` under `name`. Registering the same function twice is a no-op; another one is an error. */
export function registerTask<P, R>(name: string, fn: TaskFn<P, R>): void {
  if (typeof name !== 'string' || name === '') throw new Error('registerTask: name must be a non-empty string');
  const old = tasks.get(name);
  if (old && old !== fn) throw new Error(`registerTask: a different task is already registered as '${name}'; choose another name`);
  tasks.set(name, fn as TaskFn);
}

export function getTask(name: string): TaskFn | undefined {
  return tasks.get(name);
}

export function taskNames(): string[] {
  return [...tasks.keys()].sort();
}
