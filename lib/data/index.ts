/** Datasets: MNIST, CIFAR-10 (official binary and image folders), augmentation, batching. */
export * from './types';
export * from './idx';
export * from './mnist';
export * from './stats';
export * from './cifar10';
export * from './imagefolder';
export * from './cifar10-load';
export * from './download';
export * from './cache';
export * from './augment';
export * from './batches';
export { isTarball, readTarEntries, peekTarEntryNames } from './tar';
