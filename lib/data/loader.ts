// DeviceLoader: a whole split as one uint8 tensor on the training device,
// served as normalised, augmented float batches.
//
// Per batch the work is a fixed handful of tensor ops, whatever the batch
// size: one small upload of per-image parameters, one index op that gathers
// (and crops and mirrors) the images, a conversion with normalisation, and
// optionally one affine resampling and a cutout mask. Data order and
// augmentation come from a seeded JS Rng, so (seed, epoch) fixes every batch.
import { checkDevice, type Device } from '../device';
import { keep, scope } from '../memory';
import { tensor } from '../ops/creation';
import { addcmul } from '../ops/pointwise';
import type { Tensor } from '../tensor';
import { affine, cutout_, drawBatchParams, gatherCropFlip, planAugment, uploadParams, type AugmentOptions, type AugmentPlan } from './augment';
import { Rng, RNG_STREAM } from './rng';
import type { ImageSet } from './types';
import { ArgumentRangeError, ArgumentTypeError } from '../errors';
import { checkShard, rankedRng, shardOrder, shardSize, type ShardOptions } from '../distributed/sampler';

export interface DeviceLoaderOptions {
  batchSize: number;
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: Device;
  /** Draw a new seeded permutation each epoch (default false: the set's order). */
  shuffle?: boolean;
  /** Leave out the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Seeds the order and the augmentation (default 0). */
  seed?: number;
  /** Per-channel mean of pixel values in [0, 1] (default 0: no centring); see channelStats(). */
  mean?: readonly number[];
  /** Per-channel std of pixel values in [0, 1] (default 1). */
  std?: readonly number[];
  augment?: AugmentOptions;
  /** Layout of the yielded images (default 'contiguous', i.e. NCHW). */
  memoryFormat?: 'contiguous' | 'channelsLast';
  /**
   * Distributed training: serve only this rank's shard of each epoch's
   * order (DistributedSampler's rule, lib/distributed/sampler.ts). The
   * augmentation draws also depend on the rank.
   */
  shard?: ShardOptions;
}

/** One batch: the caller owns both tensors (dispose them, or create them inside tt.scope()). */
export interface Batch {
  /** float32 [B, 3, H, W], normalised and augmented. */
  images: Tensor;
  /** int64 [B] class indices. */
  labels: Tensor;
}

function checkChannels(values: readonly number[] | undefined, fallback: number, what: string, positive: boolean): number[] {
  const result = values === undefined ? [fallback, fallback, fallback] : [...values];
  if (result.length !== 3 || !result.every((v) => Number.isFinite(v) && (!positive || v > 0))) {
    throw new ArgumentTypeError(`DeviceLoader: ${what} must be 3 ${positive ? 'positive ' : ''}numbers (R, G, B), got ${JSON.stringify(values)}`);
  }
  return result;
}

export class DeviceLoader {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly batchSize: number;
  readonly device: Device;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly seed: number;
  readonly memoryFormat: 'contiguous' | 'channelsLast';
  readonly augment: AugmentPlan;
  readonly classNames: string[];
  readonly shard: Required<ShardOptions> | null;

  #images: Tensor | undefined;
  #labels: Tensor | undefined;
  #finisher: BatchFinisher | undefined;
  #order: { epoch: number; indices: Int32Array } | undefined;

  /** Uploads `set` to `options.device` once, as uint8 [N, H, W, 3] plus int64 labels. */
  constructor(set: ImageSet, options: DeviceLoaderOptions) {
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new ArgumentTypeError(`DeviceLoader: batchSize must be a positive integer, got ${batchSize}`);
    this.seed = options.seed ?? 0;
    if (!Number.isSafeInteger(this.seed) || this.seed < 0) throw new ArgumentTypeError(`DeviceLoader: seed must be a non-negative integer, got ${options.seed}`);
    const memoryFormat = options.memoryFormat ?? 'contiguous';
    if (memoryFormat !== 'contiguous' && memoryFormat !== 'channelsLast') {
      throw new ArgumentTypeError(`DeviceLoader: memoryFormat must be 'contiguous' or 'channelsLast', got ${JSON.stringify(memoryFormat)}`);
    }
    if (set.images.length !== set.count * set.height * set.width * 3 || set.labels.length !== set.count) {
      throw new ArgumentRangeError(`DeviceLoader: the ImageSet's arrays do not match count ${set.count} and size ${set.height}x${set.width}x3`);
    }
    this.count = set.count;
    this.height = set.height;
    this.width = set.width;
    this.batchSize = batchSize;
    this.device = checkDevice(options.device ?? 'cpu', 'DeviceLoader device');
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.memoryFormat = memoryFormat;
    this.augment = planAugment(options.augment, set.height, set.width);
    this.classNames = set.classNames;
    this.shard = options.shard === undefined ? null : checkShard(options.shard, 'DeviceLoader shard');
    const device = this.device;
    // keep(): these live as long as the loader, not as long as a caller's scope.
    this.#images = keep(tensor(set.images, [set.count, set.height, set.width, 3], { dtype: 'uint8', device }));
    this.#labels = keep(scope(() => tensor(set.labels, [set.count], { device }).to('int64')));
    this.#finisher = new BatchFinisher(options, this.augment, this.device, memoryFormat);
  }

  /** Images served per epoch: the whole set, or this rank's shard of it. */
  get samplesPerEpoch(): number {
    return this.shard === null ? this.count : shardSize(this.count, this.shard);
  }

  /** Batches per epoch. */
  get numBatches(): number {
    const samples = this.samplesPerEpoch;
    return this.dropLast ? Math.floor(samples / this.batchSize) : Math.ceil(samples / this.batchSize);
  }

  get isDisposed(): boolean {
    return this.#images === undefined;
  }

  /** The image order of `epoch`: a seeded permutation, or 0..N-1 without shuffle. */
  order(epoch: number): Int32Array {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new ArgumentTypeError(`DeviceLoader: epoch must be a non-negative integer, got ${epoch}`);
    if (this.#order?.epoch !== epoch) {
      const all = this.shuffle ? new Rng(this.seed, RNG_STREAM.order, epoch).permutation(this.count) : Int32Array.from({ length: this.count }, (_, i) => i);
      this.#order = { epoch, indices: this.shard === null ? all : shardOrder(all, this.shard) };
    }
    return this.#order.indices;
  }

  /**
   * The batches of `epoch`, in order. Each yielded batch's tensors belong to
   * the caller (to the scope() active when it is requested, if any).
   */
  *batches(epoch = 0): Generator<Batch, void, undefined> {
    const total = this.numBatches;
    for (let index = 0; index < total; index++) yield this.batch(epoch, index);
  }

  /** Batch `index` of `epoch` (random access; the same as the generator yields). */
  batch(epoch: number, index: number): Batch {
    const images = this.#images;
    const labels = this.#labels;
    if (images === undefined || labels === undefined) throw new Error('DeviceLoader: used after dispose()');
    if (!Number.isInteger(index) || index < 0 || index >= this.numBatches) {
      throw new ArgumentRangeError(`DeviceLoader: batch ${index} is out of range (${this.numBatches} batches per epoch)`);
    }
    const order = this.order(epoch);
    const start = index * this.batchSize;
    const picked = order.subarray(start, Math.min(order.length, start + this.batchSize));
    const plan = this.augment;
    const finisher = this.#finisher!;
    return scope(() => {
      if (!this.shuffle && !plan.random && this.shard === null) {
        // Evaluation: a contiguous slice of the set, no index op needed.
        return { images: finisher.toFloat(images.narrow(0, start, picked.length)), labels: labels.narrow(0, start, picked.length).clone() };
      }
      // Ranks draw their own augmentation; one process keeps the draws it always had.
      const rng = rankedRng(this.seed, RNG_STREAM.augment, this.shard, epoch, index);
      return finisher.augment(images, labels, picked, rng);
    });
  }

  /** Frees the device copy of the set (idempotent). */
  dispose(): void {
    for (const t of [this.#images, this.#labels]) t?.dispose();
    this.#finisher?.dispose();
    this.#images = this.#labels = this.#finisher = undefined;
    this.#order = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * The device-side end of every image pipeline: from uint8 NHWC images to
 * normalised, augmented float batches. DeviceLoader gathers from the whole
 * split; the streaming loader from one decoded batch.
 */
export class BatchFinisher {
  #scale: Tensor;
  #shift: Tensor;

  constructor(
    options: Pick<DeviceLoaderOptions, 'mean' | 'std'>,
    readonly plan: AugmentPlan,
    readonly device: Device,
    readonly memoryFormat: 'contiguous' | 'channelsLast',
  ) {
    const mean = checkChannels(options.mean, 0, 'mean', false);
    const std = checkChannels(options.std, 1, 'std', true);
    // (x / 255 - mean) / std  ==  x * scale + shift; keep(): they live as long as the loader.
    this.#scale = keep(tensor(std.map((s) => 1 / (255 * s)), [1, 3, 1, 1], { device }));
    this.#shift = keep(tensor(mean.map((m, c) => -m / std[c]!), [1, 3, 1, 1], { device }));
  }

  /** Images `picked` of `source` (uint8 [N, H, W, 3]) with the plan's random crop, flip, affine and cutout drawn from `rng`. */
  augment(source: Tensor, labels: Tensor, picked: ArrayLike<number>, rng: Rng): Batch {
    const plan = this.plan;
    const [, height, width] = source.shape as [number, number, number, number];
    const params = uploadParams(drawBatchParams(rng, picked, plan, height, width), this.device);
    const indices = params.ints.select(1, 0);
    const gathered = plan.gathers ? gatherCropFlip(source, params.ints, plan.paddingMode) : source.indexSelect(0, indices);
    let batch = this.toFloat(gathered);
    if (plan.affine) batch = affine(batch, params.theta!, plan.fill);
    if (plan.cutout > 0) cutout_(batch, params.ints, plan.cutout);
    if (this.memoryFormat === 'channelsLast' && !batch.isContiguous('channelsLast')) batch = batch.contiguous('channelsLast');
    return { images: batch, labels: labels.indexSelect(0, indices) };
  }

  /** uint8 [B, H, W, 3] -> normalised float32 [B, 3, H, W] in the loader's memory format. */
  toFloat(nhwc: Tensor): Tensor {
    // The NHWC bytes are already channels-last; for NCHW, transpose while still 1 byte per value.
    const nchw = nhwc.permute([0, 3, 1, 2]);
    const laidOut = this.memoryFormat === 'contiguous' ? nchw.contiguous() : nchw;
    // One pass converts and normalises: shift + x * scale, promoted to float32.
    return addcmul(this.#shift, laidOut, this.#scale);
  }

  dispose(): void {
    this.#scale.dispose();
    this.#shift.dispose();
  }
}
