// The data of a run: image data (a folder, archive or CIFAR-10, or
// ImageSets), a user's tensors or a user's Dataset object; the test split (the data's own, or
// testFraction of train held out), the validation split (valFraction), the
// normalisation statistics (the resumed run's, so a resumed run sees the
// same inputs) and the loaders.
import { channelStats, DeviceLoader, loadDataset, stratifiedIndices, subset, TensorLoader, type Batch, type ImageSet, type TensorData } from '../data';
import { checkTensorData } from '../data/tensor-loader';
import { DatasetLoader, datasetLabels, isDataset, type Dataset } from '../data/dataset-loader';
import type { Device } from '../device';
import { scope } from '../memory';
import type { DataInfo } from './checkpoint';
import { ConfigError, type TrainConfig } from './config';
import type { Precision } from './precision';
import type { ShardOptions } from '../distributed/sampler';
import { decideStreaming, describeStreaming, streamedSplits } from './stream-data';
import { splitRows, TEST_SPLIT_STREAM } from './splits';

/** Image splits a caller supplies instead of `data`; without `test`, testFraction (or no test evaluation). */
export interface GivenImages {
  train: ImageSet;
  test?: ImageSet;
  classNames: string[];
  source?: string;
}

/** Tensors a caller supplies: `{ x, y }` (train only), or splits; classNames default to '0', '1', ... */
export type GivenTensors = (TensorData & { classNames?: string[] }) | { train: TensorData; test?: TensorData; classNames?: string[] };

/** A Dataset object (length and get/getBatch), or splits of them. */
export type GivenDatasets = Dataset | { train: Dataset; test?: Dataset; classNames?: string[] };

export type GivenDataset = GivenImages | GivenTensors | GivenDatasets;

/** What the trainer needs of a loader (DeviceLoader for images, TensorLoader for tensors). */
export interface BatchSource {
  readonly numBatches: number;
  readonly height: number;
  readonly width: number;
  batch(epoch: number, index: number): Batch;
  batches(epoch?: number): Iterable<Batch>;
  dispose(): void;
}

export interface RunData {
  info: DataInfo;
  train: BatchSource;
  val: BatchSource | null;
  /** A loader over the test split, made when needed; null when there is none. */
  testLoader: (() => BatchSource) | null;
  dispose(): void;
}

export async function prepareData(
  config: TrainConfig,
  given: GivenDataset | undefined,
  savedInfo: DataInfo | undefined,
  device: Device,
  memoryFormat: Precision['memoryFormat'],
  shard?: ShardOptions,
): Promise<RunData> {
  const imageData = given === undefined || (!isTensorData(given) && !isGivenDatasets(given));
  if (shard !== undefined && !imageData) throw new ConfigError('distributed training takes image data (data, or dataset as image sets) for now; tensors and Dataset objects train on one process');
  if (given !== undefined && isTensorData(given)) return tensorData(config, given, device, memoryFormat);
  if (given !== undefined && isGivenDatasets(given)) return datasetData(config, given, device, memoryFormat);
  const streaming = given === undefined ? await decideStreaming(config) : null;
  if (streaming !== null) {
    if (shard === undefined || shard.rank === 0) process.stderr.write(`${describeStreaming(streaming, config.stream.mode)}\n`);
    const splits = await streamedSplits(config, streaming, savedInfo, device, memoryFormat, shard);
    return finishData(config, splits.info, splits.train, splits.val, splits.testLoader, splits.trainCount);
  }
  const data = (given as GivenImages | undefined) ?? (await loadDataset({ data: config.data, cacheDir: config.cacheDir, targetSize: config.targetSize }));
  const { rest, test } = holdOutTest(data.train, data.test, config);
  const { kept, heldOut } = stratifiedIndices(rest.labels, config.valFraction, config.seed);
  const train = config.valFraction > 0 ? subset(rest, kept) : rest;
  // Image sets are RGB: 'rescale' keeps x/255 as it is (mean 0, std 1 per channel).
  const rescaleOnly = { mean: [0, 0, 0], std: [1, 1, 1] };
  const stats = savedInfo ?? (config.normalization === 'rescale' ? rescaleOnly : { ...channelStats(train) });
  const info: DataInfo = { classNames: data.classNames, mean: stats.mean, std: stats.std, height: rest.height, width: rest.width, source: data.source ?? 'custom' };
  const normalise = { device, seed: config.seed, mean: info.mean, std: info.std, memoryFormat };
  const evalLoader = (set: ImageSet) => new DeviceLoader(set, { ...normalise, batchSize: config.evalBatchSize, shuffle: false, dropLast: false });
  const trainLoader = new DeviceLoader(train, { ...normalise, batchSize: config.batchSize, shuffle: true, dropLast: true, augment: config.augment, ...(shard === undefined ? {} : { shard }) });
  const val = config.valFraction > 0 ? evalLoader(subset(rest, heldOut)) : null;
  return finishData(config, info, trainLoader, val, test === null || test.count === 0 ? null : () => evalLoader(test), train.count);
}

/** The test split: the data's own, or testFraction of train (stratified) when the data has none. */
function holdOutTest(train: ImageSet, test: ImageSet | undefined, config: TrainConfig): { rest: ImageSet; test: ImageSet | null } {
  const hasOwn = test !== undefined && test.count > 0;
  if (config.testFraction === 0) return { rest: train, test: hasOwn ? test! : null };
  if (hasOwn) throw new ConfigError(`testFraction ${config.testFraction}: the data already has a test split (${test!.count} images); set testFraction to 0`);
  const { kept, heldOut } = stratifiedIndices(train.labels, config.testFraction, config.seed, TEST_SPLIT_STREAM);
  return { rest: subset(train, kept), test: subset(train, heldOut) };
}

function isGivenDatasets(given: GivenDataset): given is GivenDatasets {
  return isDataset(given) || ('train' in given && isDataset(given.train));
}

function isTensorData(given: GivenDataset): given is GivenTensors {
  return 'x' in given || ('train' in given && given.train !== undefined && 'x' in given.train);
}

function tensorData(config: TrainConfig, given: GivenTensors, device: Device, memoryFormat: Precision['memoryFormat']): RunData {
  const trainData: TensorData = 'train' in given ? given.train : given;
  const ownTest = 'train' in given ? given.test : undefined;
  const classCount = given.classNames?.length;
  const labels = checkTensorData(trainData, classCount, 'dataset.train');
  if (ownTest !== undefined) checkTensorData(ownTest, classCount, 'dataset.test');
  const classes = classCount ?? Math.max(...labels) + 1;
  const classNames = given.classNames ?? Array.from({ length: classes }, (_, i) => String(i));
  const { train: trainRows, val: valRows, test: testRows } = splitRows(labels, config, ownTest === undefined ? null : 'dataset.test');
  const [, channels, height, width] = trainData.x.shape as [number, number, number, number];
  // Tensors are used as given: the identity normalisation is recorded for predict().
  const info: DataInfo = { classNames, mean: new Array(channels).fill(0), std: new Array(channels).fill(1), height, width, source: 'tensors' };
  const options = { device, seed: config.seed, memoryFormat };
  const evalOptions = { ...options, batchSize: config.evalBatchSize, shuffle: false, dropLast: false };
  const train = new TensorLoader(trainData, { ...options, batchSize: config.batchSize, shuffle: true, dropLast: true }, trainRows);
  const val = valRows.length > 0 ? new TensorLoader(trainData, evalOptions, valRows) : null;
  const testLoader =
    ownTest !== undefined ? () => new TensorLoader(ownTest, evalOptions) : testRows.length > 0 ? () => new TensorLoader(trainData, evalOptions, testRows) : null;
  return finishData(config, info, train, val, testLoader, trainRows.length);
}

function datasetData(config: TrainConfig, given: GivenDatasets, device: Device, memoryFormat: Precision['memoryFormat']): RunData {
  const trainSet: Dataset = 'train' in given && isDataset(given.train) ? given.train : (given as Dataset);
  const ownTest = 'train' in given && isDataset(given.train) ? given.test : undefined;
  const declared = given.classNames ?? trainSet.classNames;
  const labels = datasetLabels(trainSet, declared?.length);
  const classNames = declared ?? Array.from({ length: Math.max(...labels) + 1 }, (_, i) => String(i));
  const rows = splitRows(labels, config, ownTest === undefined ? null : 'dataset.test');
  const options = { device, seed: config.seed, memoryFormat };
  const evalOptions = { ...options, batchSize: config.evalBatchSize, shuffle: false, dropLast: false };
  const train = new DatasetLoader(trainSet, { ...options, batchSize: config.batchSize, shuffle: true, dropLast: true }, rows.train);
  const val = rows.val.length > 0 ? new DatasetLoader(trainSet, evalOptions, rows.val) : null;
  const testLoader = ownTest !== undefined ? () => new DatasetLoader(ownTest, evalOptions) : rows.test.length > 0 ? () => new DatasetLoader(trainSet, evalOptions, rows.test) : null;
  const channels = scope(() => trainSet.getBatch !== undefined ? trainSet.getBatch([0]).x.shape[1]! : trainSet.get!(0).x.shape[0]!);
  const info: DataInfo = { classNames, mean: new Array(channels).fill(0), std: new Array(channels).fill(1), height: train.height, width: train.width, source: 'dataset' };
  return finishData(config, info, train, val, testLoader, rows.train.length);
}

function finishData(config: TrainConfig, info: DataInfo, train: BatchSource, val: BatchSource | null, testLoader: (() => BatchSource) | null, trainCount: number): RunData {
  const dispose = () => {
    train.dispose();
    val?.dispose();
  };
  if (train.numBatches === 0) {
    dispose();
    throw new ConfigError(`batchSize ${config.batchSize} is larger than the ${trainCount} training images: no full batch to train on`);
  }
  return { info, train, val, testLoader, dispose };
}
