// Batched augmentation: per-image random parameters are drawn in JS (a few
// numbers per image, from the seeded Rng), sent to the device as one small
// tensor, and every per-pixel step is a tensor op over the whole batch.
//
//   gatherCropFlip  uint8 NHWC -> uint8 NHWC: picks the batch's images and,
//                   in the same index op, crops a window of the padded image
//                   and mirrors it (padding is done in index space, so no
//                   padded copy is ever made)
//   affine          float NCHW: rotation and shifts (the seed's Keras
//                   ImageDataGenerator), as one affine grid + grid sample
//   cutout          float NCHW: zeroes one square per image (DeVries & Taylor)
import type { Device } from '../device';
import { arange, tensor } from '../ops/creation';
import { affineGrid, gridSample } from '../ops/nn';
import type { Tensor } from '../tensor';
import type { Rng } from './rng';
import { ArgumentRangeError, ArgumentTypeError } from '../errors';

/** How to fill what a crop's padding or a transform brings in from outside the image. */
export type CropPadding = 'zeros' | 'reflect';
export type AffineFill = 'border' | 'zeros' | 'reflection';

export interface AugmentOptions {
  /** Random crop of the image padded by `padding` pixels per side (zeros: black, or reflect). */
  crop?: { padding: number; mode?: CropPadding };
  /** Mirror left-right with probability 1/2. */
  flip?: boolean;
  /** Zero one `size` x `size` square per image, centred anywhere in it (clipped at the edges). */
  cutout?: { size: number };
  /**
   * Random shift by up to `fraction` of the width and height, with bilinear
   * interpolation (Keras' width_shift_range / height_shift_range).
   * `fill` for pixels from outside: 'border' (default; Keras' 'nearest'),
   * 'zeros' (zero after normalisation: the mean colour), 'reflection'.
   */
  translate?: { fraction: number; fill?: AffineFill };
  /**
   * Random rotation by up to `degrees` either way (Keras' rotation_range); `fill` as for translate.
   * Rotation and shift run as one transform, so they share one fill: set it on either (or the same on both).
   */
  rotate?: { degrees: number; fill?: AffineFill };
}

/** Validated augmentation settings for images of one size. */
export interface AugmentPlan {
  padding: number;
  paddingMode: CropPadding;
  flip: boolean;
  cutout: number;
  translate: number;
  rotateRadians: number;
  fill: AffineFill;
  /** Whether the crop/flip gather, the affine transform and cutout run at all. */
  gathers: boolean;
  affine: boolean;
  /** Whether any of them draws random numbers (an unshuffled loader without one serves plain slices). */
  random: boolean;
}

export function planAugment(options: AugmentOptions | undefined, height: number, width: number): AugmentPlan {
  const o = options ?? {};
  const padding = o.crop?.padding ?? 0;
  const paddingMode = o.crop?.mode ?? 'zeros';
  if (!Number.isInteger(padding) || padding < 0) throw new ArgumentTypeError(`augment.crop.padding must be a non-negative integer, got ${padding}`);
  if (paddingMode !== 'zeros' && paddingMode !== 'reflect') throw new ArgumentTypeError(`augment.crop.mode must be 'zeros' or 'reflect', got ${JSON.stringify(paddingMode)}`);
  if (paddingMode === 'reflect' && padding >= Math.min(height, width)) {
    throw new ArgumentRangeError(`augment.crop: reflect padding (${padding}) must be smaller than the image (${height}x${width})`);
  }
  const cutout = o.cutout?.size ?? 0;
  if (!Number.isInteger(cutout) || cutout < 0) throw new ArgumentTypeError(`augment.cutout.size must be a non-negative integer, got ${cutout}`);
  const translate = o.translate?.fraction ?? 0;
  if (!(translate >= 0 && translate < 1)) throw new ArgumentRangeError(`augment.translate.fraction must be in [0, 1), got ${translate}`);
  const degrees = o.rotate?.degrees ?? 0;
  if (!(degrees >= 0 && degrees <= 180)) throw new ArgumentRangeError(`augment.rotate.degrees must be in [0, 180], got ${degrees}`);
  // Rotation and shift are one affine transform sampled once, so one fill
  // covers both: two different ones are an error rather than one ignored.
  if (o.rotate?.fill !== undefined && o.translate?.fill !== undefined && o.rotate.fill !== o.translate.fill) {
    throw new ArgumentTypeError(
      `augment.rotate.fill (${JSON.stringify(o.rotate.fill)}) and augment.translate.fill (${JSON.stringify(o.translate.fill)}) differ: ` +
        'rotation and shift are applied as one transform with one fill; give the same fill to both, or set it on one',
    );
  }
  const fill = o.rotate?.fill ?? o.translate?.fill ?? 'border';
  if (!['border', 'zeros', 'reflection'].includes(fill)) throw new ArgumentTypeError(`augment fill must be 'border', 'zeros' or 'reflection', got ${JSON.stringify(fill)}`);
  const flip = o.flip ?? false;
  const gathers = padding > 0 || flip;
  const affineUsed = o.translate !== undefined || o.rotate !== undefined;
  return {
    padding,
    paddingMode,
    flip,
    cutout,
    translate,
    rotateRadians: (degrees * Math.PI) / 180,
    fill,
    gathers,
    affine: affineUsed,
    random: gathers || affineUsed || cutout > 0,
  };
}

/** Columns of the per-image integer parameters. */
export const PARAM = { index: 0, rowStart: 1, colStart: 2, colStep: 3, cutTop: 4, cutLeft: 5 } as const;
export const PARAM_COUNT = 6;

/**
 * Draws the random parameters of one batch: an int32 [B, PARAM_COUNT] table
 * (source index, crop window, flip as a column step, cutout corner) and, for
 * affine transforms, float32 [B, 2, 3] matrices. Draw order is fixed per
 * image, so the same Rng state gives the same batch.
 */
export function drawBatchParams(
  rng: Rng,
  indices: ArrayLike<number>,
  plan: AugmentPlan,
  height: number,
  width: number,
): { ints: Int32Array; theta: Float32Array | undefined } {
  const count = indices.length;
  const ints = new Int32Array(count * PARAM_COUNT);
  const theta = plan.affine ? new Float32Array(count * 6) : undefined;
  const span = 2 * plan.padding + 1;
  const half = Math.floor(plan.cutout / 2);
  for (let i = 0; i < count; i++) {
    const row = i * PARAM_COUNT;
    ints[row + PARAM.index] = indices[i]!;
    const dy = plan.padding > 0 ? rng.nextInt(span) - plan.padding : 0;
    const dx = plan.padding > 0 ? rng.nextInt(span) - plan.padding : 0;
    const mirrored = plan.flip && rng.bernoulli(0.5);
    ints[row + PARAM.rowStart] = dy;
    ints[row + PARAM.colStart] = mirrored ? dx + width - 1 : dx;
    ints[row + PARAM.colStep] = mirrored ? -1 : 1;
    if (plan.cutout > 0) {
      ints[row + PARAM.cutTop] = rng.nextInt(height) - half;
      ints[row + PARAM.cutLeft] = rng.nextInt(width) - half;
    }
    if (theta !== undefined) {
      const angle = plan.rotateRadians > 0 ? rng.uniform(-plan.rotateRadians, plan.rotateRadians) : 0;
      // Shifts in normalised coordinates, where the image spans [-1, 1]: a fraction f of the size is 2f.
      const tx = plan.translate > 0 ? rng.uniform(-2 * plan.translate, 2 * plan.translate) : 0;
      const ty = plan.translate > 0 ? rng.uniform(-2 * plan.translate, 2 * plan.translate) : 0;
      writeAffine(theta, i, angle, tx, ty, height, width);
    }
  }
  return { ints, theta };
}

/**
 * Writes the [2, 3] matrix that maps output to input coordinates (affine_grid's
 * convention) for a rotation by `angle` about the centre and a shift, with
 * the aspect ratio taken into account so rotations stay rigid on non-square images.
 */
export function writeAffine(theta: Float32Array, image: number, angle: number, tx: number, ty: number, height: number, width: number): void {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const at = image * 6;
  theta[at] = cos;
  theta[at + 1] = (-sin * height) / width;
  theta[at + 2] = tx;
  theta[at + 3] = (sin * width) / height;
  theta[at + 4] = cos;
  theta[at + 5] = ty;
}

/** Uploads a batch's parameters: int64 [B, PARAM_COUNT] and float32 [B, 2, 3] on `device`. */
export function uploadParams(params: { ints: Int32Array; theta: Float32Array | undefined }, device: Device): { ints: Tensor; theta: Tensor | undefined } {
  const count = params.ints.length / PARAM_COUNT;
  const ints = tensor(params.ints, [count, PARAM_COUNT], { device }).to('int64');
  const theta = params.theta === undefined ? undefined : tensor(params.theta, [count, 2, 3], { device });
  return { ints, theta };
}

/**
 * Gathers images `ints[:, index]` from `images` (uint8 [N, H, W, C]) as
 * windows of the padded image: output row i of image b is source row
 * rowStart[b] + i, output column j is colStart[b] + colStep[b] * j (a step
 * of -1 mirrors). Rows and columns outside the image are reflected, or
 * (zeros) read as 0.
 */
export function gatherCropFlip(images: Tensor, ints: Tensor, paddingMode: CropPadding): Tensor {
  const [, height, width, channels] = images.shape as [number, number, number, number];
  const device = images.device;
  const column = (k: number): Tensor => ints.select(1, k).unsqueeze(1);
  const rowOffsets = arange(0, height, 1, { dtype: 'int64', device }).unsqueeze(0);
  const colOffsets = arange(0, width, 1, { dtype: 'int64', device }).unsqueeze(0);
  let rows = rowOffsets.add(column(PARAM.rowStart)); // [B, H]
  let cols = colOffsets.mul(column(PARAM.colStep)).add(column(PARAM.colStart)); // [B, W]
  let inside: Tensor | undefined;
  if (paddingMode === 'reflect') {
    // -k -> k and (size-1)+k -> (size-1)-k: abs, then the same around size-1.
    rows = rows.abs().neg().add(height - 1).abs().neg().add(height - 1);
    cols = cols.abs().neg().add(width - 1).abs().neg().add(width - 1);
  } else {
    const rowInside = rows.ge(0).logicalAnd(rows.lt(height)); // [B, H]
    const colInside = cols.ge(0).logicalAnd(cols.lt(width)); // [B, W]
    inside = rowInside.unsqueeze(2).logicalAnd(colInside.unsqueeze(1)).unsqueeze(3); // [B, H, W, 1]
    rows = rows.clamp(0, height - 1);
    cols = cols.clamp(0, width - 1);
  }
  // One flat index per output pixel into images viewed as [N*H*W, C].
  const base = column(PARAM.index).mul(height * width); // [B, 1]
  const flat = base.unsqueeze(2).add(rows.mul(width).unsqueeze(2)).add(cols.unsqueeze(1)); // [B, H, W]
  const count = flat.size(0);
  const gathered = images.view([-1, channels]).indexSelect(0, flat.view([-1])).view([count, height, width, channels]);
  return inside === undefined ? gathered : gathered.mul_(inside);
}

/** Rotates/shifts float images [B, C, H, W] by `theta` [B, 2, 3] (bilinear). */
export function affine(images: Tensor, theta: Tensor, fill: AffineFill): Tensor {
  const [count, channels, height, width] = images.shape as [number, number, number, number];
  const grid = affineGrid(theta, [count, channels, height, width], false);
  return gridSample(images, grid, { mode: 'bilinear', paddingMode: fill === 'zeros' ? 'zeros' : fill, alignCorners: false });
}

/** Zeroes, in place, a size x size square per image with top-left corner (cutTop, cutLeft) from `ints`. */
export function cutout_(images: Tensor, ints: Tensor, size: number): Tensor {
  const [, , height, width] = images.shape as [number, number, number, number];
  const device = images.device;
  const inside = (extent: number, start: Tensor): Tensor => {
    const offset = arange(0, extent, 1, { dtype: 'int64', device }).unsqueeze(0).sub(start.unsqueeze(1)); // [B, extent]
    return offset.ge(0).logicalAnd(offset.lt(size));
  };
  const rows = inside(height, ints.select(1, PARAM.cutTop)); // [B, H]
  const cols = inside(width, ints.select(1, PARAM.cutLeft)); // [B, W]
  const mask = rows.unsqueeze(2).logicalAnd(cols.unsqueeze(1)).unsqueeze(1); // [B, 1, H, W]
  return images.maskedFill_(mask, 0);
}
