/**
 * Image-folder trees: <root>/<split>/<class>/<file>.jpg|png, as a directory or
 * inside a .tar.gz (possibly under one leading top-level folder). This is how
 * the JPEG re-encoding of CIFAR-10 in ../shared/data is laid out.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { CIFAR10_CLASSES } from './cifar10';
import { entryParts, isTarball, readTarEntries } from './tar';

/** Decoded image folder: uint8 pixels, channels last (RGB). */
export interface ImageFolderBytes {
  labels: Uint8Array;
  pixels: Uint8Array;
  shape: [number, number, number];
  classes: string[];
  /** Entry names in load order (class by class, files sorted by name). */
  files: string[];
}

export interface ImageFolderOptions {
  /** Required [height, width]; default: the size of the first image, and all must match. */
  size?: [number, number];
}

const IMAGE_EXT = /\.(jpe?g|png)$/i;

/**
 * Class order: the official CIFAR-10 order when the names are exactly its
 * classes (so labels agree with the binary release), else sorted names.
 */
export function classOrder(names: string[]): string[] {
  const sorted = [...new Set(names)].sort();
  const official = [...CIFAR10_CLASSES].sort();
  if (sorted.length === official.length && sorted.every((n, i) => n === official[i])) return [...CIFAR10_CLASSES];
  return sorted;
}

/** Decode a JPEG or PNG into RGB bytes; errors name the entry. */
export function decodeImage(buf: Buffer, entry: string): { width: number; height: number; rgb: Uint8Array } {
  if (/\.png$/i.test(entry)) {
    let png: PNG;
    try {
      png = PNG.sync.read(buf);
    } catch (e) {
      throw new Error(`${entry}: could not decode PNG (${(e as Error).message})`);
    }
    const { width, height, data } = png;
    const rgb = new Uint8Array(width * height * 3);
    for (let p = 0; p < width * height; p++) {
      rgb[3 * p] = data[4 * p];
      rgb[3 * p + 1] = data[4 * p + 1];
      rgb[3 * p + 2] = data[4 * p + 2];
    }
    return { width, height, rgb };
  }
  try {
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
    return { width: img.width, height: img.height, rgb: img.data };
  } catch (e) {
    throw new Error(`${entry}: could not decode JPEG (${(e as Error).message})`);
  }
}

/** The split directory inside a directory source: <dir>/<split> or <dir>/<top>/<split>. */
function findSplitDir(dir: string, split: string): string | undefined {
  const direct = path.join(dir, split);
  if (fs.existsSync(direct) && fs.statSync(direct).isDirectory()) return direct;
  const tops = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory());
  if (tops.length === 1) {
    const nested = path.join(dir, tops[0].name, split);
    if (fs.existsSync(nested) && fs.statSync(nested).isDirectory()) return nested;
  }
  return undefined;
}

/** Collect (class, file name, bytes) for a split, from a directory or tarball. */
async function collect(source: string, split: string): Promise<{ cls: string; file: string; entry: string; buf: Buffer }[]> {
  const items: { cls: string; file: string; entry: string; buf: Buffer }[] = [];
  if (isTarball(source)) {
    // Accept split/class/file, or top/split/class/file (one leading folder).
    const pick = (name: string): string[] | undefined => {
      const parts = entryParts(name);
      if (parts.length !== 3 && parts.length !== 4) return undefined;
      const tail = parts.slice(-3);
      if (tail[0] !== split || tail[2].startsWith('.') || !IMAGE_EXT.test(tail[2])) return undefined;
      return tail;
    };
    const entries = await readTarEntries(source, (name) => pick(name) !== undefined);
    const tops = new Set<string>();
    for (const [name, buf] of entries) {
      const parts = entryParts(name);
      tops.add(parts.length === 4 ? parts[0] : '');
      const [, cls, file] = pick(name)!;
      items.push({ cls, file, entry: `${source}:${name}`, buf });
    }
    if (tops.size > 1) {
      throw new Error(`${source}: images of split '${split}' sit under several top-level folders (${[...tops].join(', ')}); expected one tree <root>/${split}/<class>/<image>`);
    }
    if (items.length === 0) {
      throw new Error(`${source}: no images under ${split}/<class>/ (nor <top>/${split}/<class>/); expected an image-folder tarball <root>/${split}/<class>/<image>.jpg|png`);
    }
    return items;
  }
  if (!fs.existsSync(source) || !fs.statSync(source).isDirectory()) {
    throw new Error(`${source}: not a directory or .tar.gz; expected an image folder <root>/${split}/<class>/<image>.jpg|png`);
  }
  const splitDir = findSplitDir(source, split);
  if (!splitDir) throw new Error(`${source}: no '${split}' folder; expected an image folder <root>/${split}/<class>/<image>.jpg|png`);
  for (const d of fs.readdirSync(splitDir, { withFileTypes: true })) {
    if (!d.isDirectory() || d.name.startsWith('.')) continue;
    for (const f of fs.readdirSync(path.join(splitDir, d.name))) {
      if (f.startsWith('.') || !IMAGE_EXT.test(f)) continue;
      const full = path.join(splitDir, d.name, f);
      items.push({ cls: d.name, file: f, entry: full, buf: fs.readFileSync(full) });
    }
  }
  if (items.length === 0) throw new Error(`${splitDir}: no images in <class>/ subfolders; expected <root>/${split}/<class>/<image>.jpg|png`);
  return items;
}

/** Read and decode one split of an image-folder tree into channels-last RGB bytes. */
export async function readImageFolder(source: string, split: string, options: ImageFolderOptions = {}): Promise<ImageFolderBytes> {
  const items = await collect(source, split);
  const classes = classOrder(items.map((it) => it.cls));
  const labelOf = new Map(classes.map((c, i) => [c, i]));
  if (classes.length > 256) throw new Error(`${source}: ${classes.length} classes; labels are stored as bytes (at most 256 classes)`);
  // Deterministic order: by class label, then file name.
  items.sort((a, b) => labelOf.get(a.cls)! - labelOf.get(b.cls)! || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  let size = options.size;
  let pixels: Uint8Array | undefined;
  const labels = new Uint8Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    const img = decodeImage(it.buf, it.entry);
    if (!size) size = [img.height, img.width];
    if (img.height !== size[0] || img.width !== size[1]) {
      throw new Error(`${it.entry}: image is ${img.width}x${img.height} (WxH), expected ${size[1]}x${size[0]} like the others`);
    }
    pixels ??= new Uint8Array(items.length * size[0] * size[1] * 3);
    pixels.set(img.rgb, i * size[0] * size[1] * 3);
    labels[i] = labelOf.get(it.cls)!;
  }
  return { labels, pixels: pixels!, shape: [size![0], size![1], 3], classes, files: items.map((it) => it.entry) };
}
