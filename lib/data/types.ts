/**
 * An image classification dataset held as one flat typed array, so batches
 * are slices of it rather than one tensor per image.
 */
export interface ImageDataset {
  /** Dataset name and variant, e.g. 'mnist', 'cifar10' or 'cifar10-jpeg'. */
  name: string;
  /** Pixels in [0, 1], channels last: images[i * H*W*C + (y*W + x)*C + c]. */
  images: Float32Array;
  /** Class index of each image. */
  labels: Uint8Array;
  /** Number of images. */
  n: number;
  /** Shape of one image: [height, width, channels]. */
  shape: [number, number, number];
  /** Class names in label order. */
  classes: string[];
  /** Where the data was read from (file or directory), for reports; absent for derived datasets. */
  source?: string;
}
