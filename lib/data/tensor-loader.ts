// Batches from a user's tensors: inputs x [N, C, H, W] (any float dtype,
// used as given: no normalisation or augmentation) and class labels y [N].
// The same contract as DeviceLoader: random access by (epoch, index), a
// seeded order per epoch, the data held once on the device.
import type { Device } from '../device';
import { ArgumentRangeError, ArgumentTypeError } from '../errors';
import { isFloating } from '../dtype';
import { keep, scope } from '../memory';
import { tensor } from '../ops/creation';
import { Tensor } from '../tensor';
import type { Batch } from './loader';
import { Rng, RNG_STREAM } from './rng';

export interface TensorData {
  /** Inputs, [N, C, H, W], a floating dtype. */
  x: Tensor;
  /** Class indices in [0, classes), [N], an integer dtype. */
  y: Tensor;
}

export interface TensorLoaderOptions {
  batchSize: number;
  device: Device;
  shuffle: boolean;
  dropLast: boolean;
  seed: number;
  memoryFormat?: 'contiguous' | 'channelsLast';
}

/** Checks x and y and returns their labels as JS numbers (for splits and class counts). */
export function checkTensorData(data: TensorData, classes: number | undefined, what = 'dataset'): Int32Array {
  const { x, y } = data ?? ({} as TensorData);
  if (!(x instanceof Tensor) || !(y instanceof Tensor)) throw new ArgumentTypeError(`${what} must be { x: Tensor, y: Tensor }`);
  if (x.ndim !== 4 || !isFloating(x.dtype)) throw new ArgumentTypeError(`${what}.x must be a floating tensor [N, C, H, W], got ${x.dtype} [${x.shape.join(', ')}]`);
  if (y.ndim !== 1 || isFloating(y.dtype) || y.dtype === 'bool') throw new ArgumentTypeError(`${what}.y must be an integer tensor [N] of class indices, got ${y.dtype} [${y.shape.join(', ')}]`);
  if (y.shape[0] !== x.shape[0]) throw new ArgumentRangeError(`${what}: x has ${x.shape[0]} items but y has ${y.shape[0]} labels`);
  const labels = Int32Array.from(scope(() => y.to('cpu').to('int64').dataSync() as BigInt64Array), Number);
  const bad = labels.findIndex((label) => label < 0 || (classes !== undefined && label >= classes));
  if (bad >= 0) throw new ArgumentRangeError(`${what}.y[${bad}] is ${labels[bad]}, not a class index in [0, ${classes ?? 'classes'})`);
  return labels;
}

export class TensorLoader {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly batchSize: number;
  readonly #options: TensorLoaderOptions;
  #x: Tensor | undefined;
  #y: Tensor | undefined;
  #order: { epoch: number; indices: Int32Array } | undefined;

  /** Copies `data` (the rows at `indices`, default all) to the device. */
  constructor(data: TensorData, options: TensorLoaderOptions, indices?: readonly number[]) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new ArgumentRangeError(`TensorLoader: batchSize must be a positive integer, got ${options.batchSize}`);
    this.#options = options;
    this.batchSize = options.batchSize;
    [this.#x, this.#y] = scope(() => {
      const rows = indices === undefined ? null : tensor(Int32Array.from(indices), [indices.length], { dtype: 'int64' }).to(data.x.device);
      const x = (rows === null ? data.x : data.x.indexSelect(0, rows)).to(options.device).contiguous(options.memoryFormat ?? 'contiguous');
      const y = (rows === null ? data.y : data.y.indexSelect(0, rows.to(data.y.device))).to(options.device).to('int64');
      return [keep(x === data.x ? x.clone() : x), keep(y === data.y ? y.clone() : y)];
    });
    [this.count, , this.height, this.width] = this.#x.shape as [number, number, number, number];
  }

  get numBatches(): number {
    return this.#options.dropLast ? Math.floor(this.count / this.batchSize) : Math.ceil(this.count / this.batchSize);
  }

  /** The order of `epoch`: a seeded permutation (as DeviceLoader draws it), or 0..N-1. */
  order(epoch: number): Int32Array {
    if (this.#order?.epoch !== epoch) {
      const indices = this.#options.shuffle ? new Rng(this.#options.seed, RNG_STREAM.order, epoch).permutation(this.count) : Int32Array.from({ length: this.count }, (_, i) => i);
      this.#order = { epoch, indices };
    }
    return this.#order.indices;
  }

  batch(epoch: number, index: number): Batch {
    const x = this.#x;
    const y = this.#y;
    if (x === undefined || y === undefined) throw new Error('TensorLoader: used after dispose()');
    if (!Number.isInteger(index) || index < 0 || index >= this.numBatches) {
      throw new ArgumentRangeError(`TensorLoader: batch ${index} is out of range (${this.numBatches} batches per epoch)`);
    }
    const start = index * this.batchSize;
    const length = Math.min(this.count, start + this.batchSize) - start;
    if (!this.#options.shuffle) return { images: x.narrow(0, start, length).clone(), labels: y.narrow(0, start, length).clone() };
    return scope(() => {
      const rows = tensor(this.order(epoch).subarray(start, start + length), [length], { dtype: 'int64', device: this.#options.device });
      return { images: x.indexSelect(0, rows), labels: y.indexSelect(0, rows) };
    });
  }

  *batches(epoch = 0): Generator<Batch, void, undefined> {
    for (let index = 0; index < this.numBatches; index++) yield this.batch(epoch, index);
  }

  dispose(): void {
    this.#x?.dispose();
    this.#y?.dispose();
    this.#x = this.#y = undefined;
  }
}
