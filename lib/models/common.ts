/**
 * Small pieces shared by the model builders: seeded initialisers, the width
 * multiplier, and option checks. Kept apart so every architecture file reads
 * as its layer list only.
 */
import * as tfl from '@tensorflow/tfjs-layers';

/** Options every builder in the zoo accepts (unknown archs ignore what does not apply). */
export interface ZooOptions {
  /**
   * Number of affine layers in f_L. Their activations are ReLU_theta
   * (Appendix B, eq. 19); 0 means plain randomized smoothing.
   */
  splitAfter?: number;
  /** Clip level of ReLU_theta. Default 1 (Appendix C). */
  theta?: number;
  /** Seed for every weight initialiser, so a run is repeatable. */
  seed?: number;
  /** Channel / unit multiplier for the Lipschitz-figure nets, so a CPU can train them briefly. Default 1. */
  width?: number;
  /** Number of classes. Default 10. */
  numClasses?: number;
}

type Initializer = ReturnType<typeof tfl.initializers.heNormal>;

/**
 * Hands out one initialiser per layer. With a seed, layer k gets seed + k, so
 * two builds with the same seed have identical weights; without one, tfjs'
 * own random state is used.
 */
export class InitSource {
  private k = 0;
  constructor(private readonly seed: number | undefined) {}

  /** He et al. (2015) fan-out normal, as Cohen et al.'s ResNet code initialises its convolutions. */
  heConv(): Initializer | undefined {
    const k = ++this.k;
    if (this.seed === undefined) return tfl.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal' });
    return tfl.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal', seed: this.seed + k });
  }

  /** Glorot uniform, tfjs' default for dense layers. */
  glorot(): Initializer | undefined {
    const k = ++this.k;
    return this.seed === undefined ? undefined : tfl.initializers.glorotUniform({ seed: this.seed + k });
  }
}

/** Scales a channel count by the width multiplier, never below 1. */
export function scaled(channels: number, width: number): number {
  return Math.max(1, Math.round(channels * width));
}

export function checkWidth(name: string, width: number | undefined): number {
  const w = width ?? 1;
  if (!(w > 0) || !Number.isFinite(w)) throw new Error(`${name}: width must be a positive multiplier (1 = the published width), got ${width}`);
  return w;
}

export function checkSplit(name: string, splitAfter: number | undefined, max: number, fallback: number, why: string): number {
  const s = splitAfter ?? fallback;
  if (!Number.isInteger(s) || s < 0 || s > max) {
    throw new Error(`${name}: splitAfter must be an integer in 0..${max} (${why}), got ${splitAfter}`);
  }
  return s;
}

export function checkSeed(name: string, seed: number | undefined): void {
  if (seed !== undefined && !Number.isInteger(seed)) throw new Error(`${name}: seed must be an integer, got ${seed}`);
}
