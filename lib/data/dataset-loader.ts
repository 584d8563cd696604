// Batches from a user's Dataset object (PyTorch's map-style Dataset: a
// length and items by index), fetched batch by batch, so the data need not
// fit in memory. The same contract as DeviceLoader: random access by
// (epoch, index) and the same seeded order per epoch.
import type { Device } from '../device';
import { ArgumentRangeError, ArgumentTypeError } from '../errors';
import { isFloating } from '../dtype';
import { scope } from '../memory';
import { stack } from '../ops/shape';
import { tensor } from '../ops/creation';
import { Tensor } from '../tensor';
import type { Batch } from './loader';
import { Rng, RNG_STREAM } from './rng';

/** A map-style data set: give get() or getBatch() (or both: getBatch is used). */
export interface Dataset {
  readonly length: number;
  /** Item `index`: x a floating tensor [C, H, W], y its class index. */
  get?(index: number): { x: Tensor; y: number };
  /** The items at `indices`, stacked: x [B, C, H, W], y an integer tensor [B] (or numbers). */
  getBatch?(indices: readonly number[]): { x: Tensor; y: Tensor | ArrayLike<number> };
  /** Every item's class index; read through get/getBatch when absent (splits and the class count need them). */
  readonly labels?: ArrayLike<number>;
  readonly classNames?: string[];
}

export function isDataset(value: unknown): value is Dataset {
  const candidate = value as Dataset | null;
  return candidate !== null && typeof candidate === 'object' && typeof candidate.length === 'number' && (typeof candidate.get === 'function' || typeof candidate.getBatch === 'function');
}

/** Items `indices` as one batch on the CPU or wherever the dataset made them: x [B, C, H, W], y int64 [B]. */
function fetch(dataset: Dataset, indices: readonly number[]): { x: Tensor; y: Tensor } {
  return scope(() => {
    if (dataset.getBatch !== undefined) {
      const { x, y } = dataset.getBatch(indices);
      const labels = y instanceof Tensor ? y.to('int64') : tensor(Array.from(y), [indices.length], { dtype: 'int64' });
      return { x: checkInputs(x, indices.length), y: labels };
    }
    const items = indices.map((index) => dataset.get!(index));
    return { x: checkInputs(stack(items.map((item) => item.x)), indices.length), y: tensor(items.map((item) => item.y), [indices.length], { dtype: 'int64' }) };
  });
}

function checkInputs(x: unknown, count: number): Tensor {
  if (!(x instanceof Tensor) || x.ndim !== 4 || !isFloating(x.dtype) || x.shape[0] !== count) {
    const got = x instanceof Tensor ? `${x.dtype} [${x.shape.join(', ')}]` : typeof x;
    throw new ArgumentTypeError(`dataset: a batch of ${count} items must have x a floating tensor [${count}, C, H, W] (items [C, H, W]), got ${got}`);
  }
  return x;
}

/** Every item's class index (the dataset's own labels, or read in batches of 256), checked against `classes`. */
export function datasetLabels(dataset: Dataset, classes: number | undefined): Int32Array {
  if (!Number.isInteger(dataset.length) || dataset.length < 1) throw new ArgumentRangeError(`dataset.length must be a positive integer, got ${dataset.length}`);
  let labels: Int32Array;
  if (dataset.labels !== undefined) {
    labels = Int32Array.from(dataset.labels);
  } else {
    labels = new Int32Array(dataset.length);
    for (let start = 0; start < dataset.length; start += 256) {
      const indices = Array.from({ length: Math.min(256, dataset.length - start) }, (_, i) => start + i);
      const chunk = scope(() => fetch(dataset, indices).y.dataSync() as BigInt64Array);
      chunk.forEach((label, i) => (labels[start + i] = Number(label)));
    }
  }
  if (labels.length !== dataset.length) throw new ArgumentRangeError(`dataset.labels has ${labels.length} entries for ${dataset.length} items`);
  const bad = labels.findIndex((label) => label < 0 || (classes !== undefined && label >= classes));
  if (bad >= 0) throw new ArgumentRangeError(`dataset item ${bad} has label ${labels[bad]}, not a class index in [0, ${classes ?? 'classes'})`);
  return labels;
}

export interface DatasetLoaderOptions {
  batchSize: number;
  device: Device;
  shuffle: boolean;
  dropLast: boolean;
  seed: number;
  memoryFormat?: 'contiguous' | 'channelsLast';
}

export class DatasetLoader {
  readonly height: number;
  readonly width: number;
  readonly #rows: readonly number[];
  #order: { epoch: number; indices: Int32Array } | undefined;

  /** Over the items at `rows` of `dataset` (default all). */
  constructor(
    private readonly dataset: Dataset,
    private readonly options: DatasetLoaderOptions,
    rows?: readonly number[],
  ) {
    this.#rows = rows ?? Array.from({ length: dataset.length }, (_, i) => i);
    const first = scope(() => fetch(dataset, [this.#rows[0] ?? 0]).x.shape);
    [, , this.height, this.width] = first as [number, number, number, number];
  }

  get numBatches(): number {
    const count = this.#rows.length;
    return this.options.dropLast ? Math.floor(count / this.options.batchSize) : Math.ceil(count / this.options.batchSize);
  }

  private order(epoch: number): Int32Array {
    if (this.#order?.epoch !== epoch) {
      const count = this.#rows.length;
      const indices = this.options.shuffle ? new Rng(this.options.seed, RNG_STREAM.order, epoch).permutation(count) : Int32Array.from({ length: count }, (_, i) => i);
      this.#order = { epoch, indices };
    }
    return this.#order.indices;
  }

  batch(epoch: number, index: number): Batch {
    if (!Number.isInteger(index) || index < 0 || index >= this.numBatches) {
      throw new ArgumentRangeError(`DatasetLoader: batch ${index} is out of range (${this.numBatches} batches per epoch)`);
    }
    const { batchSize, device, memoryFormat = 'contiguous' } = this.options;
    const start = index * batchSize;
    const picked = Array.from(this.order(epoch).subarray(start, Math.min(this.#rows.length, start + batchSize)), (position) => this.#rows[position]!);
    return scope(() => {
      const { x, y } = fetch(this.dataset, picked);
      return { images: x.to(device).float().contiguous(memoryFormat), labels: y.to(device) };
    });
  }

  *batches(epoch = 0): Generator<Batch, void, undefined> {
    for (let index = 0; index < this.numBatches; index++) yield this.batch(epoch, index);
  }

  /** Nothing is held: batches are fetched when asked for. */
  dispose(): void {}
}
