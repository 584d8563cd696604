// Finds out what a --data path is and reads it into a decoded data set:
// a cifar-10-batches-bin folder, an image folder (train/<class>/...), or a
// .tar.gz of either.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DecodedDataset, SourceFingerprint } from '../cache';
import { statFiles } from '../cache';
import { decodeEncodedImages, resizeImages, type EncodedImage } from '../decode';
import { DataError, describeFsError } from '../errors';
import { makeImageSet, type ImageSet, type ProgressListener, type TargetSize } from '../types';
import { digestOfFile } from '../../util/hash';
import { isArchivePath, readArchive } from './archive';
import {
  BINARY_FILES,
  BINARY_META_FILE,
  BINARY_TEST_FILE,
  BINARY_TRAIN_FILES,
  binaryFolderFiles,
  isBinaryFolder,
  parseBinaryRecords,
  parseClassNames,
  readBinaryFolder,
  type NamedBytes,
} from './binary';
import { findArchiveTreePrefix, findImageTreeRoot, IMAGE_FILE_PATTERN, planArchiveTree, planImageFolder, type ImageTreePlan } from './folders';

export type SourceKind = 'binary-folder' | 'image-folder' | 'archive';

/** A located source: what it is, what identifies its content, and how to decode it. */
export interface Source {
  kind: SourceKind;
  /** The folder or archive read (absolute). */
  path: string;
  /** What identifies the content; async because an archive is hashed. */
  fingerprint(targetSize: TargetSize | undefined): Promise<SourceFingerprint>;
  decode(options: { targetSize?: TargetSize; onProgress?: ProgressListener }): Promise<DecodedDataset>;
}

/** Identifies the source at `dataPath` (cheap: lists folders, reads no image). */
export function openSource(dataPath: string): Source {
  const resolved = path.resolve(dataPath);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(resolved);
  } catch (error) {
    throw new DataError(resolved, `cannot open data source (${describeFsError(error)})`, { cause: error });
  }
  if (stat.isFile()) {
    if (!isArchivePath(resolved)) throw new DataError(resolved, 'not a data source: expected a .tar.gz (or .tgz, .tar) archive, or a folder');
    return archiveSource(resolved, stat);
  }
  if (isBinaryFolder(resolved)) return binaryFolderSource(resolved);
  const nested = path.join(resolved, 'cifar-10-batches-bin');
  if (isBinaryFolder(nested)) return binaryFolderSource(nested);
  const root = findImageTreeRoot(resolved);
  if (root !== undefined) return imageFolderSource(root);
  throw new DataError(
    resolved,
    'not a data source: expected a cifar-10-batches-bin folder (data_batch_1.bin ... test_batch.bin) or an image folder with train/<class>/*.jpg (and optionally test/<class>/*.jpg)',
  );
}

function targetOrNull(targetSize: TargetSize | undefined): [number, number] | null {
  return targetSize === undefined ? null : [targetSize[0], targetSize[1]];
}

function resizeSet(set: ImageSet, targetSize: TargetSize | undefined): Promise<ImageSet> | ImageSet {
  if (targetSize === undefined || (targetSize[0] === set.height && targetSize[1] === set.width)) return set;
  return resizeImages(set.images, set.count, set.height, set.width, targetSize).then((images) =>
    makeImageSet(images, set.labels, targetSize[0], targetSize[1], set.classNames),
  );
}

// ---- cifar-10-batches-bin ---------------------------------------------------

function binaryFolderSource(dir: string): Source {
  for (const name of BINARY_FILES) {
    if (!fs.existsSync(path.join(dir, name))) throw new DataError(path.join(dir, name), 'missing: a CIFAR-10 binary folder needs data_batch_1..5.bin and test_batch.bin');
  }
  return {
    kind: 'binary-folder',
    path: dir,
    fingerprint: async (targetSize) => ({ kind: 'binary-folder', path: dir, files: statFiles(dir, binaryFolderFiles(dir)), targetSize: targetOrNull(targetSize) }),
    decode: async ({ targetSize, onProgress }) => {
      const { train, test, classNames } = readBinaryFolder(dir);
      onProgress?.({ phase: 'decode', done: train.count + test.count, total: train.count + test.count });
      return { train: await resizeSet(train, targetSize), test: await resizeSet(test, targetSize), classNames };
    },
  };
}

// ---- image folders ------------------------------------------------------------

async function decodePlan(plan: ImageTreePlan, toItem: (key: string) => EncodedImage, options: { targetSize?: TargetSize; onProgress?: ProgressListener }): Promise<DecodedDataset> {
  const all = [...plan.train, ...plan.test];
  const decoded = await decodeEncodedImages(
    all.map((image) => toItem(image.key)),
    { targetSize: options.targetSize, onProgress: options.onProgress },
  );
  const frame = decoded.height * decoded.width * 3;
  const split = (images: typeof plan.train, offset: number): ImageSet =>
    makeImageSet(
      decoded.pixels.subarray(offset * frame, (offset + images.length) * frame),
      Int32Array.from(images, (image) => image.label),
      decoded.height,
      decoded.width,
      plan.classNames,
    );
  return { train: split(plan.train, 0), test: split(plan.test, plan.train.length), classNames: plan.classNames };
}

function imageFolderSource(root: string): Source {
  const plan = planImageFolder(root);
  const files = [...plan.train, ...plan.test].map((image) => image.key);
  return {
    kind: 'image-folder',
    path: root,
    fingerprint: async (targetSize) => ({ kind: 'image-folder', path: root, files: statFiles(root, files), targetSize: targetOrNull(targetSize) }),
    decode: (options) => decodePlan(plan, (key) => ({ name: key, path: key }), options),
  };
}

// ---- archives -----------------------------------------------------------------

async function contentDigest(file: string): Promise<string> {
  try {
    return `sha256:${await digestOfFile(file, 'sha256')}`;
  } catch (error) {
    throw new DataError(file, `cannot read (${describeFsError(error)})`, { cause: error });
  }
}

function archiveSource(archive: string, stat: fs.Stats): Source {
  return {
    kind: 'archive',
    path: archive,
    // By content, not mtime: a copy of the same archive put in place again
    // (a fresh download, a synced data folder) keeps its decoded cache.
    // Hashing costs ~0.1 s per 100 MB, against minutes of decoding.
    fingerprint: async (targetSize) => ({ kind: 'archive', path: archive, files: [['', stat.size, await contentDigest(archive)]], targetSize: targetOrNull(targetSize) }),
    decode: async ({ targetSize, onProgress }) => {
      const wanted = new Set([...BINARY_FILES, BINARY_META_FILE]);
      const contents = await readArchive(archive, {
        keep: (entry) => IMAGE_FILE_PATTERN.test(entry) || wanted.has(path.posix.basename(entry)),
        onProgress,
      });
      const firstBatch = [...contents.files.keys()].find((entry) => path.posix.basename(entry) === BINARY_TRAIN_FILES[0]);
      if (firstBatch !== undefined) {
        const dir = path.posix.dirname(firstBatch);
        const entry = (name: string): string => (dir === '.' ? name : `${dir}/${name}`);
        const read = (name: string): NamedBytes => {
          const data = contents.files.get(entry(name));
          if (data === undefined) throw new DataError(`${archive}:${entry(name)}`, 'missing from the archive: a CIFAR-10 binary archive needs data_batch_1..5.bin and test_batch.bin');
          return { name: `${archive}:${entry(name)}`, data };
        };
        const meta = contents.files.get(entry(BINARY_META_FILE));
        const classNames = parseClassNames(meta?.toString('utf8'));
        const train = parseBinaryRecords(BINARY_TRAIN_FILES.map(read), classNames);
        const test = parseBinaryRecords([read(BINARY_TEST_FILE)], classNames);
        onProgress?.({ phase: 'decode', done: train.count + test.count, total: train.count + test.count });
        return { train: await resizeSet(train, targetSize), test: await resizeSet(test, targetSize), classNames };
      }
      const prefix = findArchiveTreePrefix(contents);
      if (prefix === undefined) {
        throw new DataError(
          archive,
          'not a data source: the archive holds neither cifar-10-batches-bin/data_batch_1.bin nor a train/<class>/ image folder (with an optional test/<class>/)',
        );
      }
      const plan = planArchiveTree(archive, contents, prefix);
      return decodePlan(plan, (key) => ({ name: `${archive}:${key}`, data: contents.files.get(key)! }), { targetSize, onProgress });
    },
  };
}
