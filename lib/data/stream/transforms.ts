// Decoding one encoded image to uint8 RGB pixels of the target size, in a
// streaming worker: plain resize, resize-shorter-side + centre crop, or a
// random resized crop drawn from a seeded Rng (so a batch's crops depend
// only on the seed, the epoch and the image's place in it).
import sharp, { type Sharp } from 'sharp';
import { readImageHeader } from '../image-header';
import type { Rng } from '../rng';
import type { RandomResizedCropOptions, StreamTransform } from './protocol';

export interface CropBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * torchvision's RandomResizedCrop rule: up to 10 tries at a random area
 * fraction and log-uniform aspect ratio that fit the image, else the
 * centre crop at the nearest allowed ratio.
 */
export function randomCropBox(rng: Rng, imageWidth: number, imageHeight: number, options: RandomResizedCropOptions): CropBox {
  const area = imageWidth * imageHeight;
  const [logLow, logHigh] = [Math.log(options.ratio[0]), Math.log(options.ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(options.scale[0], options.scale[1]);
    const ratio = Math.exp(rng.uniform(logLow, logHigh));
    const width = Math.round(Math.sqrt(target * ratio));
    const height = Math.round(Math.sqrt(target / ratio));
    if (width > 0 && height > 0 && width <= imageWidth && height <= imageHeight) {
      return { left: rng.nextInt(imageWidth - width + 1), top: rng.nextInt(imageHeight - height + 1), width, height };
    }
  }
  const ratio = imageWidth / imageHeight;
  let width = imageWidth;
  let height = imageHeight;
  if (ratio < options.ratio[0]) height = Math.round(width / options.ratio[0]);
  else if (ratio > options.ratio[1]) width = Math.round(height * options.ratio[1]);
  return { left: Math.floor((imageWidth - width) / 2), top: Math.floor((imageHeight - height) / 2), width, height };
}

export interface DecodeTarget {
  height: number;
  width: number;
  transform: StreamTransform;
  resizeShorter: number;
  crop: RandomResizedCropOptions;
}

/** Decodes an encoded image to uint8 RGB [height, width, 3]; throws with libvips' first line on a bad file. */
export async function decodeImage(bytes: Buffer, target: DecodeTarget, rng: Rng): Promise<Buffer> {
  // No EXIF rotation, as the in-memory path and PIL (torchvision's ImageFolder) decode.
  const decoder = sharp(bytes, { failOn: 'warning' });
  if (target.transform === 'resize') return rgb(decoder.resize(target.width, target.height, { fit: 'fill' }), target);
  // The crops need the image's size: from the header when it says (JPEG, PNG), else from libvips.
  const header = readImageHeader(bytes);
  const size = header.width !== undefined && header.height !== undefined ? { width: header.width, height: header.height } : await decoder.metadata();
  if (size.width === undefined || size.height === undefined) throw new Error('cannot tell the image size');
  if (target.transform === 'random-resized-crop') {
    const box = randomCropBox(rng, size.width, size.height, target.crop);
    // Bilinear, as torchvision's RandomResizedCrop (and cheaper than sharp's default lanczos3: 217 -> 280 img/s in bench/stream.ts).
    return rgb(decoder.extract(box).resize(target.width, target.height, { fit: 'fill', kernel: 'linear' }), target);
  }
  const scale = target.resizeShorter / Math.min(size.width, size.height);
  const width = Math.max(target.width, Math.round(size.width * scale));
  const height = Math.max(target.height, Math.round(size.height * scale));
  // extract() after resize() crops the resized image, in the same pipeline.
  const box = { left: Math.floor((width - target.width) / 2), top: Math.floor((height - target.height) / 2), width: target.width, height: target.height };
  return rgb(decoder.resize(width, height, { fit: 'fill' }).extract(box), target);
}

async function rgb(image: Sharp, target: DecodeTarget): Promise<Buffer> {
  const { data, info } = await image.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.width !== target.width || info.height !== target.height || info.channels !== 3) {
    throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${target.width}x${target.height}x3`);
  }
  return data;
}
