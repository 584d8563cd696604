/**
 * CIFAR-10 and image-folder data: sources, decode cache, splits, and
 * device-side batching with augmentation.
 *
 * ```ts
 * const data = await tt.data.loadDataset({ data: 'cifar10-jpg.tar.gz' }); // or a folder; undefined: download CIFAR-10
 * const { train, val } = tt.data.stratifiedSplit(data.train, 0.1, seed);
 * const { mean, std } = tt.data.channelStats(train);
 * using loader = new tt.data.DeviceLoader(train, {
 *   batchSize: 128, device: 'cuda', shuffle: true, dropLast: true, seed, mean, std,
 *   augment: { crop: { padding: 4, mode: 'reflect' }, flip: true, cutout: { size: 8 } },
 * });
 * for (let epoch = 0; epoch < epochs; epoch++) {
 *   for (const batch of loader.batches(epoch)) {
 *     tt.scope(() => step(batch.images, batch.labels));
 *     tt.dispose(batch); // the caller owns each batch
 *   }
 * }
 * ```
 *
 * Sources (`data`): an image folder `train/<class>/*.{jpg,jpeg,png,webp}` +
 * `test/<class>/*`, a `.tar.gz` of one, a `cifar-10-batches-bin` folder, or
 * its `.tar.gz`. Decoded images are cached in `$TORCHTS_HOME` (default
 * `~/.cache/torchts`), keyed by the source's path and content (an archive's
 * SHA-256; a folder's file names, sizes and mtimes).
 * Errors about sources are {@link DataError}s (code `ERR_TORCHTS_DATA`)
 * naming the file at fault.
 */
export { loadDataset, type LoadDatasetOptions, type LoadedDataset } from './dataset';
export { decodeImages, decodeEncodedImages, type DecodeOptions, type DecodedImages, type EncodedImage } from './decode';
export { stratifiedSplit, stratifiedIndices, subset, classCounts } from './split';
export { TensorLoader, type TensorData, type TensorLoaderOptions } from './tensor-loader';
export { DatasetLoader, type Dataset, type DatasetLoaderOptions } from './dataset-loader';
export { channelStats } from './stats';
export { DeviceLoader, type DeviceLoaderOptions, type Batch } from './loader';
export { type AugmentOptions, type AffineFill, type CropPadding } from './augment';
export { Rng } from './rng';
export { DataError } from './errors';
export { createProgressPrinter } from './progress';
export { resolveCacheDir } from './cache';
export { CIFAR10_CLASS_NAMES } from './sources/binary';
export { CIFAR10_BINARY_URL, CIFAR10_BINARY_MD5, CIFAR10_ARCHIVE_NAME, CIFAR10_URL_ENV } from './sources/download';
export { makeImageSet, type ImageSet, type TargetSize, type ProgressEvent, type ProgressListener, type ProgressPhase } from './types';
