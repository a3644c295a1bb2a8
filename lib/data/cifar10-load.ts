/**
 * loadCifar10: one entry point for both CIFAR-10 variants splitz can read,
 * the official binary release ('cifar10') and the JPEG re-encoding in an
 * image-folder tarball ('cifar10-jpeg', lossy: not bit-identical to the
 * official test set), with an on-disk cache of decoded bytes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ImageDataset } from './types';
import type { Split } from './mnist';
import { bytesToDataset, CIFAR10_CLASSES, findCifar10BinaryDir, readCifar10Binary } from './cifar10';
import { readImageFolder } from './imagefolder';
import { entryParts, isTarball, peekTarEntryNames } from './tar';
import { cacheFile, CachedBytes, defaultCacheDir, readCache, sourceKey, writeCache } from './cache';
import { CIFAR10_TARBALL } from './download';
import { projectRoot } from './files';

export interface Cifar10Options {
  /** 'auto' (default), or a directory / .tar.gz of either the official binary release or an image folder. */
  source?: string;
  /** Cache directory (default $SPLITZ_CACHE or <project>/.cache). Also where downloadCifar10 puts the official tarball. */
  cacheDir?: string;
  /** Use and write the decoded-bytes cache (default true). */
  cache?: boolean;
}

export type Cifar10Format = 'binary' | 'imagefolder';

/** The shared JPEG re-encoding, relative to the project root. */
export function sharedCifar10Tarball(): string {
  return path.resolve(projectRoot(), '..', 'shared', 'data', 'cifar10-images.tar.gz');
}

/**
 * Resolve 'auto': $SPLITZ_CIFAR10 when set (the user's explicit choice), then
 * the official binary in the cache dir (cifar-10-batches-bin/ or the
 * downloaded tarball), then ../shared/data/cifar10-images.tar.gz.
 */
export function resolveCifar10Source(cacheDir: string = defaultCacheDir()): string {
  const env = process.env.SPLITZ_CIFAR10;
  if (env) {
    if (!fs.existsSync(env)) throw new Error(`SPLITZ_CIFAR10=${env} does not exist; point it at a CIFAR-10 directory or .tar.gz`);
    return path.resolve(env);
  }
  const candidates = [path.join(cacheDir, 'cifar-10-batches-bin'), path.join(cacheDir, CIFAR10_TARBALL), sharedCifar10Tarball()];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(
    `CIFAR-10 not found (looked at ${candidates.join(', ')}). Download the official release with ` +
      `\`splitz data download cifar10\` (downloadCifar10), or set SPLITZ_CIFAR10 to a directory or .tar.gz`,
  );
}

/** Tell the official binary layout from an image folder, looking at names only. */
export async function detectCifar10Format(source: string): Promise<Cifar10Format> {
  if (!isTarball(source)) {
    if (!fs.existsSync(source)) throw new Error(`${source}: no such file or directory`);
    if (!fs.statSync(source).isDirectory()) {
      throw new Error(`${source}: expected a directory or a .tar.gz/.tgz/.tar of CIFAR-10`);
    }
    return findCifar10BinaryDir(source) ? 'binary' : 'imagefolder';
  }
  const names = await peekTarEntryNames(source, 64);
  for (const n of names) {
    const base = entryParts(n).pop() ?? '';
    if (/^(data_batch_[1-5]|test_batch)\.bin$/.test(base) || base === 'batches.meta.txt') return 'binary';
    if (/\.(jpe?g|png)$/i.test(base)) return 'imagefolder';
  }
  throw new Error(`${source}: neither the official CIFAR-10 binary archive (cifar-10-batches-bin/*.bin) nor an image folder (<split>/<class>/*.jpg|png)`);
}

// Decoded datasets kept in-process (train is 600 MB as floats: load it once).
const memo = new Map<string, ImageDataset>();

function toDataset(c: CachedBytes): ImageDataset {
  const ds = bytesToDataset(c.name, { labels: new Uint8Array(c.labels), pixels: c.pixels }, c.shape, c.classes);
  ds.source = c.source;
  return ds;
}

/**
 * Load a CIFAR-10 split. The dataset's name records the variant: 'cifar10'
 * (official binary) or 'cifar10-jpeg' / 'cifar10-png' (image-folder re-encodings).
 */
export async function loadCifar10(split: Split, options: Cifar10Options = {}): Promise<ImageDataset> {
  if (split !== 'train' && split !== 'test') throw new Error(`loadCifar10: split must be 'train' or 'test', got '${String(split)}'`);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const source = !options.source || options.source === 'auto' ? resolveCifar10Source(cacheDir) : path.resolve(options.source);
  const memoKey = `${source}\u0000${split}\u0000${options.cache !== false}`;
  const hit = memo.get(memoKey);
  if (hit) return hit;

  const format = await detectCifar10Format(source);
  const useCache = options.cache !== false;
  let file: string | undefined;
  if (useCache) {
    file = cacheFile(cacheDir, 'cifar10', split, await sourceKey(source));
    const cached = readCache(file);
    if (cached) {
      const ds = toDataset(cached);
      memo.set(memoKey, ds);
      return ds;
    }
  }
  let bytes: CachedBytes;
  if (format === 'binary') {
    const b = await readCifar10Binary(source, split);
    bytes = { name: 'cifar10', shape: [32, 32, 3], classes: [...CIFAR10_CLASSES], source, ...b };
  } else {
    const f = await readImageFolder(source, split, { size: [32, 32] });
    const allJpeg = f.files.every((x) => /\.jpe?g$/i.test(x));
    const allPng = f.files.every((x) => /\.png$/i.test(x));
    const name = allJpeg ? 'cifar10-jpeg' : allPng ? 'cifar10-png' : 'cifar10-images';
    bytes = { name, shape: f.shape, classes: f.classes, labels: f.labels, pixels: f.pixels, source };
  }
  if (file) writeCache(file, bytes);
  const ds = toDataset(bytes);
  memo.set(memoKey, ds);
  return ds;
}

export interface ImageFolderLoadOptions {
  /** Dataset name (default: the source's base name). */
  name?: string;
  size?: [number, number];
  cacheDir?: string;
  cache?: boolean;
}

/** Load any image-folder tree (directory or .tar.gz) split as an ImageDataset, with the same cache. */
export async function loadImageFolder(source: string, split: string, options: ImageFolderLoadOptions = {}): Promise<ImageDataset> {
  const src = path.resolve(source);
  const name = options.name ?? path.basename(src).replace(/\.(tar\.gz|tgz|tar)$/i, '');
  let file: string | undefined;
  if (options.cache !== false) {
    file = cacheFile(options.cacheDir ?? defaultCacheDir(), `folder-${name.replace(/[^\w.-]/g, '_')}`, split, await sourceKey(src));
    const cached = readCache(file);
    if (cached) return toDataset(cached);
  }
  const f = await readImageFolder(src, split, { size: options.size });
  const bytes: CachedBytes = { name, shape: f.shape, classes: f.classes, labels: f.labels, pixels: f.pixels, source: src };
  if (file) writeCache(file, bytes);
  return toDataset(bytes);
}

/** Forget in-process CIFAR-10 arrays (frees memory; the disk cache stays). */
export function clearCifar10Memo(): void {
  memo.clear();
}
