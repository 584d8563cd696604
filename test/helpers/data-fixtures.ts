// Small data sources written by the data tests themselves: random pixels
// with known labels, as CIFAR-10 binary batches, as image folders (JPEG and
// PNG, written with sharp), and as .tar.gz archives of either.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import * as tar from 'tar';
import { Rng } from '../../lib/data/rng';
import { makeImageSet, type ImageSet } from '../../lib/data/types';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `torchts-${prefix}-`));
}

/** Random uint8 NHWC images with labels cycling through the classes (class c: images c, c+k, ...). */
export function randomImageSet(count: number, height: number, width: number, classNames: string[], seed = 1): ImageSet {
  const rng = new Rng(seed);
  const images = new Uint8Array(count * height * width * 3);
  for (let i = 0; i < images.length; i++) images[i] = rng.nextInt(256);
  const labels = Int32Array.from({ length: count }, (_, i) => i % classNames.length);
  return makeImageSet(images, labels, height, width, classNames);
}

/** Pixels of image `i` of a set. */
export function imageOf(set: ImageSet, i: number): Uint8Array {
  const frame = set.height * set.width * 3;
  return set.images.subarray(i * frame, (i + 1) * frame);
}

/** CIFAR-10 binary records (label, then R, G, B planes) of 32x32 images. */
export function binaryRecords(set: ImageSet, indices: number[]): Buffer {
  const plane = 32 * 32;
  const out = Buffer.alloc(indices.length * (1 + 3 * plane));
  indices.forEach((source, r) => {
    const base = r * (1 + 3 * plane);
    out[base] = set.labels[source]!;
    const pixels = imageOf(set, source);
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[base + 1 + c * plane + p] = pixels[3 * p + c]!;
  });
  return out;
}

/**
 * Writes a cifar-10-batches-bin folder: `train` split over data_batch_1..5
 * (in order) and `test` in test_batch.bin; returns the folder.
 */
export function writeBinaryFolder(parent: string, train: ImageSet, test: ImageSet, classNames = train.classNames): string {
  const dir = path.join(parent, 'cifar-10-batches-bin');
  fs.mkdirSync(dir, { recursive: true });
  const perBatch = Math.ceil(train.count / 5);
  for (let b = 0; b < 5; b++) {
    const indices = Array.from({ length: Math.max(0, Math.min(train.count, (b + 1) * perBatch) - b * perBatch) }, (_, k) => b * perBatch + k);
    fs.writeFileSync(path.join(dir, `data_batch_${b + 1}.bin`), binaryRecords(train, indices));
  }
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), binaryRecords(test, Array.from({ length: test.count }, (_, i) => i)));
  fs.writeFileSync(path.join(dir, 'batches.meta.txt'), classNames.join('\n') + '\n\n');
  return dir;
}

export type ImageFormat = 'png' | 'jpeg' | 'jpeg-progressive' | 'jpeg-444';

/** Encodes one RGB image. */
export function encodeImage(pixels: Uint8Array, height: number, width: number, format: ImageFormat): Promise<Buffer> {
  const image = sharp(Buffer.from(pixels), { raw: { width, height, channels: 3 } });
  switch (format) {
    case 'png':
      return image.png().toBuffer();
    case 'jpeg':
      return image.jpeg({ quality: 90 }).toBuffer();
    case 'jpeg-progressive':
      return image.jpeg({ quality: 90, progressive: true }).toBuffer();
    case 'jpeg-444':
      return image.jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer();
  }
}

export const extensionOf = (format: ImageFormat): string => (format === 'png' ? 'png' : 'jpg');

/**
 * Writes `<root>/train/<class>/NNNN.<ext>` and `<root>/test/...` for two
 * sets; `formatOf(i)` picks each image's format. Returns the file of each
 * image, in set order.
 */
export async function writeImageFolder(
  root: string,
  splits: { train: ImageSet; test: ImageSet },
  formatOf: (split: string, i: number) => ImageFormat,
): Promise<{ train: string[]; test: string[] }> {
  const files: { train: string[]; test: string[] } = { train: [], test: [] };
  for (const split of ['train', 'test'] as const) {
    const set = splits[split];
    for (const name of set.classNames) fs.mkdirSync(path.join(root, split, name), { recursive: true });
    for (let i = 0; i < set.count; i++) {
      const format = formatOf(split, i);
      const file = path.join(root, split, set.classNames[set.labels[i]!]!, `${String(i).padStart(4, '0')}.${extensionOf(format)}`);
      fs.writeFileSync(file, await encodeImage(imageOf(set, i), set.height, set.width, format));
      files[split].push(file);
    }
  }
  return files;
}

/** A .tar.gz of `cwd/entry` (entry paths inside the archive start with `entry`). */
export function writeTarGz(file: string, cwd: string, entries: string[]): string {
  tar.c({ gzip: true, file, cwd, sync: true, portable: true }, entries);
  return file;
}

/** A .tar.gz built block by block, for entries `tar.c` would refuse (e.g. '../evil.jpg'). */
export function writeRawTarGz(file: string, entries: { path: string; data: Buffer }[]): string {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const header = new tar.Header({ path: entry.path, mode: 0o644, size: entry.data.length, type: 'File', mtime: new Date(0), uid: 0, gid: 0 });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, entry.data, Buffer.alloc((512 - (entry.data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  fs.writeFileSync(file, zlib.gzipSync(Buffer.concat(blocks)));
  return file;
}

/** Every file under `dir`, relative, sorted (to check that nothing else was written). */
export function listTree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map(String).sort();
}

/** Pixels per image that differ between two NHWC arrays (undefined when equal). */
export function firstDifference(a: Uint8Array, b: Uint8Array): string | undefined {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `byte ${i}: ${a[i]} vs ${b[i]}`;
  return undefined;
}
