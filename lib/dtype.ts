// Data types: names users write, the ATen ScalarType codes the addon takes,
// and the TypedArrays that carry each type's elements to and from JS.
import { ArgumentTypeError } from './errors';

export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

/** c10::ScalarType enum values (stable across libtorch releases). */
const CODES: Record<DType, number> = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
};

const NAMES = new Map<number, DType>(Object.entries(CODES).map(([name, code]) => [code, name as DType]));

export const DTYPES: readonly DType[] = Object.keys(CODES) as DType[];

/** The TypedArray that holds a dtype's elements (16-bit floats as raw bits). */
export type TypedArray =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array;

/** What `dataSync()` returns for each dtype (16-bit floats widen to float32). */
export interface DataTypeMap {
  float32: Float32Array;
  float64: Float64Array;
  float16: Float32Array;
  bfloat16: Float32Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int16: Int16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

export function dtypeCode(dtype: DType): number {
  const code = CODES[dtype];
  if (code === undefined) {
    throw new ArgumentTypeError(`unknown dtype '${String(dtype)}' (expected one of ${DTYPES.join(', ')})`);
  }
  return code;
}

export function dtypeName(code: number): DType {
  const name = NAMES.get(code);
  if (name === undefined) throw new ArgumentTypeError(`torchts does not support ATen ScalarType ${code}`);
  return name;
}

export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

export function itemSize(dtype: DType): number {
  switch (dtype) {
    case 'float64':
    case 'int64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
    case 'bfloat16':
    case 'int16':
      return 2;
    default:
      return 1;
  }
}

/** The dtype a TypedArray naturally holds. */
export function dtypeOfArray(array: ArrayBufferView): DType {
  if (array instanceof Float32Array) return 'float32';
  if (array instanceof Float64Array) return 'float64';
  if (array instanceof BigInt64Array) return 'int64';
  if (array instanceof Int32Array) return 'int32';
  if (array instanceof Int16Array) return 'int16';
  if (array instanceof Int8Array) return 'int8';
  if (array instanceof Uint8Array || array instanceof Uint8ClampedArray) return 'uint8';
  throw new ArgumentTypeError(
    `cannot infer a dtype from ${array.constructor.name}; pass { dtype } (Uint16Array holds float16/bfloat16 bits)`,
  );
}

/** A view of raw element bytes as the TypedArray of `dtype` (no copy). */
export function viewBytes(buffer: ArrayBuffer, dtype: DType): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer);
    case 'float64':
      return new Float64Array(buffer);
    case 'int64':
      return new BigInt64Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'int16':
      return new Int16Array(buffer);
    case 'int8':
      return new Int8Array(buffer);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer);
    default:
      return new Uint8Array(buffer);
  }
}

/** Memory formats (c10::MemoryFormat codes). */
export type MemoryFormat = 'contiguous' | 'preserve' | 'channelsLast';

const MEMORY_FORMATS: Record<MemoryFormat, number> = { contiguous: 0, preserve: 1, channelsLast: 2 };

export function memoryFormatCode(format: MemoryFormat): number {
  const code = MEMORY_FORMATS[format];
  if (code === undefined) {
    throw new ArgumentTypeError(`unknown memory format '${String(format)}' (expected contiguous, preserve or channelsLast)`);
  }
  return code;
}

export function isMemoryFormat(value: unknown): value is MemoryFormat {
  return typeof value === 'string' && value in MEMORY_FORMATS;
}

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && value in CODES;
}
