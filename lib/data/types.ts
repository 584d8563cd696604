// Shapes shared across the data pipeline.
import { ArgumentRangeError } from '../errors';

/**
 * A split of a data set held in memory: `count` images of `height` x `width`
 * RGB pixels, stored as one uint8 array in NHWC order (image, row, column,
 * channel), with one class index per image.
 */
export interface ImageSet {
  /** uint8 pixels, NHWC: `images[((n * height + y) * width + x) * 3 + c]`. */
  images: Uint8Array;
  /** Class index of each image, into `classNames`. */
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: 3;
  /** Class names; a label is a position in this list. */
  classNames: string[];
}

/** [height, width], in Keras' `target_size` order. */
export type TargetSize = readonly [number, number];

/** What the pipeline is doing, for progress bars and logs. */
export type ProgressPhase = 'download' | 'read' | 'decode' | 'cache';

/**
 * A progress report. `done` and `total` count bytes for 'download' and
 * 'read', images for 'decode'; `total` is undefined when unknown.
 */
export interface ProgressEvent {
  phase: ProgressPhase;
  done: number;
  total?: number;
  /** The file or URL being worked on. */
  file?: string;
  /** A one-line human-readable note (e.g. "using the decode cache"). */
  message?: string;
}

export type ProgressListener = (event: ProgressEvent) => void;

/** Builds an ImageSet after checking that the arrays agree with the sizes. */
export function makeImageSet(images: Uint8Array, labels: Int32Array, height: number, width: number, classNames: string[]): ImageSet {
  const count = labels.length;
  if (images.length !== count * height * width * 3) {
    throw new ArgumentRangeError(`ImageSet: ${images.length} pixel bytes do not hold ${count} images of ${height}x${width}x3`);
  }
  return { images, labels, count, height, width, channels: 3, classNames };
}
