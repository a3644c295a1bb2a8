/** Builders for small dataset fixtures written by the data tests (to os.tmpdir()). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import * as tarStream from 'tar-stream';
import { PNG } from 'pngjs';

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `splitz-${prefix}-`));
}

/** A .tar.gz holding the given files (directories are implied by the names). */
export async function makeTarGz(file: string, entries: { name: string; data: Buffer }[]): Promise<void> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const e of entries) pack.entry({ name: e.name, size: e.data.length }, e.data);
  pack.finalize();
  await done;
  fs.writeFileSync(file, zlib.gzipSync(Buffer.concat(chunks)));
}

/** An RGB PNG of the given bytes (h*w*3, channels last). */
export function encodePng(rgb: Uint8Array, h: number, w: number): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let p = 0; p < h * w; p++) {
    png.data[4 * p] = rgb[3 * p];
    png.data[4 * p + 1] = rgb[3 * p + 1];
    png.data[4 * p + 2] = rgb[3 * p + 2];
    png.data[4 * p + 3] = 255;
  }
  return PNG.sync.write(png);
}
