/**
 * Read selected files out of a .tar or .tar.gz by streaming it through zlib
 * and tar-stream: nothing is extracted to disk.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import { pipeline } from 'stream/promises';
import * as tarStream from 'tar-stream';

/** True for a path ending in .tar.gz, .tgz or .tar. */
export function isTarball(file: string): boolean {
  return /\.(tar\.gz|tgz|tar)$/i.test(file);
}

/**
 * Stream `file` and call `select(name)` for each regular file entry; entries
 * it accepts are read whole into a Buffer and handed to the result map
 * (keyed by entry name). Others are skipped without buffering.
 */
export async function readTarEntries(file: string, select: (name: string) => boolean): Promise<Map<string, Buffer>> {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const out = new Map<string, Buffer>();
  const extract = tarStream.extract();
  const gz = /\.(gz|tgz)$/i.test(file);
  const consume = (async () => {
    for await (const entry of extract) {
      const name = entry.header.name;
      if ((entry.header.type === 'file' || entry.header.type === 'contiguous-file') && select(name)) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        out.set(name, Buffer.concat(chunks));
      } else {
        entry.resume();
      }
    }
  })();
  try {
    const source = fs.createReadStream(file);
    await Promise.all([gz ? pipeline(source, zlib.createGunzip(), extract) : pipeline(source, extract), consume]);
  } catch (e) {
    throw new Error(`${file}: could not read as ${gz ? 'gzip-compressed ' : ''}tar (${(e as Error).message}); the file is damaged or not a tarball`);
  }
  return out;
}

/** Split a tar entry name into path components, dropping '.' and empty parts. */
export function entryParts(name: string): string[] {
  return name.split('/').filter((p) => p !== '' && p !== '.');
}

/**
 * Names of the first `limit` regular-file entries of a tarball, reading only
 * as far as needed (used to tell an official CIFAR-10 archive from an image folder).
 */
export async function peekTarEntryNames(file: string, limit: number): Promise<string[]> {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const names: string[] = [];
  const source = fs.createReadStream(file);
  const extract = tarStream.extract();
  const gz = /\.(gz|tgz)$/i.test(file);
  const swallow = (): void => undefined;
  source.on('error', swallow);
  extract.on('error', swallow);
  if (gz) {
    const gunzip = zlib.createGunzip();
    gunzip.on('error', swallow);
    source.pipe(gunzip).pipe(extract);
  } else {
    source.pipe(extract);
  }
  try {
    for await (const entry of extract) {
      if (entry.header.type === 'file' || entry.header.type === 'contiguous-file') names.push(entry.header.name);
      entry.resume();
      if (names.length >= limit) break;
    }
  } catch (e) {
    throw new Error(`${file}: could not read as ${gz ? 'gzip-compressed ' : ''}tar (${(e as Error).message})`);
  } finally {
    source.destroy();
  }
  return names;
}
