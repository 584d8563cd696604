// Tensor creation: from JS data, and the constant factories.
import { checkDevice, type Device } from '../device';
import { dtypeCode, dtypeOfArray, isDType, itemSize, type DType, type MemoryFormat, memoryFormatCode } from '../dtype';
import { native } from '../native';
import { Tensor } from '../tensor';
import { handleOf, wrap } from './registry';
import { callOp, op } from './op';

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

/** A shape: non-negative integers. */
export function checkShape(shape: readonly number[], what = 'shape'): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${what} must be an array of sizes, got ${typeof shape}`);
  for (const size of shape) {
    if (!Number.isInteger(size) || size < 0) {
      throw new TypeError(`${what} must hold non-negative integers, got [${shape.join(', ')}]`);
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

type NestedNumbers = number | boolean | bigint | readonly NestedNumbers[];

function inferShape(data: NestedNumbers): number[] {
  const shape: number[] = [];
  let level: NestedNumbers = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as NestedNumbers;
  }
  return shape;
}

function flatten(data: NestedNumbers, shape: number[], depth: number, out: (number | boolean | bigint)[]): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new TypeError('tensor(): nested arrays are ragged (sub-arrays of different depths)');
    out.push(data as number | boolean | bigint);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TypeError(`tensor(): nested arrays are ragged: expected length ${shape[depth]} at depth ${depth}`);
  }
  for (const item of data) flatten(item, shape, depth + 1, out);
}

function typedArrayFor(values: (number | boolean | bigint)[], dtype: DType): ArrayBufferView {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values as number[], Number);
    case 'float64':
      return Float64Array.from(values as number[], Number);
    case 'int64':
      return BigInt64Array.from(values, (v) => (typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)))));
    case 'int32':
      return Int32Array.from(values as number[], Number);
    case 'int16':
      return Int16Array.from(values as number[], Number);
    case 'int8':
      return Int8Array.from(values as number[], Number);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(values as number[], Number);
    default:
      return Float32Array.from(values as number[], Number); // float16/bfloat16: converted below
  }
}

/**
 * Creates a tensor from JS data: a TypedArray or Buffer (with `shape`), or
 * nested arrays of numbers/booleans/bigints (shape inferred). Data is copied:
 * JS can detach or reuse an ArrayBuffer under libtorch, so sharing is unsafe.
 * Numbers default to float32, booleans to bool, bigints to int64.
 */
export function tensor(
  data: ArrayBufferView | NestedNumbers,
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
    if (dtype === undefined) {
      throw new TypeError("tensor(): a Uint16Array holds raw 16-bit floats: pass { dtype: 'float16' } or { dtype: 'bfloat16' }");
    }
    shape ??= [(data as unknown as { length: number }).length];
    if (natural !== undefined && natural !== dtype && !(natural === 'uint8' && dtype === 'bool')) {
      // Values of another element type: build in the array's own type, then convert.
      const raw = Tensor.fromHandle(native.fromBytes(data, shape, dtypeCode(natural)));
      result = raw.to(dtype);
      raw.dispose();
    } else {
      result = Tensor.fromHandle(native.fromBytes(data, shape, dtypeCode(dtype)));
    }
  } else {
    if (data === null || data === undefined) throw new TypeError('tensor(): data must be an array, a number or a TypedArray');
    const inferred = inferShape(data);
    const values: (number | boolean | bigint)[] = [];
    flatten(data, inferred, 0, values);
    const first = values[0];
    const natural: DType = typeof first === 'boolean' ? 'bool' : typeof first === 'bigint' ? 'int64' : 'float32';
    const dtype = options?.dtype ?? natural;
    shape ??= inferred;
    const buildType: DType = dtype === 'float16' || dtype === 'bfloat16' ? 'float32' : dtype;
    const built = Tensor.fromHandle(native.fromBytes(typedArrayFor(values, buildType), shape, dtypeCode(buildType)));
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
  const size = itemSize(dtype);
  if (shape === undefined) {
    if (data.byteLength % size !== 0) {
      throw new TypeError(`${data.byteLength} bytes is not a whole number of ${dtype} elements (${size} bytes each)`);
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

export function full(shape: readonly number[], value: number | boolean, options?: TensorOptions): Tensor {
  return finish(wrap(callOp(FULL.handle, checkShape(shape), value, ...factoryArgs(options, typeof value === 'boolean' ? 'bool' : 'float32'))), options);
}

/** Uninitialised memory: fill it before reading. */
export function empty(shape: readonly number[], options?: TensorOptions & { memoryFormat?: MemoryFormat }): Tensor {
  const format = options?.memoryFormat === undefined ? undefined : memoryFormatCode(options.memoryFormat);
  return finish(wrap(callOp(EMPTY.handle, checkShape(shape), ...factoryArgs(options), format)), options);
}

/** Values from `start` (inclusive) to `end` (exclusive) by `step`. float32 unless a dtype is given. */
export function arange(start: number, end?: number, step = 1, options?: TensorOptions): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new RangeError('arange(): step must be non-zero');
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
  return finish(wrap(callOp(SCALAR_TENSOR.handle, value, ...factoryArgs(options, typeof value === 'boolean' ? 'bool' : 'float32'))), options);
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
  return finish(wrap(callOp(FULL_LIKE.handle, handleOf(like, 'fullLike(like)'), value, ...likeArgs(options))), options);
}

export function emptyLike(like: Tensor, options?: TensorOptions): Tensor {
  return finish(wrap(callOp(EMPTY_LIKE.handle, handleOf(like, 'emptyLike(like)'), ...likeArgs(options))), options);
}

export { factoryArgs as _factoryArgs, finish as _finish };
