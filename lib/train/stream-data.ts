// A run's data streamed from an image folder (lib/data/stream): chosen when
// the decoded images would not fit the memory budget, or when asked for.
// Splits, normalisation statistics and the loaders' contract are the
// in-memory path's; only where the pixels come from differs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { channelStats } from '../data';
import { decodeImages } from '../data/decode';
import { DataError } from '../data/errors';
import { readImageHeader } from '../data/image-header';
import { Rng, RNG_STREAM } from '../data/rng';
import { findImageTreeRoot, planImageFolder, type ImageTreePlan, type PlannedImage } from '../data/sources/folders';
import { StreamLoader, type StreamLoaderOptions } from '../data/stream/loader';
import { makeImageSet } from '../data/types';
import type { Device } from '../device';
import type { DataInfo } from './checkpoint';
import { ConfigError, type TrainConfig } from './config';
import type { Precision } from './precision';
import { splitRows } from './splits';

/** Images sampled for the 'standardize' statistics of a streamed set (the in-memory path counts every pixel). */
const STATS_SAMPLE = 500;

export interface StreamDecision {
  root: string;
  plan: ImageTreePlan;
  height: number;
  width: number;
  /** What the decoded images would take in memory, and the budget they were held against. */
  decodedBytes: number;
  budget: number;
}

/** Whether the run streams, and from what; null: decode into memory as usual. */
export function decideStreaming(config: TrainConfig): StreamDecision | null {
  const { mode } = config.stream;
  if (mode === 'off' || config.data === undefined) return null;
  const resolved = path.resolve(config.data);
  const root = fs.existsSync(resolved) && fs.statSync(resolved).isDirectory() ? findImageTreeRoot(resolved) : undefined;
  if (root === undefined) {
    if (mode === 'on') throw new ConfigError(`stream.mode 'on' needs an image folder (train/<class>/*.jpg); ${resolved} is not one (extract an archive first)`);
    return null;
  }
  const plan = planImageFolder(root);
  const first = plan.train[0];
  if (first === undefined) return null; // the in-memory path reports an empty folder
  const [height, width] = config.targetSize ?? sizeOf(first.key);
  const decodedBytes = (plan.train.length + plan.test.length) * height * width * 3;
  const budget = config.stream.memoryBudget ?? Math.floor(os.totalmem() / 4);
  if (mode === 'auto' && decodedBytes <= budget) return null;
  return { root, plan, height, width, decodedBytes, budget };
}

function sizeOf(file: string): [number, number] {
  const header = readImageHeader(fs.readFileSync(file));
  if (header.width === undefined || header.height === undefined) {
    throw new ConfigError(`cannot tell the size of ${file} to plan streaming; set targetSize`);
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
export async function streamedSplits(config: TrainConfig, decision: StreamDecision, savedInfo: DataInfo | undefined, device: Device, memoryFormat: Precision['memoryFormat']): Promise<StreamedSplits> {
  const { plan, height, width } = decision;
  const ownTest = plan.test.length > 0 ? `the data's test/ split (${plan.test.length} images)` : null;
  const rows = splitRows(Int32Array.from(plan.train, (image) => image.label), config, ownTest);
  const pick = (indices: number[]) => indices.map((i) => plan.train[i]!);
  const [train, val, test] = [pick(rows.train), pick(rows.val), ownTest === null ? pick(rows.test) : plan.test];
  const stats = savedInfo ?? (config.normalization === 'rescale' ? { mean: [0, 0, 0], std: [1, 1, 1] } : await sampleStats(train, [height, width], config.seed));
  const info: DataInfo = { classNames: plan.classNames, mean: stats.mean, std: stats.std, height, width, source: decision.root };
  const { stream } = config;
  const common: Omit<StreamLoaderOptions, 'batchSize'> = {
    targetSize: [height, width],
    device,
    seed: config.seed,
    mean: info.mean,
    std: info.std,
    memoryFormat,
    onCorrupt: stream.onCorrupt,
    ...(stream.workers === null ? {} : { workers: stream.workers }),
    ...(stream.prefetch === null ? {} : { prefetch: stream.prefetch }),
  };
  const items = (images: PlannedImage[]) => ({ files: images.map((image) => image.key), labels: images.map((image) => image.label), classNames: plan.classNames });
  const evalLoader = (images: PlannedImage[]) => new StreamLoader(items(images), { ...common, batchSize: config.evalBatchSize, transform: stream.evalTransform, shuffle: false, dropLast: false });
  const trainLoader = new StreamLoader(items(train), { ...common, batchSize: config.batchSize, transform: stream.trainTransform, shuffle: true, dropLast: true, augment: config.augment });
  return {
    info,
    train: trainLoader,
    val: val.length > 0 ? evalLoader(val) : null,
    testLoader: test.length > 0 ? () => evalLoader(test) : null,
    trainCount: train.length,
  };
}

/** Per-channel mean and std from a seeded sample of the training images, decoded at the run's size. */
async function sampleStats(train: PlannedImage[], size: [number, number], seed: number): Promise<{ mean: number[]; std: number[] }> {
  const order = new Rng(seed, RNG_STREAM.split, 2).permutation(train.length);
  let files = Array.from(order.subarray(0, STATS_SAMPLE), (i) => train[i]!.key);
  for (;;) {
    try {
      const pixels = await decodeImages(files, { targetSize: size });
      return channelStats(makeImageSet(pixels, new Int32Array(files.length), size[0], size[1], []));
    } catch (error) {
      // A corrupt file in the sample is left out here; the loaders skip or report it by stream.onCorrupt.
      const bad = error instanceof DataError ? files.indexOf(error.file) : -1;
      if (bad < 0 || files.length === 1) throw error;
      files = files.filter((_, i) => i !== bad);
    }
  }
}

/** The line that says a run streams, and why. */
export function describeStreaming(decision: StreamDecision, mode: TrainConfig['stream']['mode']): string {
  const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;
  const why = mode === 'on' ? "stream.mode 'on'" : `decoded they would take ${gb(decision.decodedBytes)}, over the memory budget of ${gb(decision.budget)}`;
  return `streaming ${decision.plan.train.length + decision.plan.test.length} images from ${decision.root} at ${decision.height}x${decision.width} (${why})`;
}
