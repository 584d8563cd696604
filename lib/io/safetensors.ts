// safetensors (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length, a JSON header mapping names to
// {dtype, shape, data_offsets}, then the raw little-endian tensor bytes.
//
// Reading and writing stream one tensor at a time, so a file is never held in
// memory whole. Headers are validated before anything is allocated: bounded
// size, known dtypes, offsets inside the file, no gaps or overlaps.
import * as fs from 'node:fs';
import { type DType, itemSize } from '../dtype';
import { type Device } from '../device';
import { fromBytesAs } from '../ops/creation';
import { Tensor } from '../tensor';
import { writeAll, writeFileAtomic } from './atomic';
import { ArgumentTypeError } from '../errors';

/** The spec's limit on header size. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const TO_FILE: Record<DType, string> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
const FROM_FILE = new Map<string, DType>(Object.entries(TO_FILE).map(([dtype, code]) => [code, dtype as DType]));

export class SafetensorsError extends Error {
  readonly code = 'ERR_TORCHTS_SAFETENSORS';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte range inside the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: TensorEntry[];
  metadata: Record<string, string>;
  /** File offset where the data section starts. */
  dataStart: number;
}

export type NamedTensors = Record<string, Tensor> | Map<string, Tensor>;

function entriesOf(tensors: NamedTensors): [string, Tensor][] {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
}

/** Builds the JSON header (space-padded to 8 bytes) and the data layout. */
function buildHeader(tensors: [string, Tensor][], metadata: Record<string, string> | undefined): { header: Buffer; sizes: number[] } {
  const json: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new ArgumentTypeError(`safetensors metadata values must be strings; '${key}' is ${typeof value}`);
    }
    json.__metadata__ = metadata;
  }
  const sizes: number[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors) {
    if (!(tensor instanceof Tensor)) throw new ArgumentTypeError(`safetensors: '${name}' is not a Tensor`);
    if (name === '__metadata__') throw new ArgumentTypeError("safetensors: '__metadata__' is reserved and cannot name a tensor");
    const shape = tensor.shape;
    const dtype = tensor.dtype;
    const bytes = shape.reduce((a, b) => a * b, 1) * itemSize(dtype);
    json[name] = { dtype: TO_FILE[dtype], shape, data_offsets: [offset, offset + bytes] };
    sizes.push(bytes);
    offset += bytes;
  }
  let text = JSON.stringify(json);
  text += ' '.repeat((8 - (Buffer.byteLength(text) % 8)) % 8);
  const body = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8 + body.length);
  header.writeBigUInt64LE(BigInt(body.length), 0);
  body.copy(header, 8);
  return { header, sizes };
}

/**
 * Writes tensors (and string metadata) to `file` atomically, one tensor's
 * bytes in memory at a time.
 */
export function writeSafetensorsFile(file: string, tensors: NamedTensors, metadata?: Record<string, string>): void {
  const list = entriesOf(tensors);
  const { header } = buildHeader(list, metadata);
  writeFileAtomic(file, (fd) => {
    writeAll(fd, header);
    for (const [, tensor] of list) writeAll(fd, tensor.bytes());
  });
}

/** The whole file as one Buffer (small payloads, tests, network). */
export function serializeSafetensors(tensors: NamedTensors, metadata?: Record<string, string>): Buffer {
  const list = entriesOf(tensors);
  const { header } = buildHeader(list, metadata);
  return Buffer.concat([header, ...list.map(([, tensor]) => tensor.bytes())]);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Parses and validates a header given its JSON bytes and the data section size. */
export function parseHeader(file: string, json: Buffer, dataBytes: number): SafetensorsHeader {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString('utf8'));
  } catch (error) {
    throw new SafetensorsError(file, `header is not valid JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SafetensorsError(file, 'header must be a JSON object');
  }
  const metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SafetensorsError(file, '__metadata__ must be an object');
      for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof value !== 'string') throw new SafetensorsError(file, `__metadata__.${key} must be a string`);
        metadata[key] = value;
      }
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (info === null || typeof info !== 'object') throw new SafetensorsError(file, `entry '${name}' must be an object`);
    const dtype = typeof info.dtype === 'string' ? FROM_FILE.get(info.dtype) : undefined;
    if (dtype === undefined) throw new SafetensorsError(file, `tensor '${name}' has unsupported dtype ${JSON.stringify(info.dtype)}`);
    if (!Array.isArray(info.shape) || !info.shape.every(isNonNegativeInteger)) {
      throw new SafetensorsError(file, `tensor '${name}' has an invalid shape ${JSON.stringify(info.shape)}`);
    }
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger) || offsets[0] > offsets[1]) {
      throw new SafetensorsError(file, `tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataBytes) {
      throw new SafetensorsError(file, `tensor '${name}' data [${begin}, ${end}) lies beyond the end of the file (data section is ${dataBytes} bytes; truncated?)`);
    }
    const shape = info.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * itemSize(dtype);
    if (end - begin !== expected) {
      throw new SafetensorsError(file, `tensor '${name}' has ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${expected}`);
    }
    entries.push({ name, dtype, shape, begin, end });
  }
  // The data section must be covered exactly: no holes, no overlaps.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const entry of sorted) {
    if (entry.begin !== cursor) {
      throw new SafetensorsError(file, entry.begin < cursor ? `tensor '${entry.name}' overlaps another tensor's bytes` : `gap in the data section before tensor '${entry.name}'`);
    }
    cursor = entry.end;
  }
  if (cursor !== dataBytes) throw new SafetensorsError(file, `data section has ${dataBytes - cursor} trailing bytes that no tensor owns`);
  return { entries, metadata, dataStart: 0 };
}

function readExactly(fd: number, length: number, position: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let read = 0;
  while (read < length) {
    const n = fs.readSync(fd, buffer, read, length - read, position + read);
    if (n === 0) break;
    read += n;
  }
  if (read !== length) throw new Error(`short read: wanted ${length} bytes at ${position}, got ${read}`);
  return buffer;
}

function openForRead(file: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    throw new SafetensorsError(file, `cannot open (${reason})`);
  }
}

function readHeaderFromFd(file: string, fd: number): SafetensorsHeader {
  const size = fs.fstatSync(fd).size;
  if (size < 8) throw new SafetensorsError(file, `file is ${size} bytes, too short for a safetensors header`);
  const length = readExactly(fd, 8, 0).readBigUInt64LE(0);
  if (length > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(file, `header length ${length} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt file?)`);
  const headerBytes = Number(length);
  if (8 + headerBytes > size) throw new SafetensorsError(file, `header length ${headerBytes} runs past the end of the ${size}-byte file (truncated?)`);
  const header = parseHeader(file, readExactly(fd, headerBytes, 8), size - 8 - headerBytes);
  header.dataStart = 8 + headerBytes;
  return header;
}

/** Reads and validates only the header (names, dtypes, shapes, metadata). */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = openForRead(file);
  try {
    return readHeaderFromFd(file, fd);
  } finally {
    fs.closeSync(fd);
  }
}

export interface LoadOptions {
  /** Move tensors to this device after reading. */
  device?: Device;
  /** Read only these names. */
  names?: readonly string[];
}

export interface LoadedSafetensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** Reads tensors from `file`, one at a time, in header order. */
export function readSafetensorsFile(file: string, options: LoadOptions = {}): LoadedSafetensors {
  const fd = openForRead(file);
  const tensors = new Map<string, Tensor>();
  try {
    const header = readHeaderFromFd(file, fd);
    const wanted = options.names === undefined ? undefined : new Set(options.names);
    if (wanted !== undefined) {
      const present = new Set(header.entries.map((e) => e.name));
      const missing = [...wanted].filter((name) => !present.has(name));
      if (missing.length > 0) throw new SafetensorsError(file, `no tensor named ${missing.map((n) => `'${n}'`).join(', ')}`);
    }
    for (const entry of header.entries) {
      if (wanted !== undefined && !wanted.has(entry.name)) continue;
      const bytes = readExactly(fd, entry.end - entry.begin, header.dataStart + entry.begin);
      let tensor = fromBytesAs(bytes, entry.shape, entry.dtype);
      if (options.device !== undefined && options.device !== 'cpu') {
        const moved = tensor.to(options.device);
        tensor.dispose();
        tensor = moved;
      }
      tensors.set(entry.name, tensor);
    }
    return { tensors, metadata: header.metadata };
  } catch (error) {
    for (const tensor of tensors.values()) tensor.dispose();
    if (error instanceof SafetensorsError || error instanceof TypeError) throw error;
    throw new SafetensorsError(file, (error as Error).message);
  } finally {
    fs.closeSync(fd);
  }
}

/** Parses a whole safetensors payload held in memory. */
export function deserializeSafetensors(data: Uint8Array, label = '<buffer>'): LoadedSafetensors {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buffer.length < 8) throw new SafetensorsError(label, `payload is ${buffer.length} bytes, too short for a safetensors header`);
  const length = buffer.readBigUInt64LE(0);
  if (length > BigInt(MAX_HEADER_BYTES) || 8n + length > BigInt(buffer.length)) {
    throw new SafetensorsError(label, `header length ${length} does not fit the ${buffer.length}-byte payload`);
  }
  const headerBytes = Number(length);
  const header = parseHeader(label, buffer.subarray(8, 8 + headerBytes), buffer.length - 8 - headerBytes);
  const start = 8 + headerBytes;
  const tensors = new Map<string, Tensor>();
  for (const entry of header.entries) {
    tensors.set(entry.name, fromBytesAs(buffer.subarray(start + entry.begin, start + entry.end), entry.shape, entry.dtype));
  }
  return { tensors, metadata: header.metadata };
}
