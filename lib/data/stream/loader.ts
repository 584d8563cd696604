// StreamLoader: image files decoded batch by batch in worker threads, for
// data sets too large to decode into memory whole. Memory is bounded by the
// prefetch depth (slots x batch x image bytes), not by the data set.
//
// The same contract as DeviceLoader: random access by (epoch, index), a
// seeded order per epoch (so a resumed run gets the same batches), and the
// same device-side augmentation and normalisation (BatchFinisher).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { checkDevice, type Device } from '../../device';
import { checkShard, rankedRng, shardSize, type ShardOptions } from '../../distributed/sampler';
import { ArgumentRangeError, ArgumentTypeError } from '../../errors';
import { scope } from '../../memory';
import { tensor } from '../../ops/creation';
import { planAugment } from '../augment';
import { DataError } from '../errors';
import { BatchFinisher, type Batch, type DeviceLoaderOptions } from '../loader';
import { RNG_STREAM } from '../rng';
import type { TargetSize } from '../types';
import { MESSAGE_BYTES, SLOT, SLOT_FIELDS, STATE, type Job, type RandomResizedCropOptions, type StreamTransform, type WorkerSetup } from './protocol';

/** DeviceLoader's options (order, normalisation, device-side augmentation), and how files are decoded. */
export interface StreamLoaderOptions extends DeviceLoaderOptions {
  /** [height, width] every image is brought to. */
  targetSize: TargetSize;
  /** How (default 'resize': the whole image, aspect ratio not kept, as the in-memory path). */
  transform?: StreamTransform;
  /** 'center-crop': the shorter side's size before the crop (default targetSize / 0.875, i.e. 256 for 224). */
  resizeShorter?: number;
  /** 'random-resized-crop': area and aspect-ratio ranges (torchvision's defaults). */
  crop?: Partial<RandomResizedCropOptions>;
  /** Decode worker threads (default: the number of CPUs). */
  workers?: number;
  /** Batches decoded ahead (default 2 per worker): the memory bound. */
  prefetch?: number;
  /** A file that does not decode: 'skip' it (counted, reported to onSkip; the batch is smaller) or 'error' (default 'skip'). */
  onCorrupt?: 'skip' | 'error';
  /** Told once per skipped file (default: a line on stderr). */
  onSkip?: (message: string) => void;
  /** How long batch() waits for the workers before failing (default 10 minutes). */
  timeoutMs?: number;
}

export interface StreamItems {
  /** Image files; for packed items, the names errors show (archive:entry). */
  files: readonly string[];
  labels: ArrayLike<number>;
  classNames: string[];
  /** The items' bytes at these offsets of one pack file instead of in `files` (an archive, lib/data/stream/archive-pack.ts). */
  pack?: { file: string; offsets: ArrayLike<number>; lengths: ArrayLike<number> };
}

/** How long batch() waits for the first worker to come up. */
const STARTUP_TIMEOUT_MS = 60_000;

function workerScript(): { file: string; eval: boolean } {
  const compiled = path.join(__dirname, 'worker.js');
  if (fs.existsSync(compiled)) return { file: compiled, eval: false };
  // From the TypeScript sources (tests, ts-node): load the worker through ts-node too.
  const register = require.resolve('ts-node/register/transpile-only');
  return { file: `require(${JSON.stringify(register)}); require(${JSON.stringify(path.join(__dirname, 'worker.ts'))});`, eval: true };
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new ArgumentTypeError(`StreamLoader: ${what} must be a positive integer, got ${value}`);
  return value;
}

function checkRange(range: [number, number], what: string, max: number): [number, number] {
  if (!Array.isArray(range) || range.length !== 2 || !(range[0] > 0 && range[0] <= range[1] && range[1] <= max)) {
    throw new ArgumentRangeError(`StreamLoader: crop.${what} must be [low, high] with 0 < low <= high <= ${max}, got ${JSON.stringify(range)}`);
  }
  return [range[0], range[1]];
}

export class StreamLoader {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly batchSize: number;
  readonly device: Device;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly seed: number;
  readonly classNames: string[];
  readonly slots: number;
  /** Distributed training: this rank's shard of each epoch (DeviceLoader's rule); null: every image. */
  readonly shard: Required<ShardOptions> | null;
  /** Files skipped so far because they did not decode. */
  skippedCount = 0;

  readonly #finisher: BatchFinisher;
  readonly #workers: Worker[];
  readonly #control: Int32Array;
  readonly #pixels: Uint8Array;
  readonly #labels: Int32Array;
  readonly #messages: Uint8Array;
  readonly #assigned: (Job | null)[];
  readonly #skippedFiles = new Set<string>();
  readonly #onSkip: (message: string) => void;
  readonly #timeoutMs: number;
  #workerError: Error | undefined;
  #disposed = false;

  constructor(items: StreamItems, options: StreamLoaderOptions) {
    const count = items.files.length;
    if (count === 0) throw new ArgumentRangeError('StreamLoader: no files');
    if (items.labels.length !== count) throw new ArgumentRangeError(`StreamLoader: ${items.labels.length} labels for ${count} files`);
    if (items.pack !== undefined && (items.pack.offsets.length !== count || items.pack.lengths.length !== count)) {
      throw new ArgumentRangeError(`StreamLoader: the pack has ${items.pack.offsets.length} offsets and ${items.pack.lengths.length} lengths for ${count} files`);
    }
    this.count = count;
    this.batchSize = positiveInteger(options.batchSize, 'batchSize');
    const size = options.targetSize;
    if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v > 0 && v <= 16384)) {
      throw new ArgumentTypeError(`StreamLoader: targetSize must be [height, width] with positive integers, got ${JSON.stringify(size)}`);
    }
    [this.height, this.width] = size;
    const transform = options.transform ?? 'resize';
    if (!['resize', 'center-crop', 'random-resized-crop'].includes(transform)) {
      throw new ArgumentTypeError(`StreamLoader: transform must be 'resize', 'center-crop' or 'random-resized-crop', got ${JSON.stringify(transform)}`);
    }
    const resizeShorter = options.resizeShorter ?? Math.round(Math.max(this.height, this.width) / 0.875);
    if (!Number.isInteger(resizeShorter) || resizeShorter < Math.max(this.height, this.width)) {
      throw new ArgumentRangeError(`StreamLoader: resizeShorter must be an integer at least the target size (${Math.max(this.height, this.width)}), got ${resizeShorter}`);
    }
    const crop = { scale: checkRange(options.crop?.scale ?? [0.08, 1], 'scale', 1), ratio: checkRange(options.crop?.ratio ?? [3 / 4, 4 / 3], 'ratio', Infinity) };
    const onCorrupt = options.onCorrupt ?? 'skip';
    if (onCorrupt !== 'skip' && onCorrupt !== 'error') throw new ArgumentTypeError(`StreamLoader: onCorrupt must be 'skip' or 'error', got ${JSON.stringify(onCorrupt)}`);
    this.seed = options.seed ?? 0;
    if (!Number.isSafeInteger(this.seed) || this.seed < 0) throw new ArgumentTypeError(`StreamLoader: seed must be a non-negative integer, got ${options.seed}`);
    this.device = checkDevice(options.device ?? 'cpu', 'StreamLoader device');
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.classNames = items.classNames;
    this.shard = options.shard === undefined ? null : checkShard(options.shard, 'StreamLoader shard');
    const workers = positiveInteger(options.workers ?? os.availableParallelism(), 'workers');
    this.slots = positiveInteger(options.prefetch ?? 2 * workers, 'prefetch');
    this.#timeoutMs = options.timeoutMs ?? 10 * 60_000;
    this.#onSkip = options.onSkip ?? ((message) => process.stderr.write(`warning: skipped ${message}\n`));
    const memoryFormat = options.memoryFormat ?? 'contiguous';
    this.#finisher = new BatchFinisher(options, planAugment(options.augment, this.height, this.width), this.device, memoryFormat);

    const frameBytes = this.height * this.width * 3;
    const shared = {
      control: new SharedArrayBuffer((this.slots * SLOT_FIELDS + 1) * 4),
      pixels: new SharedArrayBuffer(this.slots * this.batchSize * frameBytes),
      slotLabels: new SharedArrayBuffer(this.slots * this.batchSize * 4),
      messages: new SharedArrayBuffer(this.slots * MESSAGE_BYTES),
    };
    this.#control = new Int32Array(shared.control);
    this.#pixels = new Uint8Array(shared.pixels);
    this.#labels = new Int32Array(shared.slotLabels);
    this.#messages = new Uint8Array(shared.messages);
    this.#assigned = new Array<Job | null>(this.slots).fill(null);
    const labels = Int32Array.from(items.labels);
    const setup: WorkerSetup = {
      files: [...items.files],
      pack: items.pack === undefined ? null : { file: items.pack.file, offsets: Float64Array.from(items.pack.offsets), lengths: Int32Array.from(items.pack.lengths) },
      labels,
      batchSize: this.batchSize,
      height: this.height,
      width: this.width,
      shuffle: this.shuffle,
      shard: this.shard,
      seed: this.seed,
      transform,
      resizeShorter,
      crop,
      skipCorrupt: onCorrupt === 'skip',
      slots: this.slots,
      ...shared,
    };
    const script = workerScript();
    this.#workers = Array.from({ length: workers }, () => {
      const worker = new Worker(script.file, { eval: script.eval, workerData: setup, execArgv: [] });
      // A worker that cannot start shows up as a batch that never comes (batch() times out naming this error).
      worker.on('error', (error) => (this.#workerError ??= error));
      worker.unref();
      return worker;
    });
  }

  /** Images served per epoch: every file, or this rank's shard of them. */
  get samplesPerEpoch(): number {
    return this.shard === null ? this.count : shardSize(this.count, this.shard);
  }

  get numBatches(): number {
    const samples = this.samplesPerEpoch;
    return this.dropLast ? Math.floor(samples / this.batchSize) : Math.ceil(samples / this.batchSize);
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  /** Batch `index` of `epoch`; the batches after it are decoded meanwhile. */
  batch(epoch: number, index: number): Batch {
    if (this.#disposed) throw new Error('StreamLoader: used after dispose()');
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new ArgumentTypeError(`StreamLoader: epoch must be a non-negative integer, got ${epoch}`);
    if (!Number.isInteger(index) || index < 0 || index >= this.numBatches) {
      throw new ArgumentRangeError(`StreamLoader: batch ${index} is out of range (${this.numBatches} batches per epoch)`);
    }
    this.#schedule(epoch, index);
    const slot = index % this.slots;
    const state = this.#waitForSlot(slot);
    const base = slot * SLOT_FIELDS;
    const message = new TextDecoder().decode(this.#messages.slice(slot * MESSAGE_BYTES, slot * MESSAGE_BYTES + this.#control[base + SLOT.messageBytes]!));
    if (state === STATE.failed) {
      this.#release(slot);
      const [file, ...rest] = message.split(': ');
      throw new DataError(file!, rest.join(': '));
    }
    this.#reportSkipped(message, this.#control[base + SLOT.skipped]!);
    const count = this.#control[base + SLOT.count]!;
    const frameBytes = this.height * this.width * 3;
    const at = slot * this.batchSize;
    // slice(): own copies, so the slot can be refilled while the batch is in use.
    const pixels = this.#pixels.slice(at * frameBytes, (at + count) * frameBytes);
    const labels = this.#labels.slice(at, at + count);
    this.#release(slot);
    this.#schedule(epoch, index + 1);
    if (count === 0) throw new DataError(`batch ${index} of epoch ${epoch}`, 'no image of this batch could be decoded (see the warnings above)');
    return scope(() => {
      const device = this.device;
      const images = tensor(pixels, [count, this.height, this.width, 3], { dtype: 'uint8', device });
      const labelTensor = tensor(labels, [count], { device }).to('int64');
      if (!this.#finisher.plan.random) return { images: this.#finisher.toFloat(images), labels: labelTensor };
      const picked = Int32Array.from({ length: count }, (_, i) => i);
      const rng = rankedRng(this.seed, RNG_STREAM.augment, this.shard, epoch, index);
      return this.#finisher.augment(images, labelTensor, picked, rng);
    });
  }

  *batches(epoch = 0): Generator<Batch, void, undefined> {
    for (let index = 0; index < this.numBatches; index++) yield this.batch(epoch, index);
  }

  /** Makes slots hold batches index, index+1, ... of `epoch` (as many as there are slots), sending jobs for the missing ones. */
  #schedule(epoch: number, index: number): void {
    const last = Math.min(this.numBatches, index + this.slots);
    for (let k = index; k < last; k++) {
      const slot = k % this.slots;
      const held = this.#assigned[slot];
      if (held !== null && held.epoch === epoch && held.index === k) continue;
      if (held !== null) {
        // Random access or a new epoch: what the slot holds is not wanted; let its job finish first.
        this.#waitForSlot(slot);
        this.#release(slot);
      }
      const job: Job = { epoch, index: k, slot };
      this.#assigned[slot] = job;
      Atomics.store(this.#control, slot * SLOT_FIELDS + SLOT.state, STATE.decoding);
      this.#workers[k % this.#workers.length]!.postMessage(job);
    }
  }

  #waitForSlot(slot: number): number {
    const at = slot * SLOT_FIELDS + SLOT.state;
    const began = Date.now();
    const deadline = began + this.#timeoutMs;
    for (;;) {
      const state = Atomics.load(this.#control, at);
      if (state !== STATE.decoding) return state;
      // Worker 'error' events cannot arrive while this thread waits, so a worker that never started is caught by its silence.
      if (Atomics.load(this.#control, this.slots * SLOT_FIELDS) === 0 && Date.now() - began > STARTUP_TIMEOUT_MS) {
        throw new DataError('stream', `the decode workers did not start within ${STARTUP_TIMEOUT_MS / 1000} s`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        const why = this.#workerError === undefined ? '' : ` (a worker failed: ${this.#workerError.message.split('\n')[0]})`;
        throw new DataError('stream', `no decoded batch from the workers within ${Math.round(this.#timeoutMs / 1000)} s${why}`);
      }
      Atomics.wait(this.#control, at, STATE.decoding, Math.min(left, 1000));
    }
  }

  #release(slot: number): void {
    this.#assigned[slot] = null;
    Atomics.store(this.#control, slot * SLOT_FIELDS + SLOT.state, STATE.free);
  }

  #reportSkipped(message: string, skipped: number): void {
    if (skipped === 0) return;
    this.skippedCount += skipped;
    for (const line of message.split('\n')) {
      const file = line.split(': ')[0]!;
      if (this.#skippedFiles.has(file)) continue;
      this.#skippedFiles.add(file);
      this.#onSkip(line);
    }
  }

  /** Stops the workers (after their current batch) and frees the device constants (idempotent). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const worker of this.#workers) void worker.terminate();
    this.#finisher.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
