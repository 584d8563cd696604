// Tensor creation: from JS data, and the constant factories.
import { checkDevice, type Device } from '../device';
import { dtypeCode, dtypeOfArray, isDType, isFloating, itemSize, type DType, type MemoryFormat, memoryFormatCode } from '../dtype';
import { native } from '../native';
import { Tensor } from '../tensor';
import { ArgumentRangeError, ArgumentTypeError } from '../errors';
import { flattenNested, naturalDType, typedArrayFor, type NestedData } from './js-data';
import { handleOf, wrap } from './registry';
import { callOp, op } from './op';

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

/** A shape: non-negative integers. */
export function checkShape(shape: readonly number[], what = 'shape'): number[] {
  if (!Array.isArray(shape)) throw new ArgumentTypeError(`${what} must be an array of sizes, got ${typeof shape}`);
  for (const size of shape) {
    if (!Number.isInteger(size) || size < 0) {
      throw new ArgumentTypeError(`${what} must hold non-negative integers, got [${shape.join(', ')}]`);
    }
  }
  return [...shape];
}

function finish(tensor: Tensor, options: TensorOptions | undefined): Tensor {
  if (options?.requiresGrad) tensor.requiresGrad = true;
  return tensor;
}

function factoryArgs(options: TensorOptions | undefined, defaultDtype?: DType): [number | undefined, undefined, string | undefined, undefined] {
  const dtype = options?.dtype ?? defaultDtype;
  return [
    dtype === undefined ? undefined : dtypeCode(dtype),
    undefined,
    options?.device === undefined ? undefined : checkDevice(options.device),
    undefined,
  ];
}

/**
 * Creates a tensor from JS data: a TypedArray or Buffer (with `shape`), or
 * nested arrays of numbers/booleans/bigints, whose innermost level may be a
 * TypedArray (shape inferred). Data is copied: JS can detach or reuse an
 * ArrayBuffer under libtorch, so sharing is unsafe. Numbers default to
 * float32 (booleans among them are 0/1), booleans alone to bool, bigints to
 * int64. Any other element, and any value the dtype cannot hold exactly
 * (NaN or fractions into integers, numbers beyond 2^53 into int64, values
 * outside an integer range), is an error naming the element's position.
 */
export function tensor(
  data: ArrayBufferView | NestedData,
  shapeOrOptions?: readonly number[] | TensorOptions,
  maybeOptions?: TensorOptions,
): Tensor {
  const options = Array.isArray(shapeOrOptions) ? maybeOptions : (shapeOrOptions as TensorOptions | undefined);
  let shape = Array.isArray(shapeOrOptions) ? checkShape(shapeOrOptions) : undefined;
  if (options?.dtype !== undefined && !isDType(options.dtype)) dtypeCode(options.dtype); // throws a clear error
  let result: Tensor;
  if (data instanceof ArrayBuffer || Buffer.isBuffer(data) || data instanceof DataView) {
    // Raw bytes (files, network): reinterpreted as `dtype`, like torch.frombuffer.
    const dtype = options?.dtype ?? 'uint8';
    result = fromBytesAs(data, shape, dtype);
  } else if (ArrayBuffer.isView(data)) {
    const natural = data instanceof Uint16Array ? undefined : dtypeOfArray(data);
    const dtype = options?.dtype ?? natural;
    if (dtype === undefined || (natural === undefined && dtype !== 'float16' && dtype !== 'bfloat16')) {
      throw new ArgumentTypeError(
        `tensor(): a Uint16Array holds raw 16-bit floats: pass { dtype: 'float16' } or { dtype: 'bfloat16' }${dtype === undefined ? '' : `, not '${dtype}'`}`,
      );
    }
    shape ??= [(data as unknown as { length: number }).length];
    if (natural === undefined || natural === dtype) {
      result = Tensor.fromHandle(native.fromBytes(data, shape, dtypeCode(dtype)));
    } else if (isFloating(dtype)) {
      // Into a float type: rounded like any float conversion.
      const raw = Tensor.fromHandle(native.fromBytes(data, shape, dtypeCode(natural)));
      result = raw.to(dtype);
      raw.dispose();
    } else {
      // Into an integer or bool type: checked element by element, since a
      // cast would turn NaN, fractions and out-of-range values into others silently.
      const values = Array.from(data as unknown as ArrayLike<number | bigint>);
      result = Tensor.fromHandle(native.fromBytes(typedArrayFor(values, shape, dtype), shape, dtypeCode(dtype)));
    }
  } else {
    const flat = flattenNested(data);
    const dtype = options?.dtype ?? naturalDType(flat.kinds);
    shape ??= flat.shape;
    const buildType: DType = dtype === 'float16' || dtype === 'bfloat16' ? 'float32' : dtype;
    const built = Tensor.fromHandle(native.fromBytes(typedArrayFor(flat.values, flat.shape, dtype), shape, dtypeCode(buildType)));
    if (buildType !== dtype) {
      result = built.to(dtype);
      built.dispose();
    } else {
      result = built;
    }
  }
  if (options?.device !== undefined && options.device !== 'cpu') {
    const moved = result.to(checkDevice(options.device));
    result.dispose();
    result = moved;
  }
  return finish(result, options);
}

/** Raw bytes reinterpreted as `dtype` (copied). Shape defaults to 1-D. */
export function fromBytesAs(data: ArrayBuffer | ArrayBufferView, shape: readonly number[] | undefined, dtype: DType): Tensor {
  if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) {
    throw new ArgumentTypeError(`fromBytesAs(data) must be an ArrayBuffer, Buffer or TypedArray, got ${data === null ? 'null' : typeof data}`);
  }
  const size = itemSize(dtype);
  if (shape === undefined) {
    if (data.byteLength % size !== 0) {
      throw new ArgumentTypeError(`${data.byteLength} bytes is not a whole number of ${dtype} elements (${size} bytes each)`);
    }
    shape = [data.byteLength / size];
  }
  return Tensor.fromHandle(native.fromBytes(data, checkShape(shape), dtypeCode(dtype)));
}

const ZEROS = op('aten::zeros');
const ONES = op('aten::ones');
const FULL = op('aten::full');
const EMPTY = op('aten::empty.memory_format');
const ARANGE = op('aten::arange.start_step');
const LINSPACE = op('aten::linspace');
const EYE = op('aten::eye.m');
const SCALAR_TENSOR = op('aten::scalar_tensor');
const ZEROS_LIKE = op('aten::zeros_like');
const ONES_LIKE = op('aten::ones_like');
const FULL_LIKE = op('aten::full_like');
const EMPTY_LIKE = op('aten::empty_like');

export function zeros(shape: readonly number[], options?: TensorOptions): Tensor {
  return finish(wrap(callOp(ZEROS.handle, checkShape(shape), ...factoryArgs(options))), options);
}

export function ones(shape: readonly number[], options?: TensorOptions): Tensor {
  return finish(wrap(callOp(ONES.handle, checkShape(shape), ...factoryArgs(options))), options);
}

/** A fill value that an integer dtype holds exactly (ATen would reject or truncate it with a less clear message). */
function checkFillValue(what: string, value: number | boolean, dtype: DType | undefined): void {
  if (typeof value !== 'number' || dtype === undefined || !INTEGER_DTYPES.has(dtype)) return;
  if (!Number.isSafeInteger(value)) {
    throw new ArgumentRangeError(`${what}: value ${value} cannot be held exactly by ${dtype} (${Number.isInteger(value) ? 'beyond 2^53' : 'not an integer'})`);
  }
}

const INTEGER_DTYPES: ReadonlySet<DType> = new Set(['int64', 'int32', 'int16', 'int8', 'uint8']);

const NEG_ = op('aten::neg_');

/**
 * The op layer passes an integral JS number as an integer Scalar (so that
 * `intTensor.add(2)` stays integer, as in Python), and -0 is integral: a
 * fill of -0 would come out +0. A float fill of -0 is negated back here.
 */
function withFillSign(tensor: Tensor, value: number | boolean): Tensor {
  if (Object.is(value, -0) && isFloating(tensor.dtype)) callOp(NEG_.handle, tensor.handle);
  return tensor;
}

export function full(shape: readonly number[], value: number | boolean, options?: TensorOptions): Tensor {
  checkFillValue('full()', value, options?.dtype);
  const filled = wrap(callOp(FULL.handle, checkShape(shape), value, ...factoryArgs(options, typeof value === 'boolean' ? 'bool' : 'float32')));
  return finish(withFillSign(filled, value), options);
}

/** Uninitialised memory: fill it before reading. */
export function empty(shape: readonly number[], options?: TensorOptions & { memoryFormat?: MemoryFormat }): Tensor {
  const format = options?.memoryFormat === undefined ? undefined : memoryFormatCode(options.memoryFormat);
  return finish(wrap(callOp(EMPTY.handle, checkShape(shape), ...factoryArgs(options), format)), options);
}

/** Values from `start` (inclusive) to `end` (exclusive) by `step`. float32 unless a dtype is given. */
export function arange(start: number, end?: number, step = 1, options?: TensorOptions): Tensor {
  if (end === undefined) [start, end] = [0, start];
  for (const [name, value] of [['start', start], ['end', end], ['step', step]] as const) {
    if (typeof value !== 'number') throw new ArgumentTypeError(`arange(): ${name} must be a number, got ${typeof value}`);
    if (!Number.isFinite(value)) throw new ArgumentRangeError(`arange(): ${name} must be finite, got ${value}`);
  }
  if (step === 0) throw new ArgumentRangeError('arange(): step must be non-zero');
  const allIntegers = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  return finish(wrap(callOp(ARANGE.handle, start, end, step, ...factoryArgs(options, allIntegers ? 'int64' : 'float32'))), options);
}

export function linspace(start: number, end: number, steps: number, options?: TensorOptions): Tensor {
  return finish(wrap(callOp(LINSPACE.handle, start, end, steps, ...factoryArgs(options))), options);
}

export function eye(n: number, m = n, options?: TensorOptions): Tensor {
  return finish(wrap(callOp(EYE.handle, n, m, ...factoryArgs(options))), options);
}

/** A 0-dim tensor holding `value`. */
export function scalarTensor(value: number | boolean, options?: TensorOptions): Tensor {
  checkFillValue('scalarTensor()', value, options?.dtype);
  const filled = wrap(callOp(SCALAR_TENSOR.handle, value, ...factoryArgs(options, typeof value === 'boolean' ? 'bool' : 'float32')));
  return finish(withFillSign(filled, value), options);
}

function likeArgs(options: TensorOptions | undefined): [number | undefined, undefined, string | undefined, undefined, undefined] {
  return [...factoryArgs(options), undefined];
}

export function zerosLike(like: Tensor, options?: TensorOptions): Tensor {
  return finish(wrap(callOp(ZEROS_LIKE.handle, handleOf(like, 'zerosLike(like)'), ...likeArgs(options))), options);
}

export function onesLike(like: Tensor, options?: TensorOptions): Tensor {
  return finish(wrap(callOp(ONES_LIKE.handle, handleOf(like, 'onesLike(like)'), ...likeArgs(options))), options);
}

export function fullLike(like: Tensor, value: number | boolean, options?: TensorOptions): Tensor {
  checkFillValue('fullLike()', value, options?.dtype ?? (like instanceof Tensor ? like.dtype : undefined));
  const filled = wrap(callOp(FULL_LIKE.handle, handleOf(like, 'fullLike(like)'), value, ...likeArgs(options)));
  return finish(withFillSign(filled, value), options);
}

export function emptyLike(like: Tensor, options?: TensorOptions): Tensor {
  return finish(wrap(callOp(EMPTY_LIKE.handle, handleOf(like, 'emptyLike(like)'), ...likeArgs(options))), options);
}

export { factoryArgs as _factoryArgs, finish as _finish };
