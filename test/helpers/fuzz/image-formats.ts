// Format-aware mutations of JPEG (segments: SOF, DQT, DHT, SOS, DRI, APPn)
// and PNG (chunks, with CRCs recomputed, and IDAT re-deflated after editing
// the raw scanlines), so that mutants get past signature, CRC and zlib
// checks and reach the decoders' deeper code. Other formats get byte havoc.
import * as zlib from 'node:zlib';
import { INTERESTING_32, mutateBytes } from './bytes';
import type { Prng } from './prng';
import { crc32 } from './zip';

export function isJpeg(data: Buffer): boolean {
  return data.length >= 3 && data[0] === 0xff && data[1] === 0xd8;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function isPng(data: Buffer): boolean {
  return data.length >= 8 && data.subarray(0, 8).equals(PNG_SIGNATURE);
}

// ---- JPEG ----------------------------------------------------------------------

interface JpegSegment {
  marker: number;
  /** Bytes after the length field (empty for markers without one). */
  payload: Buffer;
  /** Entropy-coded data after an SOS segment. */
  scan?: Buffer;
}

const STANDALONE = (marker: number): boolean => marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9);

/** Splits a JPEG after SOI into segments; undefined when it does not parse cleanly. */
function parseJpeg(data: Buffer): JpegSegment[] | undefined {
  const segments: JpegSegment[] = [];
  let pos = 2;
  while (pos + 2 <= data.length) {
    if (data[pos] !== 0xff) return undefined;
    const marker = data[pos + 1]!;
    if (STANDALONE(marker)) {
      segments.push({ marker, payload: Buffer.alloc(0) });
      pos += 2;
      if (marker === 0xd9) break;
      continue;
    }
    if (pos + 4 > data.length) return undefined;
    const length = data.readUInt16BE(pos + 2);
    if (length < 2 || pos + 2 + length > data.length) return undefined;
    const segment: JpegSegment = { marker, payload: Buffer.from(data.subarray(pos + 4, pos + 2 + length)) };
    pos += 2 + length;
    if (marker === 0xda) {
      let end = pos;
      while (end + 1 < data.length && !(data[end] === 0xff && data[end + 1] !== 0x00 && !(data[end + 1]! >= 0xd0 && data[end + 1]! <= 0xd7))) end++;
      segment.scan = Buffer.from(data.subarray(pos, end));
      pos = end;
    }
    segments.push(segment);
  }
  return segments;
}

function serializeJpeg(segments: readonly JpegSegment[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0xff, 0xd8])];
  for (const segment of segments) {
    parts.push(Buffer.from([0xff, segment.marker]));
    if (!STANDALONE(segment.marker)) {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(Math.min(0xffff, segment.payload.length + 2));
      parts.push(length, segment.payload);
    }
    if (segment.scan) parts.push(segment.scan);
  }
  return Buffer.concat(parts);
}

const isFrame = (marker: number): boolean => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

function setByte(rng: Prng, payload: Buffer, at: number, values: readonly number[]): string {
  if (at >= payload.length) return 'no room';
  payload[at] = rng.pick(values);
  return `[${at}]=${payload[at]}`;
}

function setU16(rng: Prng, payload: Buffer, at: number, values: readonly number[]): string {
  if (at + 2 > payload.length) return 'no room';
  payload.writeUInt16BE(rng.pick(values), at);
  return `[${at}]=${payload.readUInt16BE(at)}`;
}

const SIZES_16 = [0, 1, 2, 7, 8, 15, 16, 17, 255, 4096, 0x7fff, 0xffff];
const SAMPLING = [0x00, 0x11, 0x12, 0x21, 0x22, 0x44, 0x41, 0x14, 0x0f, 0xf0, 0xff, 0x33];

function mutateJpegSegment(rng: Prng, segment: JpegSegment): string {
  const p = segment.payload;
  const m = segment.marker;
  if (isFrame(m)) {
    const field = rng.int(6);
    if (field === 0) return `SOF precision ${setByte(rng, p, 0, [0, 1, 8, 12, 16, 255])}`;
    if (field === 1) return `SOF height ${setU16(rng, p, 1, SIZES_16)}`;
    if (field === 2) return `SOF width ${setU16(rng, p, 3, SIZES_16)}`;
    if (field === 3) return `SOF components ${setByte(rng, p, 5, [0, 1, 2, 3, 4, 5, 255])}`;
    if (field === 4) return `SOF sampling ${setByte(rng, p, 6 + 3 * rng.int(3) + 1, SAMPLING)}`;
    segment.marker = rng.pick([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xcf]);
    return `SOF type ${segment.marker.toString(16)}`;
  }
  switch (m) {
    case 0xdb:
      return rng.chance(0.5) ? `DQT id ${setByte(rng, p, 0, [0x00, 0x01, 0x03, 0x04, 0x10, 0x13, 0xff])}` : `DQT value ${setByte(rng, p, 1 + rng.int(64), [0, 1, 255])}`;
    case 0xc4:
      return rng.chance(0.4) ? `DHT class/id ${setByte(rng, p, 0, [0x00, 0x01, 0x10, 0x11, 0x04, 0x20, 0xff])}` : `DHT count ${setByte(rng, p, 1 + rng.int(16), [0, 1, 16, 200, 255])}`;
    case 0xda: {
      const field = rng.int(5);
      if (field === 0) return `SOS components ${setByte(rng, p, 0, [0, 1, 2, 3, 4, 255])}`;
      if (field === 1) return `SOS selector ${setByte(rng, p, 1 + 2 * rng.int(3), [0, 1, 2, 3, 4, 255])}`;
      if (field === 2) return `SOS tables ${setByte(rng, p, 2 + 2 * rng.int(3), [0x00, 0x11, 0x44, 0xff])}`;
      if (field === 3) return `SOS spectral ${setByte(rng, p, p.length - 3 + rng.int(2), [0, 1, 63, 64, 255])}`;
      if (segment.scan && segment.scan.length > 0) {
        const scan = mutateBytes(rng, segment.scan, { maxOps: 2 });
        segment.scan = scan.data;
        return `scan ${scan.log.join(' ')}`;
      }
      return 'scan: none';
    }
    case 0xdd:
      return `DRI ${setU16(rng, p, 0, [0, 1, 2, 0xffff])}`;
    default: {
      const bytes = mutateBytes(rng, p, { maxOps: 2 });
      segment.payload = bytes.data;
      return `APP/other ${m.toString(16)} ${bytes.log.join(' ')}`;
    }
  }
}

const EXTRA_SEGMENTS: (() => JpegSegment)[] = [
  () => ({ marker: 0xdd, payload: Buffer.from([0, 1]) }), // DRI: restart every MCU, without RST markers
  () => ({ marker: 0xe1, payload: Buffer.concat([Buffer.from('Exif\0\0II*\0', 'latin1'), Buffer.from([8, 0, 0, 0, 0xff, 0xff, 0x12, 0x01, 3, 0, 0xff, 0xff, 0xff, 0xff])]) }),
  () => ({ marker: 0xe2, payload: Buffer.concat([Buffer.from('ICC_PROFILE\0', 'latin1'), Buffer.from([1, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])]) }),
  () => ({ marker: 0xee, payload: Buffer.from('Adobe\0\x64\0\0\0\0\x02', 'latin1') }),
  () => ({ marker: 0xfe, payload: Buffer.alloc(300, 0x41) }),
];

function mutateJpeg(rng: Prng, data: Buffer): { data: Buffer; log: string[] } | undefined {
  const segments = parseJpeg(data);
  if (segments === undefined || segments.length === 0) return undefined;
  const log: string[] = [];
  const steps = rng.range(1, 3);
  for (let s = 0; s < steps; s++) {
    const i = rng.int(segments.length);
    const kind = rng.weighted<string>([
      [6, 'field'],
      [1, 'drop'],
      [1, 'duplicate'],
      [1, 'swap'],
      [1, 'insert'],
      [0.5, 'truncate-scan'],
    ]);
    if (kind === 'field') log.push(mutateJpegSegment(rng, segments[i]!));
    else if (kind === 'drop') log.push(`drop ${segments.splice(i, 1)[0]!.marker.toString(16)}`);
    else if (kind === 'duplicate') {
      const copy = { ...segments[i]!, payload: Buffer.from(segments[i]!.payload) };
      segments.splice(i, 0, copy);
      log.push(`duplicate ${copy.marker.toString(16)}`);
    } else if (kind === 'swap') {
      const j = Math.min(segments.length - 1, i + 1);
      [segments[i], segments[j]] = [segments[j]!, segments[i]!];
      log.push(`swap ${i},${j}`);
    } else if (kind === 'insert') {
      const extra = rng.pick(EXTRA_SEGMENTS)();
      segments.splice(i, 0, extra);
      log.push(`insert ${extra.marker.toString(16)}`);
    } else {
      const sos = segments.find((segment) => segment.scan !== undefined);
      if (sos?.scan) sos.scan = sos.scan.subarray(0, rng.int(sos.scan.length));
      log.push('truncate scan');
    }
  }
  return { data: serializeJpeg(segments), log };
}

// ---- PNG ------------------------------------------------------------------------

interface PngChunk {
  type: string;
  data: Buffer;
  /** Write this CRC instead of the correct one. */
  badCrc?: boolean;
  /** Declare this length instead of the data's. */
  lengthLie?: number;
}

function parsePng(data: Buffer): PngChunk[] | undefined {
  const chunks: PngChunk[] = [];
  let pos = 8;
  while (pos + 12 <= data.length) {
    const length = data.readUInt32BE(pos);
    if (pos + 12 + length > data.length) return undefined;
    chunks.push({ type: data.toString('latin1', pos + 4, pos + 8), data: Buffer.from(data.subarray(pos + 8, pos + 8 + length)) });
    pos += 12 + length;
  }
  return chunks;
}

function serializePng(chunks: readonly PngChunk[]): Buffer {
  const parts: Buffer[] = [PNG_SIGNATURE];
  for (const chunk of chunks) {
    const head = Buffer.alloc(8);
    head.writeUInt32BE((chunk.lengthLie ?? chunk.data.length) >>> 0, 0);
    head.write(chunk.type.padEnd(4, ' ').slice(0, 4), 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(chunk.badCrc ? 0xdeadbeef : crc32(Buffer.concat([head.subarray(4), chunk.data])), 0);
    parts.push(head, chunk.data, crc);
  }
  return Buffer.concat(parts);
}

const EXTRA_CHUNKS: (() => PngChunk)[] = [
  () => ({ type: 'PLTE', data: Buffer.alloc(3 * 257, 7) }),
  () => ({ type: 'PLTE', data: Buffer.alloc(0) }),
  () => ({ type: 'tRNS', data: Buffer.alloc(300, 0x80) }),
  () => ({ type: 'tEXt', data: Buffer.from('Comment\0fuzz', 'latin1') }),
  () => ({ type: 'zTXt', data: Buffer.from('Comment\0\0\x78\x9c\xff\xff', 'latin1') }),
  () => ({ type: 'iCCP', data: Buffer.from('icc\0\0\x78\x9c\x63\x00\x00\x00\x01\x00\x01', 'latin1') }),
  () => ({ type: 'eXIf', data: Buffer.from('II*\0\x08\0\0\0\xff\xff', 'latin1') }),
  () => ({ type: 'gAMA', data: Buffer.from([0, 0, 0, 0]) }),
  () => ({ type: 'sBIT', data: Buffer.from([0, 17, 255]) }),
  () => ({ type: 'acTL', data: Buffer.from([0, 0, 0, 2, 0, 0, 0, 0]) }),
  () => ({ type: 'IEND', data: Buffer.alloc(0) }),
];

/** Re-deflates the image data after editing the raw scanlines (filter bytes and pixels). */
function mutateImageData(rng: Prng, chunks: PngChunk[]): string {
  const idat = chunks.filter((chunk) => chunk.type === 'IDAT');
  if (idat.length === 0) return 'idat: none';
  let raw: Buffer;
  try {
    raw = zlib.inflateSync(Buffer.concat(idat.map((chunk) => chunk.data)));
  } catch {
    return 'idat: not inflatable';
  }
  let what: string;
  if (rng.chance(0.4) && raw.length > 0) {
    raw = Buffer.from(raw);
    raw[0] = rng.pick([0, 1, 2, 3, 4, 5, 0x80, 0xff]); // the first scanline's filter type
    what = `filter=${raw[0]}`;
  } else {
    const mutated = mutateBytes(rng, raw, { maxOps: 3 });
    raw = mutated.data;
    what = mutated.log.join(' ');
  }
  const first = chunks.indexOf(idat[0]!);
  const rest = chunks.filter((chunk) => chunk.type !== 'IDAT');
  const compressed = zlib.deflateSync(raw);
  const pieces = rng.chance(0.3) ? [compressed.subarray(0, compressed.length >> 1), compressed.subarray(compressed.length >> 1)] : [compressed];
  rest.splice(first, 0, ...pieces.map((data) => ({ type: 'IDAT', data })));
  chunks.splice(0, chunks.length, ...rest);
  return `idat ${what}`;
}

function mutateHeaderChunk(rng: Prng, ihdr: PngChunk): string {
  const d = ihdr.data;
  if (d.length < 13) return 'IHDR: short';
  const field = rng.int(6);
  if (field <= 1) {
    const v = rng.pick([...INTERESTING_32, 16, 17, 65535, 100_000]);
    d.writeUInt32BE(v >>> 0, field * 4);
    return `IHDR ${field === 0 ? 'width' : 'height'}=${v}`;
  }
  if (field === 2) return `IHDR depth ${setByte(rng, d, 8, [0, 1, 2, 3, 4, 8, 16, 255])}`;
  if (field === 3) return `IHDR colour ${setByte(rng, d, 9, [0, 1, 2, 3, 4, 5, 6, 7])}`;
  if (field === 4) return `IHDR compression/filter ${setByte(rng, d, 10 + rng.int(2), [0, 1, 255])}`;
  return `IHDR interlace ${setByte(rng, d, 12, [0, 1, 2])}`;
}

function mutatePng(rng: Prng, data: Buffer): { data: Buffer; log: string[] } | undefined {
  const chunks = parsePng(data);
  if (chunks === undefined || chunks.length === 0) return undefined;
  const log: string[] = [];
  const steps = rng.range(1, 3);
  for (let s = 0; s < steps; s++) {
    const i = rng.int(chunks.length);
    const kind = rng.weighted<string>([
      [3, 'ihdr'],
      [3, 'idat'],
      [1, 'drop'],
      [1, 'duplicate'],
      [1, 'swap'],
      [2, 'insert'],
      [0.5, 'bad-crc'],
      [0.5, 'length-lie'],
      [1, 'chunk-bytes'],
    ]);
    const ihdr = chunks.find((chunk) => chunk.type === 'IHDR');
    if (kind === 'ihdr' && ihdr) log.push(mutateHeaderChunk(rng, ihdr));
    else if (kind === 'idat') log.push(mutateImageData(rng, chunks));
    else if (kind === 'drop') log.push(`drop ${chunks.splice(i, 1)[0]!.type}`);
    else if (kind === 'duplicate') {
      chunks.splice(i, 0, { ...chunks[i]!, data: Buffer.from(chunks[i]!.data) });
      log.push(`duplicate ${chunks[i]!.type}`);
    } else if (kind === 'swap') {
      const j = Math.min(chunks.length - 1, i + 1);
      [chunks[i], chunks[j]] = [chunks[j]!, chunks[i]!];
      log.push(`swap ${i},${j}`);
    } else if (kind === 'insert') {
      const extra = rng.pick(EXTRA_CHUNKS)();
      chunks.splice(rng.range(1, chunks.length), 0, extra);
      log.push(`insert ${extra.type}`);
    } else if (kind === 'bad-crc') {
      chunks[i]!.badCrc = true;
      log.push(`bad crc ${chunks[i]!.type}`);
    } else if (kind === 'length-lie') {
      chunks[i]!.lengthLie = rng.pick([0x7fffffff, 0xffffffff, chunks[i]!.data.length + 1, 0x80000000]);
      log.push(`length lie ${chunks[i]!.type}=${chunks[i]!.lengthLie}`);
    } else {
      const mutated = mutateBytes(rng, chunks[i]!.data, { maxOps: 2 });
      chunks[i]!.data = mutated.data;
      log.push(`${chunks[i]!.type} ${mutated.log.join(' ')}`);
    }
  }
  return { data: serializePng(chunks), log };
}

/** A mutant of one encoded image: format-aware when it is a JPEG or PNG (most of the time), byte havoc otherwise. */
export function mutateImage(rng: Prng, data: Buffer, others: readonly Buffer[] = []): { data: Buffer; log: string[] } {
  if (rng.chance(0.6)) {
    const aware = isJpeg(data) ? mutateJpeg(rng, data) : isPng(data) ? mutatePng(rng, data) : undefined;
    if (aware !== undefined) {
      if (rng.chance(0.2)) {
        const more = mutateBytes(rng, aware.data, { maxOps: 2 });
        return { data: more.data, log: [...aware.log, ...more.log] };
      }
      return aware;
    }
  }
  return mutateBytes(rng, data, { others, focus: rng.chance(0.5) ? { start: 0, end: Math.min(data.length, 700) } : undefined });
}
