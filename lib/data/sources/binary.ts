// The official CIFAR-10 "binary version": data_batch_1..5.bin and
// test_batch.bin, each a run of 3073-byte records (1 label byte, then 1024
// red, 1024 green and 1024 blue bytes: CHW, rows top to bottom), and
// batches.meta.txt with the class names, one per line.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError, describeFsError } from '../errors';
import { makeImageSet, type ImageSet } from '../types';

export const CIFAR10_CLASS_NAMES: readonly string[] = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
export const BINARY_TRAIN_FILES: readonly string[] = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
export const BINARY_TEST_FILE = 'test_batch.bin';
export const BINARY_META_FILE = 'batches.meta.txt';
/** The files a binary source needs, in the order they are read. */
export const BINARY_FILES: readonly string[] = [...BINARY_TRAIN_FILES, BINARY_TEST_FILE];

const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD_BYTES = 1 + 3 * PLANE;

/** A named run of bytes: a file on disk, or an entry of an archive. */
export interface NamedBytes {
  name: string;
  data: Uint8Array;
}

/** Class names from batches.meta.txt (blank lines dropped); the canonical CIFAR-10 names when absent. */
export function parseClassNames(text: string | undefined): string[] {
  if (text === undefined) return [...CIFAR10_CLASS_NAMES];
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

/** Parses record files into one ImageSet (NHWC), checking sizes and labels. */
export function parseBinaryRecords(files: readonly NamedBytes[], classNames: string[]): ImageSet {
  let count = 0;
  for (const file of files) {
    const remainder = file.data.length % RECORD_BYTES;
    if (remainder !== 0 || file.data.length === 0) {
      throw new DataError(
        file.name,
        file.data.length === 0
          ? 'file is empty'
          : `truncated or not a CIFAR-10 batch: ${file.data.length} bytes is not a whole number of ${RECORD_BYTES}-byte records (the last record has ${remainder} bytes)`,
      );
    }
    count += file.data.length / RECORD_BYTES;
  }
  const images = new Uint8Array(count * 3 * PLANE);
  const labels = new Int32Array(count);
  let n = 0;
  for (const file of files) {
    const data = file.data;
    const records = data.length / RECORD_BYTES;
    for (let r = 0; r < records; r++, n++) {
      const base = r * RECORD_BYTES;
      const label = data[base]!;
      if (label >= classNames.length) {
        throw new DataError(file.name, `record ${r} has label ${label}, but there are only ${classNames.length} classes`);
      }
      labels[n] = label;
      // CHW planes -> HWC pixels.
      const red = base + 1;
      const out = n * 3 * PLANE;
      for (let p = 0; p < PLANE; p++) {
        const o = out + 3 * p;
        images[o] = data[red + p]!;
        images[o + 1] = data[red + PLANE + p]!;
        images[o + 2] = data[red + 2 * PLANE + p]!;
      }
    }
  }
  return makeImageSet(images, labels, SIDE, SIDE, classNames);
}

/** True when `dir` holds the binary batches. */
export function isBinaryFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, BINARY_TRAIN_FILES[0]!));
}

/** The files whose size and mtime identify a binary folder's content. */
export function binaryFolderFiles(dir: string): string[] {
  const files = BINARY_FILES.map((name) => path.join(dir, name));
  const meta = path.join(dir, BINARY_META_FILE);
  return fs.existsSync(meta) ? [...files, meta] : files;
}

function readWhole(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new DataError(file, `cannot read CIFAR-10 batch (${describeFsError(error)})`, { cause: error });
  }
}

/** Reads a cifar-10-batches-bin folder. */
export function readBinaryFolder(dir: string): { train: ImageSet; test: ImageSet; classNames: string[] } {
  const metaFile = path.join(dir, BINARY_META_FILE);
  const classNames = parseClassNames(fs.existsSync(metaFile) ? readWhole(metaFile).toString('utf8') : undefined);
  const read = (name: string): NamedBytes => {
    const file = path.join(dir, name);
    return { name: file, data: readWhole(file) };
  };
  const train = parseBinaryRecords(BINARY_TRAIN_FILES.map(read), classNames);
  const test = parseBinaryRecords([read(BINARY_TEST_FILE)], classNames);
  return { train, test, classNames };
}
