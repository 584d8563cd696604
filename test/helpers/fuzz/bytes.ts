// Format-blind byte mutations (AFL-style "havoc"): bit flips, interesting
// values, arithmetic, truncation, insertion/deletion/duplication of runs,
// splicing with another seed. Every parser target uses these, alone or after
// its own format-aware mutations.
import type { Prng } from './prng';

export const INTERESTING_8 = [0x00, 0x01, 0x10, 0x20, 0x40, 0x64, 0x7f, 0x80, 0x81, 0xfe, 0xff] as const;
export const INTERESTING_16 = [0x0000, 0x0001, 0x0080, 0x00ff, 0x0100, 0x1000, 0x7fff, 0x8000, 0xfffe, 0xffff] as const;
export const INTERESTING_32 = [0, 1, 0x7f, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff] as const;
/** 64-bit lengths that break naive size arithmetic: 2^31, 2^32-1, 2^32, 2^53, 2^63, 2^64-1. */
export const INTERESTING_64: readonly bigint[] = [0n, 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];

/** A byte range to aim at (e.g. a header); positions fall outside it only sometimes. */
export interface Region {
  start: number;
  end: number;
}

export interface MutateOptions {
  /** Other seeds of the same format, for splicing. */
  others?: readonly Buffer[];
  /** Most mutations stacked on one input (default 4). */
  maxOps?: number;
  /** Aim most position-based mutations here. */
  focus?: Region;
}

export interface Mutated {
  data: Buffer;
  /** What was done, for reports and minimising by hand. */
  log: string[];
}

function position(rng: Prng, length: number, focus: Region | undefined): number {
  if (length === 0) return 0;
  if (focus !== undefined && rng.chance(0.75)) {
    const start = Math.max(0, Math.min(length - 1, focus.start));
    const end = Math.max(start + 1, Math.min(length, focus.end));
    return rng.range(start, end - 1);
  }
  return rng.int(length);
}

function writeInteresting(rng: Prng, data: Buffer, at: number): string {
  const width = rng.pick([2, 4, 8] as const);
  const bigEndian = rng.chance(0.3);
  if (at + width > data.length) return 'interesting: no room';
  if (width === 2) {
    const v = rng.pick(INTERESTING_16);
    if (bigEndian) data.writeUInt16BE(v, at);
    else data.writeUInt16LE(v, at);
    return `u16${bigEndian ? 'be' : 'le'}@${at}=${v}`;
  }
  if (width === 4) {
    const v = rng.pick(INTERESTING_32);
    if (bigEndian) data.writeUInt32BE(v >>> 0, at);
    else data.writeUInt32LE(v >>> 0, at);
    return `u32${bigEndian ? 'be' : 'le'}@${at}=${v}`;
  }
  const v = rng.pick(INTERESTING_64);
  if (bigEndian) data.writeBigUInt64BE(v, at);
  else data.writeBigUInt64LE(v, at);
  return `u64${bigEndian ? 'be' : 'le'}@${at}=${v}`;
}

/** One havoc step; returns the new bytes (possibly a new Buffer) and what it did. */
export function mutateOnce(rng: Prng, input: Buffer, options: MutateOptions = {}): { data: Buffer; what: string } {
  let data = input;
  const n = data.length;
  const at = position(rng, n, options.focus);
  const kind = rng.weighted<string>([
    [3, 'bitflip'],
    [3, 'byte'],
    [2, 'interesting'],
    [2, 'arith'],
    [1, 'truncate'],
    [2, 'delete'],
    [2, 'insert'],
    [1, 'duplicate'],
    [1, 'overwrite-chunk'],
    [options.others && options.others.length > 0 ? 1 : 0, 'splice'],
    [0.5, 'append'],
  ]);
  switch (kind) {
    case 'bitflip': {
      if (n === 0) return { data, what: 'bitflip: empty' };
      data = Buffer.from(data);
      const bit = rng.int(8);
      data[at] = data[at]! ^ (1 << bit);
      return { data, what: `bitflip@${at}.${bit}` };
    }
    case 'byte': {
      if (n === 0) return { data, what: 'byte: empty' };
      data = Buffer.from(data);
      const v = rng.chance(0.7) ? rng.pick(INTERESTING_8) : rng.int(256);
      data[at] = v;
      return { data, what: `byte@${at}=${v}` };
    }
    case 'interesting': {
      data = Buffer.from(data);
      return { data, what: writeInteresting(rng, data, at) };
    }
    case 'arith': {
      if (n === 0) return { data, what: 'arith: empty' };
      data = Buffer.from(data);
      const delta = rng.range(-35, 35) || 1;
      data[at] = (data[at]! + delta) & 0xff;
      return { data, what: `arith@${at}${delta > 0 ? '+' : ''}${delta}` };
    }
    case 'truncate': {
      const keep = rng.chance(0.5) ? at : rng.int(n + 1);
      return { data: data.subarray(0, keep), what: `truncate@${keep}` };
    }
    case 'delete': {
      const len = Math.min(rng.smallInt(Math.max(1, n >> 2)), n - at);
      return { data: Buffer.concat([data.subarray(0, at), data.subarray(at + len)]), what: `delete@${at}+${len}` };
    }
    case 'insert': {
      const len = rng.smallInt(256);
      const run = rng.chance(0.5) ? Buffer.alloc(len, rng.pick(INTERESTING_8)) : rng.bytes(len);
      return { data: Buffer.concat([data.subarray(0, at), run, data.subarray(at)]), what: `insert@${at}+${len}` };
    }
    case 'duplicate': {
      if (n === 0) return { data, what: 'duplicate: empty' };
      const from = rng.int(n);
      const len = Math.min(rng.smallInt(Math.max(1, n >> 1)), n - from);
      const chunk = data.subarray(from, from + len);
      const times = rng.chance(0.8) ? 1 : rng.range(2, 16);
      return { data: Buffer.concat([data.subarray(0, at), ...Array<Buffer>(times).fill(chunk), data.subarray(at)]), what: `duplicate[${from}+${len}]x${times}@${at}` };
    }
    case 'overwrite-chunk': {
      if (n < 2) return { data, what: 'overwrite-chunk: too short' };
      data = Buffer.from(data);
      const from = rng.int(n);
      const len = Math.min(rng.smallInt(n >> 1 || 1), n - from, n - at);
      data.copy(data, at, from, from + len);
      return { data, what: `overwrite-chunk[${from}+${len}]@${at}` };
    }
    case 'splice': {
      const other = rng.pick(options.others!);
      const cut = rng.int(Math.min(n, other.length) + 1);
      return { data: Buffer.concat([data.subarray(0, cut), other.subarray(cut)]), what: `splice@${cut}` };
    }
    default: {
      const len = rng.smallInt(512);
      return { data: Buffer.concat([data, rng.bytes(len)]), what: `append+${len}` };
    }
  }
}

/** A stack of 1..maxOps havoc steps. */
export function mutateBytes(rng: Prng, input: Buffer, options: MutateOptions = {}): Mutated {
  const ops = rng.range(1, options.maxOps ?? 4);
  let data = input;
  const log: string[] = [];
  for (let i = 0; i < ops; i++) {
    const step = mutateOnce(rng, data, options);
    data = step.data;
    log.push(step.what);
  }
  return { data, log };
}
