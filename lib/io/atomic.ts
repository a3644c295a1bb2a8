/**
 * Writing a file so that a reader never sees it half-written: the data goes
 * to a temporary sibling, is flushed to disk, and is renamed over the target
 * (rename is atomic within a folder). A crash leaves the old file or the new
 * one, never a mix; the temporary file is removed when the write fails.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Write `data` to `file` and flush it to disk before returning. */
export function writeFileDurable(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileDurable(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
