// Progressive resizing: early epochs train on smaller images, which cost
// less per image, and the size grows to the full size by a given epoch, so
// more epochs fit in the same time and the last ones see full-size images
// (as in fast.ai's DAWNBench runs and FFCV's ResNet recipes).
import { adaptiveAvgPool2d } from '../ops/nn';
import type { Tensor } from '../tensor';

export interface ProgressiveResize {
  /** [height, width] of the first epoch's images. */
  startSize: [number, number];
  /** First epoch (1-based) at the full size; the size grows linearly until then. */
  fullSizeEpoch: number;
  /** Sizes are rounded down to a multiple of this many pixels, but not below startSize (default 8). */
  multiple?: number;
}

/**
 * The [height, width] to train on in `epoch` (1-based), for images of
 * `fullSize`. A run of `epochs` shorter than the plan reaches the full size
 * in its last epoch: the test runs at the full size, and a model that never
 * trained at it scores near chance (17% after 2 epochs at 32x32 tested at 64x64).
 */
export function imageSizeForEpoch(epoch: number, fullSize: readonly [number, number], plan: ProgressiveResize | null, epochs = Infinity): [number, number] {
  const fullSizeEpoch = plan === null ? 1 : Math.min(plan.fullSizeEpoch, epochs);
  if (plan === null || epoch >= fullSizeEpoch) return [fullSize[0], fullSize[1]];
  const progress = fullSizeEpoch <= 1 ? 1 : (epoch - 1) / (fullSizeEpoch - 1);
  const multiple = plan.multiple ?? 8;
  const side = (start: number, full: number): number => {
    if (start >= full) return full;
    const exact = start + progress * (full - start);
    return Math.max(start, Math.floor(exact / multiple) * multiple);
  };
  return [side(plan.startSize[0], fullSize[0]), side(plan.startSize[1], fullSize[1])];
}

/**
 * Shrinks a batch of [N, C, H, W] images to `size` by area averaging (the
 * resize that does not alias when shrinking); returns `images` itself when
 * the size already matches.
 */
export function resizeBatch(images: Tensor, size: readonly [number, number]): Tensor {
  const [, , height, width] = images.shape as [number, number, number, number];
  if (height === size[0] && width === size[1]) return images;
  return adaptiveAvgPool2d(images, [size[0], size[1]]);
}
