// Nested JS arrays to the flat typed array of a dtype, for tensor().
//
// Elements are numbers, booleans and bigints, at the leaves of nested
// arrays whose innermost level may also be a typed array. Anything else
// (strings, objects, null, holes, symbols) is a TypeError naming its
// position, never a silent NaN. Conversions that would change a value
// silently are errors too: NaN, infinities and fractions into integer
// dtypes (PyTorch truncates fractions; torchts refuses them, since a
// fraction in integer data is almost always a mistake), values outside an
// integer dtype's range, and numbers beyond 2^53 into int64 (a double cannot
// hold them exactly: pass a bigint).
import { ArgumentRangeError, ArgumentTypeError } from '../errors';
import type { DType } from '../dtype';

export type Element = number | boolean | bigint;
export type NestedData = Element | ArrayLike<Element> | readonly NestedData[];

interface Flat {
  shape: number[];
  values: Element[];
  /** What the elements are: decides the dtype when none is given. */
  kinds: { number: boolean; boolean: boolean; bigint: boolean };
}

const position = (path: readonly number[]): string => (path.length === 0 ? 'the data' : `element [${path.join('][')}]`);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined (a hole or a missing element)';
  if (typeof value === 'string') return `a string (${JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}...` : value)})`;
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return `a ${typeof value}`;
}

function isLevel(value: unknown): value is ArrayLike<unknown> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

/** Flattens nested data, checking that it is rectangular and that every leaf is an element. */
export function flattenNested(data: unknown): Flat {
  const shape: number[] = [];
  for (let level: unknown = data; isLevel(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const flat: Flat = { shape, values: [], kinds: { number: false, boolean: false, bigint: false } };
  const path: number[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (depth < shape.length) {
      if (!isLevel(value)) {
        throw new ArgumentTypeError(`tensor(): nested arrays are ragged: ${position(path)} is ${describe(value)}, expected an array of length ${shape[depth]}`);
      }
      if (value.length !== shape[depth]) {
        throw new ArgumentTypeError(`tensor(): nested arrays are ragged: ${position(path)} has length ${value.length}, expected ${shape[depth]}`);
      }
      if (value instanceof Uint16Array) {
        throw new ArgumentTypeError(`tensor(): ${position(path)} is a Uint16Array (raw 16-bit float bits): pass it alone with { dtype: 'float16' | 'bfloat16' }`);
      }
      for (let i = 0; i < value.length; i++) {
        path.push(i);
        visit(value[i], depth + 1);
        path.pop();
      }
      return;
    }
    if (isLevel(value)) throw new ArgumentTypeError(`tensor(): nested arrays are ragged: ${position(path)} is an array where a number was expected`);
    if (typeof value === 'number') flat.kinds.number = true;
    else if (typeof value === 'boolean') flat.kinds.boolean = true;
    else if (typeof value === 'bigint') flat.kinds.bigint = true;
    else throw new ArgumentTypeError(`tensor(): ${position(path)} is ${describe(value)}; elements must be numbers, booleans or bigints`);
    flat.values.push(value as Element);
  };
  visit(data, 0);
  return flat;
}

/** The dtype of data given without one: float32 for numbers, bool for booleans only, int64 for bigints only. */
export function naturalDType(kinds: Flat['kinds']): DType {
  if (kinds.bigint && (kinds.number || kinds.boolean)) {
    throw new ArgumentTypeError("tensor(): the data mixes bigints with numbers or booleans: pass { dtype } (e.g. 'int64' or 'float64')");
  }
  if (kinds.bigint) return 'int64';
  if (kinds.boolean && !kinds.number) return 'bool';
  return 'float32';
}

const INTEGER_RANGES: Partial<Record<DType, [bigint, bigint]>> = {
  uint8: [0n, 255n],
  int8: [-128n, 127n],
  int16: [-32768n, 32767n],
  int32: [-2147483648n, 2147483647n],
  int64: [-(1n << 63n), (1n << 63n) - 1n],
};

function integerOf(value: Element, index: number, dtype: DType, shape: readonly number[]): bigint {
  const where = () => position(unravel(index, shape));
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new ArgumentRangeError(`tensor(): ${where()} is ${value}, which ${dtype} cannot hold (not an integer)`);
    if (dtype === 'int64' && !Number.isSafeInteger(value)) {
      throw new ArgumentRangeError(`tensor(): ${where()} is ${value}, beyond 2^53: a number cannot hold it exactly; pass a bigint (e.g. ${BigInt(value)}n)`);
    }
    value = BigInt(value);
  }
  const [low, high] = INTEGER_RANGES[dtype]!;
  if (value < low || value > high) throw new ArgumentRangeError(`tensor(): ${where()} is ${value}, outside ${dtype}'s range [${low}, ${high}]`);
  return value;
}

function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = index % shape[d]!;
    index = Math.floor(index / shape[d]!);
  }
  return out;
}

/**
 * The values as the typed array that holds `dtype` (float16 and bfloat16 as
 * float32, converted by the caller). Booleans are 0/1 in numeric dtypes;
 * numbers in bool are `value !== 0` (NaN is true, as in PyTorch).
 */
export function typedArrayFor(values: readonly Element[], shape: readonly number[], dtype: DType): ArrayBufferView {
  const asNumber = (v: Element) => (typeof v === 'boolean' ? (v ? 1 : 0) : Number(v));
  switch (dtype) {
    case 'float64':
      return Float64Array.from(values, asNumber);
    case 'float32':
    case 'float16':
    case 'bfloat16':
      return Float32Array.from(values, asNumber);
    case 'bool':
      return Uint8Array.from(values, (v) => (typeof v === 'bigint' ? v !== 0n : typeof v === 'boolean' ? v : v !== 0) ? 1 : 0);
    case 'int64':
      return BigInt64Array.from(values, (v, i) => integerOf(v, i, dtype, shape));
    default: {
      const integers = values.map((v, i) => Number(integerOf(v, i, dtype, shape)));
      if (dtype === 'int32') return Int32Array.from(integers);
      if (dtype === 'int16') return Int16Array.from(integers);
      if (dtype === 'int8') return Int8Array.from(integers);
      return Uint8Array.from(integers);
    }
  }
}
