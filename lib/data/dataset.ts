// loadDataset(): from a --data path (or the default CIFAR-10 download) to
// decoded train and test splits in memory, through the decode cache.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheFileFor, readDecodeCache, resolveCacheDir, writeDecodeCache } from './cache';
import { createProgressPrinter } from './progress';
import { CIFAR10_ARCHIVE_NAME, CIFAR10_BINARY_MD5, downloadVerified, type DownloadOptions } from './sources/download';
import { digestOfFile } from '../util/hash';
import { openSource } from './sources';
import type { ImageSet, ProgressEvent, ProgressListener, TargetSize } from './types';

export interface LoadDatasetOptions {
  /**
   * Where the images are: an image folder (`train/<class>/*.jpg`,
   * `test/<class>/*.jpg`), a `.tar.gz` of one, a `cifar-10-batches-bin`
   * folder, or its `.tar.gz`. Undefined: CIFAR-10 from the cache folder,
   * downloaded (with MD5 check) when missing.
   */
  data?: string;
  /** The cache folder (default $TORCHTS_HOME, else ~/.cache/torchts). */
  cacheDir?: string;
  /** [height, width] to resize images to; default: their own size (which all must share). */
  targetSize?: TargetSize;
  /** Receives progress events (download, read, decode, cache). */
  onProgress?: ProgressListener;
  /** Print progress to stderr: a bar on a terminal, plain lines otherwise (default true). */
  showProgress?: boolean;
  /** Read and write the decode cache (default true). */
  useCache?: boolean;
  /** Where and how to download the default CIFAR-10 (url, md5, timeoutMs); for mirrors and tests. */
  download?: Omit<DownloadOptions, 'onProgress'>;
}

export interface LoadedDataset {
  train: ImageSet;
  test: ImageSet;
  /** Class names; a label is a position in this list. */
  classNames: string[];
  /** The folder or archive the images came from (absolute path). */
  source: string;
  /** The decode cache file for this source. */
  cacheFile: string;
  /** True when the images came from the decode cache (nothing was decoded). */
  fromCache: boolean;
}

function combineListeners(...listeners: (ProgressListener | undefined)[]): ProgressListener | undefined {
  const present = listeners.filter((listener): listener is ProgressListener => listener !== undefined);
  if (present.length === 0) return undefined;
  return (event: ProgressEvent) => {
    for (const listener of present) listener(event);
  };
}

/**
 * Loads a data set's train and test splits as uint8 NHWC arrays.
 *
 * The first run for a source decodes every image (in parallel) and stores
 * the result in the cache folder; later runs read that file instead, as
 * long as the source keeps its path and content: an archive's SHA-256, a
 * folder's file names, sizes and mtimes.
 */
export async function loadDataset(options: LoadDatasetOptions = {}): Promise<LoadedDataset> {
  const cacheDir = resolveCacheDir(options.cacheDir);
  const printer = options.showProgress ?? true ? createProgressPrinter() : undefined;
  const onProgress = combineListeners(options.onProgress, printer);
  try {
    const isDefault = options.data === undefined;
    const dataPath = isDefault ? path.join(cacheDir, CIFAR10_ARCHIVE_NAME) : path.resolve(options.data!);
    const download = (): Promise<void> => {
      fs.mkdirSync(cacheDir, { recursive: true });
      return downloadVerified(dataPath, { ...options.download, onProgress });
    };
    if (isDefault && !fs.existsSync(dataPath)) await download();

    let source = openSource(dataPath);
    let fingerprint = await source.fingerprint(options.targetSize);
    let cacheFile = cacheFileFor(cacheDir, fingerprint);
    const useCache = options.useCache ?? true;
    if (useCache) {
      const cached = readDecodeCache(cacheFile, fingerprint);
      if (cached !== undefined) {
        onProgress?.({ phase: 'cache', done: 1, file: cacheFile, message: `using decoded images from ${cacheFile}` });
        return { ...cached, source: source.path, cacheFile, fromCache: true };
      }
    }
    if (isDefault) {
      // Our own download was verified before it was saved; a file put there
      // by hand (or damaged since) is checked before its images are used.
      const md5 = (options.download?.md5 ?? CIFAR10_BINARY_MD5).toLowerCase();
      if ((await digestOfFile(dataPath, 'md5')) !== md5) {
        onProgress?.({ phase: 'download', done: 0, message: `${dataPath} does not have the expected MD5; downloading it again` });
        fs.rmSync(dataPath, { force: true });
        await download();
        source = openSource(dataPath);
        fingerprint = await source.fingerprint(options.targetSize);
        cacheFile = cacheFileFor(cacheDir, fingerprint);
      }
    }
    onProgress?.({ phase: 'decode', done: 0, file: source.path, message: `decoding ${source.path} (once; later runs use the decode cache)` });
    const decoded = await source.decode({ targetSize: options.targetSize, onProgress });
    if (useCache) {
      writeDecodeCache(cacheFile, fingerprint, decoded);
      onProgress?.({ phase: 'cache', done: 1, file: cacheFile, message: `decoded images cached in ${cacheFile}` });
    }
    return { ...decoded, source: source.path, cacheFile, fromCache: false };
  } finally {
    printer?.stop();
  }
}
