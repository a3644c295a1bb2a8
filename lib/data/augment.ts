/**
 * CIFAR-10 training augmentation of Cohen et al. (torchvision
 * RandomCrop(32, padding=4) then RandomHorizontalFlip()): a crop of the image
 * zero-padded by 4 on each side, shifted by (dy, dx) in [-4, 4], then a
 * mirror with probability 1/2. Works on the flat channels-last batch array,
 * so it costs one copy per batch and no tensors.
 */
import seedrandom from 'seedrandom';

export interface CropFlipParams {
  /** Vertical shift of the crop window per image, in [-pad, pad]. */
  dy: Int8Array;
  /** Horizontal shift per image, in [-pad, pad]. */
  dx: Int8Array;
  /** 1 where the image is mirrored left-right. */
  flip: Uint8Array;
}

/**
 * Apply given crop shifts and flips: out(y, x) = in(y + dy, x' + dx) where
 * x' = W-1-x when flipped (crop first, then flip), and 0 outside the image
 * (the zero padding). Pure and deterministic.
 */
export function cropFlip(batch: Float32Array, n: number, shape: readonly [number, number, number], p: CropFlipParams): Float32Array {
  const [h, w, c] = shape;
  const d = h * w * c;
  if (batch.length !== n * d) throw new Error(`cropFlip: batch has ${batch.length} values, expected n*H*W*C = ${n * d}`);
  const out = new Float32Array(n * d); // zeros = the padding
  for (let i = 0; i < n; i++) {
    const base = i * d;
    const dy = p.dy[i];
    const dx = p.dx[i];
    const flip = p.flip[i] === 1;
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      if (sy < 0 || sy >= h) continue;
      for (let x = 0; x < w; x++) {
        const cx = flip ? w - 1 - x : x; // position in the crop before mirroring
        const sx = cx + dx;
        if (sx < 0 || sx >= w) continue;
        const o = base + (y * w + x) * c;
        const s = base + (sy * w + sx) * c;
        for (let ch = 0; ch < c; ch++) out[o + ch] = batch[s + ch];
      }
    }
  }
  return out;
}

export interface AugmentOptions {
  /** Zero padding on each side (default 4). */
  pad?: number;
  /** Flip probability (default 0.5; 1 forces a flip, 0 none). */
  flipProb?: number;
}

/** Draw crop shifts and flips for n images from `rng` (a seedrandom PRNG). */
export function drawCropFlip(n: number, rng: () => number, options: AugmentOptions = {}): CropFlipParams {
  const pad = options.pad ?? 4;
  const flipProb = options.flipProb ?? 0.5;
  if (!Number.isInteger(pad) || pad < 0 || pad > 127) throw new Error(`augment: pad must be an integer in 0..127, got ${pad}`);
  const dy = new Int8Array(n);
  const dx = new Int8Array(n);
  const flip = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    // Uniform over the 2*pad+1 crop positions, as torchvision's RandomCrop.
    dy[i] = Math.floor(rng() * (2 * pad + 1)) - pad;
    dx[i] = Math.floor(rng() * (2 * pad + 1)) - pad;
    flip[i] = rng() < flipProb ? 1 : 0;
  }
  return { dy, dx, flip };
}

/** Random crop + flip of a flat batch; deterministic given `seed`. */
export function randomCropFlip(
  batch: Float32Array,
  n: number,
  shape: readonly [number, number, number],
  seed: string | number,
  options: AugmentOptions = {},
): { images: Float32Array; params: CropFlipParams } {
  const params = drawCropFlip(n, seedrandom(String(seed)), options);
  return { images: cropFlip(batch, n, shape, params), params };
}
