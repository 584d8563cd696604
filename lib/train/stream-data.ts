// A run's data streamed from an image folder or archive (lib/data/stream): chosen when
// the decoded images would not fit the memory budget, or when asked for.
// Splits, normalisation statistics and the loaders' contract are the
// in-memory path's; only where the pixels come from differs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { channelStats } from '../data';
import { resolveCacheDir } from '../data/cache';
import { decodeEncodedImages, type EncodedImage } from '../data/decode';
import { DataError } from '../data/errors';
import { readImageHeader } from '../data/image-header';
import { Rng, RNG_STREAM } from '../data/rng';
import { createProgressPrinter } from '../data/progress';
import { isArchivePath } from '../data/sources/archive';
import { findArchiveTreePrefix, findImageTreeRoot, planArchiveTree, planImageFolder, type ImageTreePlan, type PlannedImage } from '../data/sources/folders';
import { indexArchive, readPacked, type ArchiveIndex, type PackedEntry } from '../data/stream/archive-pack';
import { StreamLoader, type StreamItems, type StreamLoaderOptions } from '../data/stream/loader';
import { makeImageSet } from '../data/types';
import type { Device } from '../device';
import type { ShardOptions } from '../distributed/sampler';
import type { DataInfo } from './checkpoint';
import { ConfigError, type TrainConfig } from './config';
import type { Precision } from './precision';
import { splitRows } from './splits';

/** Images sampled for the 'standardize' statistics of a streamed set (the in-memory path counts every pixel). */
const STATS_SAMPLE = 500;

export interface StreamDecision {
  /** The image folder or archive streamed. */
  root: string;
  plan: ImageTreePlan;
  /** An archive's images: in this pack, by entry path (null for a folder: the keys are files). */
  pack: { file: string; entries: ReadonlyMap<string, PackedEntry> } | null;
  height: number;
  width: number;
  /** What the decoded images would take in memory, and the budget they were held against. */
  decodedBytes: number;
  budget: number;
}

/** A folder or archive that could be streamed: its plan, and the size its images decode to. */
interface Candidate {
  root: string;
  plan: ImageTreePlan;
  imageSize(): [number, number];
}

/** Whether the run streams, and from what; null: decode into memory as usual. */
export async function decideStreaming(config: TrainConfig): Promise<StreamDecision | null> {
  const { mode } = config.stream;
  if (mode === 'off' || config.data === undefined) return null;
  const resolved = path.resolve(config.data);
  const isArchive = isArchivePath(resolved) && fs.existsSync(resolved) && fs.statSync(resolved).isFile();
  const cacheDir = resolveCacheDir(config.cacheDir);
  // An archive is listed first (cached) and copied into its pack only when it streams.
  const candidate = isArchive ? await archiveCandidate(resolved, cacheDir, mode) : folderCandidate(resolved);
  if (candidate === undefined) {
    if (mode === 'on') throw new ConfigError(`stream.mode 'on' needs an image folder (train/<class>/*.jpg) or an archive of one; ${resolved} is neither`);
    return null;
  }
  const { plan } = candidate;
  if (plan.train.length === 0) return null; // the in-memory path reports an empty folder
  const [height, width] = config.targetSize ?? candidate.imageSize();
  const decodedBytes = (plan.train.length + plan.test.length) * height * width * 3;
  const budget = config.stream.memoryBudget ?? Math.floor(os.totalmem() / 4);
  if (mode === 'auto' && decodedBytes <= budget) return null;
  const packed = isArchive ? await archiveIndex(resolved, cacheDir, true) : null;
  return { root: candidate.root, plan, pack: packed === null ? null : { file: packed.pack!, entries: packed.files }, height, width, decodedBytes, budget };
}

function folderCandidate(resolved: string): Candidate | undefined {
  const root = fs.existsSync(resolved) && fs.statSync(resolved).isDirectory() ? findImageTreeRoot(resolved) : undefined;
  if (root === undefined) return undefined;
  const plan = planImageFolder(root);
  return { root, plan, imageSize: () => sizeOf(plan.train[0]!.key, fs.readFileSync(plan.train[0]!.key)) };
}

async function archiveCandidate(archive: string, cacheDir: string, mode: TrainConfig['stream']['mode']): Promise<Candidate | undefined> {
  const index = await archiveIndex(archive, cacheDir, false);
  if (index.binary) {
    if (mode === 'on') throw new ConfigError(`stream.mode 'on': ${archive} holds CIFAR-10's binary batches, which decode in memory (184 MB); set stream.mode to 'auto' or 'off'`);
    return undefined;
  }
  const prefix = findArchiveTreePrefix(index);
  if (prefix === undefined) return undefined;
  const plan = planArchiveTree(archive, index, prefix);
  const imageSize = (): [number, number] => {
    if (index.firstImageSize === null) throw new ConfigError(`cannot tell the image size of ${archive}'s images to plan streaming; set targetSize`);
    return index.firstImageSize;
  };
  return { root: archive, plan, imageSize };
}

/** Listing is quiet (it decides, often that nothing streams); copying into the pack shows progress. */
async function archiveIndex(archive: string, cacheDir: string, pack: boolean): Promise<ArchiveIndex> {
  if (!pack) return indexArchive(archive, cacheDir, { pack });
  const printer = createProgressPrinter();
  try {
    return await indexArchive(archive, cacheDir, { pack, onProgress: printer });
  } finally {
    printer.stop();
  }
}

function sizeOf(name: string, bytes: Uint8Array): [number, number] {
  const header = readImageHeader(bytes);
  if (header.width === undefined || header.height === undefined) {
    throw new ConfigError(`cannot tell the size of ${name} to plan streaming; set targetSize`);
  }
  return [header.height, header.width];
}

export interface StreamedSplits {
  info: DataInfo;
  train: StreamLoader;
  val: StreamLoader | null;
  testLoader: (() => StreamLoader) | null;
  trainCount: number;
}

/** The streamed run's splits (testFraction, then valFraction, as the in-memory path draws them) and loaders. */
export async function streamedSplits(
  config: TrainConfig,
  decision: StreamDecision,
  savedInfo: DataInfo | undefined,
  device: Device,
  memoryFormat: Precision['memoryFormat'],
  shard?: ShardOptions,
): Promise<StreamedSplits> {
  const { plan, height, width } = decision;
  const { train, val, test } = splitPlan(config, plan);
  const stats = savedInfo ?? (config.normalization === 'rescale' ? { mean: [0, 0, 0], std: [1, 1, 1] } : await sampleStats(train.map((image) => encodedImage(decision, image)), [height, width], config.seed));
  const info: DataInfo = { classNames: plan.classNames, mean: stats.mean, std: stats.std, height, width, source: decision.root };
  const loaders = streamLoaders(config, decision, info, device, memoryFormat);
  return {
    info,
    train: loaders.train(train, shard),
    val: val.length > 0 ? loaders.evaluation(val, config.evalBatchSize) : null,
    testLoader: test.length > 0 ? () => loaders.evaluation(test, config.evalBatchSize) : null,
    trainCount: train.length,
  };
}

/** A trained run's test split, streamed (evaluating a checkpoint of a run too large to decode); null when there is none. */
export function streamedTestLoader(config: TrainConfig, decision: StreamDecision, info: DataInfo, device: Device, memoryFormat: Precision['memoryFormat'], batchSize: number): StreamLoader | null {
  const { test } = splitPlan(config, decision.plan);
  return test.length > 0 ? streamLoaders(config, decision, info, device, memoryFormat).evaluation(test, batchSize) : null;
}

function splitPlan(config: TrainConfig, plan: ImageTreePlan): Record<'train' | 'val' | 'test', PlannedImage[]> {
  const ownTest = plan.test.length > 0 ? `the data's test/ split (${plan.test.length} images)` : null;
  const rows = splitRows(Int32Array.from(plan.train, (image) => image.label), config, ownTest);
  const pick = (indices: number[]) => indices.map((i) => plan.train[i]!);
  return { train: pick(rows.train), val: pick(rows.val), test: ownTest === null ? pick(rows.test) : plan.test };
}

function streamLoaders(config: TrainConfig, decision: StreamDecision, info: DataInfo, device: Device, memoryFormat: Precision['memoryFormat']) {
  const { stream } = config;
  const common: Omit<StreamLoaderOptions, 'batchSize'> = {
    targetSize: [decision.height, decision.width],
    device,
    seed: config.seed,
    mean: info.mean,
    std: info.std,
    memoryFormat,
    onCorrupt: stream.onCorrupt,
    ...(stream.workers === null ? {} : { workers: stream.workers }),
    ...(stream.prefetch === null ? {} : { prefetch: stream.prefetch }),
  };
  const items = (images: PlannedImage[]): StreamItems => {
    const labels = images.map((image) => image.label);
    const { classNames } = decision.plan;
    if (decision.pack === null) return { files: images.map((image) => image.key), labels, classNames };
    const entries = images.map((image) => decision.pack!.entries.get(image.key)!);
    return {
      files: images.map((image) => `${decision.root}:${image.key}`),
      labels,
      classNames,
      pack: { file: decision.pack.file, offsets: entries.map((entry) => entry.offset), lengths: entries.map((entry) => entry.length) },
    };
  };
  return {
    train: (images: PlannedImage[], shard: ShardOptions | undefined) =>
      new StreamLoader(items(images), { ...common, batchSize: config.batchSize, transform: stream.trainTransform, shuffle: true, dropLast: true, augment: config.augment, ...(shard === undefined ? {} : { shard }) }),
    evaluation: (images: PlannedImage[], batchSize: number) => new StreamLoader(items(images), { ...common, batchSize, transform: stream.evalTransform, shuffle: false, dropLast: false }),
  };
}

/** An image as the in-memory decoder takes it: its file, or its bytes read from the pack. */
function encodedImage(decision: StreamDecision, image: PlannedImage): () => EncodedImage {
  if (decision.pack === null) return () => ({ name: image.key, path: image.key });
  const { file, entries } = decision.pack;
  return () => ({ name: `${decision.root}:${image.key}`, data: readPacked(file, entries.get(image.key)!) });
}

/** Per-channel mean and std from a seeded sample of the training images, decoded at the run's size. */
async function sampleStats(train: (() => EncodedImage)[], size: [number, number], seed: number): Promise<{ mean: number[]; std: number[] }> {
  const order = new Rng(seed, RNG_STREAM.split, 2).permutation(train.length);
  let images = Array.from(order.subarray(0, STATS_SAMPLE), (i) => train[i]!());
  for (;;) {
    try {
      const { pixels } = await decodeEncodedImages(images, { targetSize: size });
      return channelStats(makeImageSet(pixels, new Int32Array(images.length), size[0], size[1], []));
    } catch (error) {
      // A corrupt file in the sample is left out here; the loaders skip or report it by stream.onCorrupt.
      const bad = error instanceof DataError ? images.findIndex((image) => image.name === error.file) : -1;
      if (bad < 0 || images.length === 1) throw error;
      images = images.filter((_, i) => i !== bad);
    }
  }
}

/** The line that says a run streams, and why. */
export function describeStreaming(decision: StreamDecision, mode: TrainConfig['stream']['mode']): string {
  const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;
  const why = mode === 'on' ? "stream.mode 'on'" : `decoded they would take ${gb(decision.decodedBytes)}, over the memory budget of ${gb(decision.budget)}`;
  return `streaming ${decision.plan.train.length + decision.plan.test.length} images from ${decision.root} at ${decision.height}x${decision.width} (${why})`;
}
