// The decode cache: a decoded data set (both splits' uint8 NHWC pixels and
// int32 labels, plus class names) stored once as a safetensors file in the
// cache folder, named by a hash of what identifies the source (its path;
// an archive's SHA-256 or a folder's file sizes and mtimes; the target
// size) and written atomically. A later run with the same source skips
// reading archives and decoding images altogether. Writing a new entry
// deletes the entries it replaces: those for the same path and target size
// made from an older version of the source, which nothing can hit again
// (a CIFAR-10 entry at 64x64 is 740 MB).
//
// Being safetensors, a cache file is also readable from Python
// (safetensors.torch.load_file) for checking.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataError, describeFsError } from './errors';
import { writeAll, writeFileAtomic } from '../io/atomic';
import { readSafetensorsHeader } from '../io/safetensors';
import { makeImageSet, type ImageSet } from './types';

/** Bump when the cache layout or the decoding changes meaning. */
const CACHE_FORMAT = 'torchts-decoded-images/1';

/** A decoded data set, as cached. */
export interface DecodedDataset {
  train: ImageSet;
  test: ImageSet;
  classNames: string[];
}

/** The cache folder: `dir`, else $TORCHTS_HOME, else ~/.cache/torchts. */
export function resolveCacheDir(dir?: string): string {
  return path.resolve(dir ?? process.env.TORCHTS_HOME ?? path.join(os.homedir(), '.cache', 'torchts'));
}

/** What identifies a source's content: stable JSON of it keys the cache. */
export interface SourceFingerprint {
  kind: string;
  path: string;
  /** [relative path or '', size, mtime in ms or content digest] of every file read. */
  files: [string, number, number | string][];
  targetSize: [number, number] | null;
}

/** Size and mtime of files, relative to `base`, for a fingerprint. */
export function statFiles(base: string, files: readonly string[]): [string, number, number][] {
  const prefix = base.endsWith(path.sep) ? base : base + path.sep;
  return files.map((file) => {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch (error) {
      throw new DataError(file, `cannot read (${describeFsError(error)})`, { cause: error });
    }
    // Slicing, not path.relative(): this runs for every image of a folder source on every load.
    const name = file.startsWith(prefix) ? file.slice(prefix.length) : path.relative(base, file);
    return [name, stat.size, Math.round(stat.mtimeMs)];
  });
}

function cacheKey(fingerprint: SourceFingerprint): string {
  return createHash('sha256').update(CACHE_FORMAT).update('\0').update(JSON.stringify(fingerprint)).digest('hex');
}

/** The cache file for a source. */
export function cacheFileFor(cacheDir: string, fingerprint: SourceFingerprint): string {
  const slug = path.basename(fingerprint.path).replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'data';
  return path.join(cacheDir, 'decoded', `${slug}-${cacheKey(fingerprint).slice(0, 16)}.safetensors`);
}

const NAMES = ['train.images', 'train.labels', 'test.images', 'test.labels'] as const;

/** Writes a decoded data set to `file` atomically. */
export function writeDecodeCache(file: string, fingerprint: SourceFingerprint, dataset: DecodedDataset): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const arrays: Record<(typeof NAMES)[number], { dtype: string; shape: number[]; bytes: Uint8Array }> = {
    'train.images': { dtype: 'U8', shape: shapeOf(dataset.train), bytes: dataset.train.images },
    'train.labels': { dtype: 'I32', shape: [dataset.train.count], bytes: bytesOf(dataset.train.labels) },
    'test.images': { dtype: 'U8', shape: shapeOf(dataset.test), bytes: dataset.test.images },
    'test.labels': { dtype: 'I32', shape: [dataset.test.count], bytes: bytesOf(dataset.test.labels) },
  };
  const header: Record<string, unknown> = {
    __metadata__: {
      format: CACHE_FORMAT,
      key: cacheKey(fingerprint),
      source: fingerprint.path,
      targetSize: JSON.stringify(fingerprint.targetSize),
      classNames: JSON.stringify(dataset.classNames),
    },
  };
  let offset = 0;
  for (const name of NAMES) {
    const { dtype, shape, bytes } = arrays[name];
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileAtomic(file, (fd) => {
    writeAll(fd, prefix);
    writeAll(fd, Buffer.from(json, 'utf8'));
    for (const name of NAMES) writeAll(fd, arrays[name].bytes);
  });
  removeReplacedEntries(file, fingerprint);
}

/**
 * Deletes the cache entries that `file` replaces: same source path and
 * target size, another key. Entries that cannot be read, or that predate
 * the targetSize metadata, are left alone rather than guessed about.
 */
function removeReplacedEntries(file: string, fingerprint: SourceFingerprint): void {
  const dir = path.dirname(file);
  const key = cacheKey(fingerprint);
  const targetSize = JSON.stringify(fingerprint.targetSize);
  for (const name of fs.readdirSync(dir)) {
    const other = path.join(dir, name);
    if (other === file || !name.endsWith('.safetensors')) continue;
    try {
      const { metadata } = readSafetensorsHeader(other);
      if (metadata.format === CACHE_FORMAT && metadata.source === fingerprint.path && metadata.targetSize === targetSize && metadata.key !== key) {
        fs.rmSync(other, { force: true });
      }
    } catch {
      // Not a cache entry we can read (damaged, or being written): not ours to delete.
    }
  }
}

/**
 * Reads a cached data set, or returns undefined when there is none for this
 * fingerprint, or it is unreadable (then it is decoded and written again).
 */
export function readDecodeCache(file: string, fingerprint: SourceFingerprint): DecodedDataset | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    const header = readSafetensorsHeader(file);
    if (header.metadata.format !== CACHE_FORMAT || header.metadata.key !== cacheKey(fingerprint)) return undefined;
    const classNames = JSON.parse(header.metadata.classNames ?? 'null') as unknown;
    if (!Array.isArray(classNames) || !classNames.every((name) => typeof name === 'string')) return undefined;
    const entries = new Map(header.entries.map((entry) => [entry.name, entry]));
    const fd = fs.openSync(file, 'r');
    try {
      const read = (name: string): { bytes: Uint8Array; shape: number[] } => {
        const entry = entries.get(name);
        if (entry === undefined) throw new Error(`no tensor ${name}`);
        const bytes = new Uint8Array(entry.end - entry.begin);
        let done = 0;
        while (done < bytes.length) {
          const n = fs.readSync(fd, bytes, done, bytes.length - done, header.dataStart + entry.begin + done);
          if (n === 0) throw new Error('short read');
          done += n;
        }
        return { bytes, shape: entry.shape };
      };
      const split = (prefix: 'train' | 'test'): ImageSet => {
        const images = read(`${prefix}.images`);
        const labels = read(`${prefix}.labels`);
        const [, height, width] = images.shape as [number, number, number, number];
        const labelArray = new Int32Array(labels.bytes.buffer, 0, labels.bytes.length / 4);
        return makeImageSet(images.bytes, labelArray, height, width, classNames);
      };
      return { train: split('train'), test: split('test'), classNames };
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

function shapeOf(set: ImageSet): number[] {
  return [set.count, set.height, set.width, 3];
}

function bytesOf(array: Int32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
