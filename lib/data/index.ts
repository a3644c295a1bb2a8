/** Datasets: MNIST, CIFAR-10 (official binary and image folders), augmentation, batching. */
export * from './types';
export * from './idx';
export * from './mnist';
export * from './stats';
