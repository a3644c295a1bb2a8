/**
 * The IDX format of the MNIST release (http://yann.lecun.com/exdb/mnist/):
 * a big-endian 32-bit magic (0x0000 08 ND: unsigned bytes, ND dimensions),
 * ND big-endian 32-bit sizes, then the bytes in row-major order.
 * Images are magic 2051 (ND = 3: n, rows, cols); labels 2049 (ND = 1: n).
 */

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * Parse an unsigned-byte IDX file, checking its magic number and that its
 * size is exactly header + product(dims): a truncated or padded file is an
 * error, not a silently shorter dataset.
 */
export function parseIdx(buf: Buffer, file: string, expectedMagic: number): IdxArray {
  const nd = expectedMagic & 0xff;
  const layout =
    expectedMagic === IDX_IMAGES_MAGIC
      ? 'IDX images: int32 magic 2051, int32 count, int32 rows, int32 cols, then count*rows*cols unsigned bytes (big-endian header)'
      : expectedMagic === IDX_LABELS_MAGIC
        ? 'IDX labels: int32 magic 2049, int32 count, then count unsigned bytes (big-endian header)'
        : `IDX with magic ${expectedMagic}`;
  const headerBytes = 4 + 4 * nd;
  if (buf.length < headerBytes) {
    throw new Error(`${file}: only ${buf.length} bytes, shorter than the ${headerBytes}-byte header; expected ${layout}`);
  }
  const magic = buf.readUInt32BE(0);
  if (magic !== expectedMagic) {
    throw new Error(`${file}: magic number ${magic}, expected ${expectedMagic}; expected ${layout}`);
  }
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const expected = headerBytes + dims.reduce((a, b) => a * b, 1);
  if (buf.length !== expected) {
    throw new Error(
      `${file}: ${buf.length} bytes but header dims [${dims.join(', ')}] need exactly ${expected} ` +
        `(${buf.length < expected ? 'truncated' : 'trailing bytes'}); expected ${layout}`,
    );
  }
  // A view, not a copy: callers copy into their own arrays.
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + headerBytes, expected - headerBytes) };
}
