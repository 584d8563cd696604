// Decoding encoded images (JPEG, PNG, and whatever else sharp reads) into
// one uint8 NHWC array, in parallel on sharp's (libuv's) thread pool.
//
// Two paths:
// - Batched: baseline JPEGs already at the target size are packed, a few
//   hundred at a time, as pages of one TIFF (see jpeg-tiff.ts) and decoded
//   by one sharp call. This is what makes 60,000 CIFAR-10 JPEGs fast.
// - Per image: everything else (PNG, progressive JPEG, other sizes, grayscale
//   or alpha), one sharp call each: resized to the target size like Keras'
//   `target_size` (fit 'fill': the aspect ratio is not kept), alpha dropped,
//   grayscale made RGB.
// A batch that fails or warns is decoded again image by image, so an error
// always names the one file at fault.
import * as fs from 'node:fs';
import * as os from 'node:os';
import sharp from 'sharp';
import { DataError, describeFsError } from './errors';
import { readImageHeader, type ImageHeader, type JpegHeader } from './image-header';
import { packJpegsAsTiff } from './jpeg-tiff';
import type { ProgressListener, TargetSize } from './types';
import { ArgumentRangeError, ArgumentTypeError } from '../errors';

/** One image to decode: its bytes, or a file to read them from. `name` is what errors show. */
export interface EncodedImage {
  name: string;
  data?: Uint8Array;
  path?: string;
}

export interface DecodeOptions {
  /** [height, width] to resize to; default: the size of the first image, which all must then share. */
  targetSize?: TargetSize;
  onProgress?: ProgressListener;
  /** Batches decoded at once (default: the number of CPUs, at least 2). */
  concurrency?: number;
}

export interface DecodedImages {
  /** uint8 NHWC pixels, RGB. */
  pixels: Uint8Array;
  count: number;
  height: number;
  width: number;
  /** How many images took the batched JPEG path (the rest were decoded one by one). */
  batchedCount: number;
}

/** Images per batch: a few hundred small images, fewer large ones. */
const MAX_BATCH_IMAGES = 256;
const MAX_BATCH_PIXELS = 1 << 22;

/** Decodes `images` in order into one NHWC uint8 array. */
export async function decodeEncodedImages(images: readonly EncodedImage[], options: DecodeOptions = {}): Promise<DecodedImages> {
  const [height, width] = options.targetSize === undefined ? await sizeOfFirst(images) : checkTargetSize(options.targetSize);
  // A corrupt header can claim up to 2^32 x 2^32 pixels; sharp decodes at most 0x3FFF x 0x3FFF (its limitInputPixels), so refuse before allocating.
  if (options.targetSize === undefined && height * width > 0x3fff * 0x3fff) throw new DataError(images[0]!.name, `cannot decode image: its header claims ${width}x${height} pixels, more than the decoder accepts (corrupt file?)`);
  const frameBytes = height * width * 3;
  const pixels = new Uint8Array(images.length * frameBytes);
  const batchSize = Math.max(1, Math.min(MAX_BATCH_IMAGES, Math.floor(MAX_BATCH_PIXELS / (height * width))));
  const ranges: [number, number][] = [];
  for (let start = 0; start < images.length; start += batchSize) ranges.push([start, Math.min(images.length, start + batchSize)]);

  const progress = throttledProgress(options.onProgress, images.length);
  let next = 0;
  let done = 0;
  let batchedCount = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < ranges.length && !failed) {
      const [start, end] = ranges[next++]!;
      try {
        batchedCount += await decodeRange(images, start, end, height, width, options.targetSize === undefined, pixels);
      } catch (error) {
        failed = true; // the other workers stop at their next batch
        throw error;
      }
      done += end - start;
      progress(done);
    }
  };
  const concurrency = options.concurrency ?? Math.max(2, os.availableParallelism());
  await Promise.all(Array.from({ length: Math.min(concurrency, ranges.length) }, worker));
  return { pixels, count: images.length, height, width, batchedCount };
}

/**
 * Decodes image files into one uint8 NHWC RGB array (e.g. for predict()).
 * Without `targetSize`, all images must have the size of the first.
 */
export async function decodeImages(files: readonly string[], options: { targetSize?: TargetSize } = {}): Promise<Uint8Array> {
  const decoded = await decodeEncodedImages(
    files.map((file) => ({ name: file, path: file })),
    options,
  );
  return decoded.pixels;
}

function checkTargetSize(size: TargetSize): [number, number] {
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v > 0 && v <= 16384)) {
    throw new ArgumentTypeError(`targetSize must be [height, width] with positive integers, got ${JSON.stringify(size)}`);
  }
  return [size[0], size[1]];
}

function bytesOf(image: EncodedImage): Uint8Array {
  if (image.data !== undefined) return image.data;
  if (image.path === undefined) throw new ArgumentTypeError(`image '${image.name}' has neither data nor path`);
  try {
    return fs.readFileSync(image.path);
  } catch (error) {
    throw new DataError(image.path, `cannot read image (${describeFsError(error)})`, { cause: error });
  }
}

async function sizeOfFirst(images: readonly EncodedImage[]): Promise<[number, number]> {
  const first = images[0];
  if (first === undefined) throw new ArgumentRangeError('no images to decode');
  const data = bytesOf(first);
  const header = readImageHeader(data);
  if (header.width !== undefined && header.height !== undefined) return [header.height, header.width];
  try {
    const meta = await sharp(data).metadata();
    if (meta.width !== undefined && meta.height !== undefined) return [meta.height, meta.width];
  } catch (error) {
    throw new DataError(first.name, `cannot decode image: ${firstLine(error)}`, { cause: error });
  }
  throw new DataError(first.name, 'cannot tell the image size');
}

async function decodeRange(
  images: readonly EncodedImage[],
  start: number,
  end: number,
  height: number,
  width: number,
  sizesMustMatch: boolean,
  out: Uint8Array,
): Promise<number> {
  const frameBytes = height * width * 3;
  const datas: Uint8Array[] = [];
  const headers: ImageHeader[] = [];
  for (let i = start; i < end; i++) {
    const data = bytesOf(images[i]!);
    const header = readImageHeader(data);
    if (sizesMustMatch && header.width !== undefined && (header.width !== width || header.height !== height)) {
      throw new DataError(
        images[i]!.name,
        `image is ${header.width}x${header.height} but the first image is ${width}x${height}; pass targetSize to resize all images to one size`,
      );
    }
    datas.push(data);
    headers.push(header);
  }
  const batchable: number[] = [];
  const single: number[] = [];
  headers.forEach((header, k) => {
    const fits = header.format === 'jpeg' && header.batchable && header.width === width && header.height === height;
    (fits ? batchable : single).push(k);
  });
  let batchedCount = 0;
  if (batchable.length > 1) {
    const decoded = await decodeJpegBatch(
      batchable.map((k) => datas[k]!),
      batchable.map((k) => headers[k] as JpegHeader),
      height,
      width,
    );
    if (decoded === undefined) single.push(...batchable);
    else {
      batchable.forEach((k, j) => out.set(decoded.subarray(j * frameBytes, (j + 1) * frameBytes), (start + k) * frameBytes));
      batchedCount = batchable.length;
    }
  } else {
    single.push(...batchable);
  }
  await Promise.all(
    single.map(async (k) => {
      const pixels = await decodeSingle(datas[k]!, images[start + k]!.name, height, width, sizesMustMatch);
      out.set(pixels, (start + k) * frameBytes);
    }),
  );
  return batchedCount;
}

/** Decodes same-size baseline JPEGs as pages of one TIFF; undefined when libvips errs or warns. */
async function decodeJpegBatch(streams: Uint8Array[], headers: JpegHeader[], height: number, width: number): Promise<Buffer | undefined> {
  let warned = false;
  try {
    const pipeline = sharp(packJpegsAsTiff(streams, headers), { pages: -1, failOn: 'warning' });
    pipeline.on('warning', () => {
      warned = true;
    });
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    const ok = !warned && info.channels === 3 && info.width === width && info.height === height * streams.length;
    return ok ? data : undefined;
  } catch {
    return undefined; // decoded again one by one, which names the file at fault
  }
}

async function decodeSingle(data: Uint8Array, name: string, height: number, width: number, sizesMustMatch: boolean): Promise<Uint8Array> {
  let result: Uint8Array;
  let info: { width: number; height: number; channels: number };
  try {
    let pipeline = sharp(data, { failOn: 'warning' });
    // Resizing to the size an image already has is a no-op in sharp.
    if (!sizesMustMatch) pipeline = pipeline.resize(width, height, { fit: 'fill' });
    const decoded = await pipeline.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    result = decoded.data;
    info = decoded.info;
  } catch (error) {
    throw new DataError(name, `cannot decode image: ${firstLine(error)}`, { cause: error });
  }
  if (sizesMustMatch && (info.width !== width || info.height !== height)) {
    throw new DataError(name, `image is ${info.width}x${info.height} but the first image is ${width}x${height}; pass targetSize to resize all images to one size`);
  }
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    throw new DataError(name, `decoded to ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x3`);
  }
  return result;
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0]!;
}

/** Reports progress at most every 100 ms, and always at the end. */
function throttledProgress(listener: ProgressListener | undefined, total: number): (done: number) => void {
  let last = 0;
  return (done) => {
    if (listener === undefined) return;
    const now = Date.now();
    if (done < total && now - last < 100) return;
    last = now;
    listener({ phase: 'decode', done, total });
  };
}

/** Resizes NHWC uint8 images to `targetSize` with sharp (fit 'fill'), one image per call. */
export async function resizeImages(
  pixels: Uint8Array,
  count: number,
  height: number,
  width: number,
  targetSize: TargetSize,
  concurrency = Math.max(2, os.availableParallelism()),
): Promise<Uint8Array> {
  const [outHeight, outWidth] = checkTargetSize(targetSize);
  if (outHeight === height && outWidth === width) return pixels;
  const inBytes = height * width * 3;
  const outBytes = outHeight * outWidth * 3;
  const out = new Uint8Array(count * outBytes);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const resized = await sharp(pixels.subarray(i * inBytes, (i + 1) * inBytes), { raw: { width, height, channels: 3 } })
        .resize(outWidth, outHeight, { fit: 'fill' })
        .raw()
        .toBuffer();
      out.set(resized, i * outBytes);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return out;
}
