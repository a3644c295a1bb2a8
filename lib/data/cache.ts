/**
 * On-disk cache of decoded datasets as raw bytes (labels + uint8 pixels):
 * decoding 60000 JPEGs takes seconds, reading 150 MB of bytes does not.
 * Pixels are stored as bytes, not floats, since both CIFAR-10 sources are
 * 8-bit: the cache is 4x smaller and loads back exactly (byte / 255).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { projectRoot } from './files';

const MAGIC = 'SPLITZ-DATASET-1\n';

export interface CachedBytes {
  name: string;
  shape: [number, number, number];
  classes: string[];
  labels: Uint8Array;
  pixels: Uint8Array;
  /** Where the data came from (path), for reports. */
  source: string;
}

/** The project's cache directory: $SPLITZ_CACHE, else <project>/.cache (gitignored). */
export function defaultCacheDir(): string {
  return process.env.SPLITZ_CACHE ? path.resolve(process.env.SPLITZ_CACHE) : path.join(projectRoot(), '.cache');
}

/** sha256 of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * A key that changes when the source changes: the content sha256 for a file
 * (e.g. a tarball); for a directory, a hash of every file's relative path,
 * size and mtime (hashing 60000 image files' contents would cost more than it saves).
 */
export async function sourceKey(source: string): Promise<string> {
  const st = fs.statSync(source);
  if (st.isFile()) return (await sha256File(source)).slice(0, 20);
  const h = crypto.createHash('sha256');
  const walk = (dir: string, rel: string): void => {
    const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full, `${rel}${e.name}/`);
      else if (e.isFile()) {
        const s = fs.statSync(full);
        h.update(`${rel}${e.name}\u0000${s.size}\u0000${s.mtimeMs}\n`);
      }
    }
  };
  walk(source, '');
  return h.digest('hex').slice(0, 20);
}

export function cacheFile(cacheDir: string, name: string, split: string, key: string): string {
  return path.join(cacheDir, 'datasets', `${name}-${split}-${key}.bin`);
}

/** Write the cache file atomically (temp file + rename), so a crash never leaves a half file. */
export function writeCache(file: string, data: CachedBytes): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const header = Buffer.from(
    JSON.stringify({ name: data.name, shape: data.shape, classes: data.classes, n: data.labels.length, source: data.source }),
  );
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length, 0);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const part of [Buffer.from(MAGIC), len, header, data.labels, data.pixels]) fs.writeSync(fd, part);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Read a cache file; undefined when it is absent or does not check out (then it is rebuilt). */
export function readCache(file: string): CachedBytes | undefined {
  if (!fs.existsSync(file)) return undefined;
  const buf = fs.readFileSync(file);
  if (buf.subarray(0, MAGIC.length).toString() !== MAGIC) return undefined;
  try {
    const hl = buf.readUInt32LE(MAGIC.length);
    const off = MAGIC.length + 4;
    const h = JSON.parse(buf.subarray(off, off + hl).toString());
    const n: number = h.n;
    const d = h.shape[0] * h.shape[1] * h.shape[2];
    const start = off + hl;
    if (buf.length !== start + n + n * d) return undefined;
    return {
      name: h.name,
      shape: h.shape,
      classes: h.classes,
      source: h.source,
      labels: new Uint8Array(buf.buffer, buf.byteOffset + start, n),
      pixels: new Uint8Array(buf.buffer, buf.byteOffset + start + n, n * d),
    };
  } catch {
    return undefined;
  }
}
