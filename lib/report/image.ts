/**
 * A grid of dataset images as a PNG, for showing samples in notebooks.
 */
import { PNG } from 'pngjs';
import type { ImageDataset } from '../data/types';

export interface GridOptions {
  /** Images per row. Default: all in one row, at most 10. */
  cols?: number;
  /** Integer upscaling of each pixel (small images are hard to see). Default 3. */
  scale?: number;
  /** Gap between images, in output pixels. Default 2. */
  gap?: number;
}

/** Encode the images at `indices` of `ds` as one PNG grid (grey or RGB). */
export function imageGridPng(ds: ImageDataset, indices: number[], options: GridOptions = {}): Buffer {
  if (indices.length === 0) throw new Error('imageGridPng: give at least one image index');
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= ds.n) throw new Error(`imageGridPng: index ${i} is outside 0..${ds.n - 1} of ${ds.name}`);
  }
  const [h, w, c] = ds.shape;
  const cols = Math.max(1, options.cols ?? Math.min(indices.length, 10));
  const rows = Math.ceil(indices.length / cols);
  const scale = Math.max(1, Math.round(options.scale ?? 3));
  const gap = Math.max(0, Math.round(options.gap ?? 2));
  const width = cols * w * scale + (cols - 1) * gap;
  const height = rows * h * scale + (rows - 1) * gap;
  const png = new PNG({ width, height });
  png.data.fill(255);
  const per = h * w * c;
  indices.forEach((idx, k) => {
    const ox = (k % cols) * (w * scale + gap);
    const oy = Math.floor(k / cols) * (h * scale + gap);
    for (let y = 0; y < h * scale; y++) {
      for (let x = 0; x < w * scale; x++) {
        const src = idx * per + (Math.floor(y / scale) * w + Math.floor(x / scale)) * c;
        const dst = ((oy + y) * width + ox + x) * 4;
        for (let ch = 0; ch < 3; ch++) {
          const v = ds.images[src + (c === 1 ? 0 : ch)];
          png.data[dst + ch] = Math.max(0, Math.min(255, Math.round(v * 255)));
        }
        png.data[dst + 3] = 255;
      }
    }
  });
  return PNG.sync.write(png);
}
