// Decoding one image file to uint8 RGB pixels of the target size, in a
// streaming worker: plain resize, resize-shorter-side + centre crop, or a
// random resized crop drawn from a seeded Rng (so a batch's crops depend
// only on the seed, the epoch and the image's place in it).
import * as fs from 'node:fs';
import sharp, { type Sharp } from 'sharp';
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

/** Decodes `file` to uint8 RGB [height, width, 3]; throws with libvips' first line on a bad file. */
export async function decodeFile(file: string, target: DecodeTarget, rng: Rng): Promise<Buffer> {
  const bytes = await fs.promises.readFile(file);
  // No EXIF rotation, as the in-memory path and PIL (torchvision's ImageFolder) decode.
  const decoder = sharp(bytes, { failOn: 'warning' });
  if (target.transform === 'resize') return rgb(decoder.resize(target.width, target.height, { fit: 'fill' }), target);
  // The crops need the (EXIF-rotated) size: decode once to raw RGB, then crop and resize that.
  const { data, info } = await decoder.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const raw = () => sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
  if (target.transform === 'random-resized-crop') {
    const box = randomCropBox(rng, info.width, info.height, target.crop);
    return rgb(raw().extract(box).resize(target.width, target.height, { fit: 'fill' }), target);
  }
  const scale = target.resizeShorter / Math.min(info.width, info.height);
  const width = Math.max(target.width, Math.round(info.width * scale));
  const height = Math.max(target.height, Math.round(info.height * scale));
  const resized = await raw().resize(width, height, { fit: 'fill' }).raw().toBuffer();
  const box = { left: Math.floor((width - target.width) / 2), top: Math.floor((height - target.height) / 2), width: target.width, height: target.height };
  return rgb(sharp(resized, { raw: { width, height, channels: info.channels } }).extract(box), target);
}

async function rgb(image: Sharp, target: DecodeTarget): Promise<Buffer> {
  const { data, info } = await image.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.width !== target.width || info.height !== target.height || info.channels !== 3) {
    throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${target.width}x${target.height}x3`);
  }
  return data;
}
