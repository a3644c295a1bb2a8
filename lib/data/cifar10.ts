/**
 * CIFAR-10 in its official binary release (cifar-10-batches-bin): each of
 * data_batch_1..5.bin and test_batch.bin holds 10000 records of
 * 1 label byte + 3072 pixel bytes, the pixels as three 32x32 planes (R, G, B),
 * row-major. splitz stores images channels last, so planes are interleaved.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ImageDataset } from './types';
import { bytesToUnit } from './files';
import { entryParts, isTarball, readTarEntries } from './tar';
import type { Split } from './mnist';

/** The official label order 0..9. */
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export const CIFAR10_RECORD_BYTES = 1 + 3 * 32 * 32;
const RECORD_LAYOUT = 'records of 1 label byte (0..9) + 3072 pixel bytes (R plane, G plane, B plane, 32x32 each, row-major), 3073 bytes each';

/** The batch files of a split in the official release, in order. */
export function cifar10BatchFiles(split: Split): string[] {
  return split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
}

/** Raw bytes of a CIFAR split: labels and channels-last uint8 pixels. */
export interface Cifar10Bytes {
  labels: Uint8Array;
  /** n * 32*32*3 bytes, channels last. */
  pixels: Uint8Array;
}

/** Parse one binary batch file's bytes (CHW records) into channels-last bytes. */
export function parseCifar10Batch(buf: Buffer | Uint8Array, file: string): Cifar10Bytes {
  if (buf.length === 0 || buf.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new Error(`${file}: ${buf.length} bytes is not a positive multiple of ${CIFAR10_RECORD_BYTES}; expected ${RECORD_LAYOUT}`);
  }
  const n = buf.length / CIFAR10_RECORD_BYTES;
  const labels = new Uint8Array(n);
  const pixels = new Uint8Array(n * 3072);
  for (let i = 0; i < n; i++) {
    const r = i * CIFAR10_RECORD_BYTES;
    const label = buf[r];
    if (label > 9) throw new Error(`${file}: record ${i} has label ${label}; expected ${RECORD_LAYOUT}`);
    labels[i] = label;
    const o = i * 3072;
    for (let p = 0; p < 1024; p++) {
      pixels[o + 3 * p] = buf[r + 1 + p];
      pixels[o + 3 * p + 1] = buf[r + 1 + 1024 + p];
      pixels[o + 3 * p + 2] = buf[r + 1 + 2048 + p];
    }
  }
  return { labels, pixels };
}

function concatBytes(parts: Cifar10Bytes[]): Cifar10Bytes {
  const n = parts.reduce((a, p) => a + p.labels.length, 0);
  const labels = new Uint8Array(n);
  const pixels = new Uint8Array(n * 3072);
  let k = 0;
  for (const p of parts) {
    labels.set(p.labels, k);
    pixels.set(p.pixels, k * 3072);
    k += p.labels.length;
  }
  return { labels, pixels };
}

/** The directory holding the .bin files: `dir` itself or its cifar-10-batches-bin/ child. */
export function findCifar10BinaryDir(dir: string): string | undefined {
  for (const d of [dir, path.join(dir, 'cifar-10-batches-bin')]) {
    if (fs.existsSync(path.join(d, 'test_batch.bin')) || fs.existsSync(path.join(d, 'data_batch_1.bin'))) return d;
  }
  return undefined;
}

/** True when a tarball's entry is one of the official batch files. */
function batchEntryName(name: string): string | undefined {
  const parts = entryParts(name);
  const base = parts[parts.length - 1];
  return base !== undefined && /^(data_batch_[1-5]|test_batch)\.bin$/.test(base) && parts.length <= 2 ? base : undefined;
}

/**
 * Read a split of the official binary release from a directory (holding the
 * .bin files or a cifar-10-batches-bin/ folder) or from cifar-10-binary.tar.gz.
 */
export async function readCifar10Binary(source: string, split: Split): Promise<Cifar10Bytes> {
  const want = cifar10BatchFiles(split);
  if (isTarball(source)) {
    const entries = await readTarEntries(source, (name) => {
      const b = batchEntryName(name);
      return b !== undefined && want.includes(b);
    });
    const byBase = new Map<string, [string, Buffer]>();
    for (const [name, buf] of entries) byBase.set(batchEntryName(name)!, [name, buf]);
    const parts = want.map((w) => {
      const hit = byBase.get(w);
      if (!hit) {
        throw new Error(`${source}: no entry cifar-10-batches-bin/${w}; the official archive holds data_batch_1..5.bin and test_batch.bin, ${RECORD_LAYOUT}`);
      }
      return parseCifar10Batch(hit[1], `${source}:${hit[0]}`);
    });
    return concatBytes(parts);
  }
  const dir = findCifar10BinaryDir(source) ?? source;
  const parts = want.map((w) => {
    const f = path.join(dir, w);
    if (!fs.existsSync(f)) {
      throw new Error(`${f}: missing; a CIFAR-10 binary directory holds data_batch_1..5.bin and test_batch.bin, ${RECORD_LAYOUT}`);
    }
    return parseCifar10Batch(fs.readFileSync(f), f);
  });
  return concatBytes(parts);
}

/** Bytes → an ImageDataset with pixels / 255. */
export function bytesToDataset(name: string, bytes: Cifar10Bytes, shape: [number, number, number], classes: string[]): ImageDataset {
  const images = bytesToUnit(bytes.pixels);
  return { name, images, labels: bytes.labels, n: bytes.labels.length, shape, classes };
}

/** Load a split of the official binary CIFAR-10 (no caching; see loadCifar10). */
export async function loadCifar10Binary(source: string, split: Split): Promise<ImageDataset> {
  return bytesToDataset('cifar10', await readCifar10Binary(source, split), [32, 32, 3], [...CIFAR10_CLASSES]);
}
