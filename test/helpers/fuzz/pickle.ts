// Pickle programs as opcode tokens, for mutations that keep the program
// well-formed enough to get past the first bytes: delete, repeat, swap or
// insert whole opcodes, and rewrite their arguments (ints, memo indices,
// strings, GLOBAL names) with values the unpickler must reject cleanly.
import { INTERESTING_32, INTERESTING_8 } from './bytes';
import type { Prng } from './prng';

export interface PickleToken {
  op: number;
  /** The raw bytes after the opcode (length prefixes included). */
  arg: Buffer;
}

const c = (ch: string): number => ch.charCodeAt(0);

/** Bytes of argument after `op` at `pos` (the opcode's own byte excluded); undefined: runs past the end. */
function argLength(data: Buffer, pos: number): number | undefined {
  const op = data[pos]!;
  const after = pos + 1;
  const fixed = (n: number): number => n;
  const prefixed = (width: number): number | undefined => {
    if (after + width > data.length) return undefined;
    const n = width === 1 ? data[after]! : width === 4 ? data.readUInt32LE(after) : Number(data.readBigUInt64LE(after));
    return width + n;
  };
  const line = (lines: number): number | undefined => {
    let at = after;
    for (let k = 0; k < lines; k++) {
      const nl = data.indexOf(0x0a, at);
      if (nl < 0) return undefined;
      at = nl + 1;
    }
    return at - after;
  };
  switch (op) {
    case 0x80:
    case c('K'):
    case c('q'):
    case c('h'):
      return fixed(1);
    case c('M'):
      return fixed(2);
    case c('J'):
    case c('r'):
    case c('j'):
      return fixed(4);
    case 0x95:
    case c('G'):
      return fixed(8);
    case 0x8a:
    case 0x8c:
    case c('U'):
    case c('C'):
      return prefixed(1);
    case 0x8b:
    case c('X'):
    case c('T'):
    case c('B'):
      return prefixed(4);
    case 0x8d:
    case 0x8e:
    case 0x96:
      return prefixed(8);
    case c('c'):
    case c('i'):
      return line(2);
    case c('I'):
    case c('L'):
    case c('F'):
    case c('S'):
    case c('V'):
    case c('P'):
    case c('g'):
    case c('p'):
      return line(1);
    default:
      return 0;
  }
}

/** Splits a pickle into opcode tokens; a final token may hold a truncated argument. */
export function tokenize(data: Buffer): PickleToken[] {
  const tokens: PickleToken[] = [];
  let pos = 0;
  while (pos < data.length) {
    const length = argLength(data, pos);
    const end = length === undefined ? data.length : Math.min(data.length, pos + 1 + length);
    tokens.push({ op: data[pos]!, arg: Buffer.from(data.subarray(pos + 1, end)) });
    pos = end;
  }
  return tokens;
}

export function serialize(tokens: readonly PickleToken[]): Buffer {
  return Buffer.concat(tokens.flatMap((t) => [Buffer.from([t.op]), t.arg]));
}

// ---- building tokens ----------------------------------------------------------

export const op = (code: number | string, arg: Buffer = Buffer.alloc(0)): PickleToken => ({ op: typeof code === 'string' ? c(code) : code, arg });

function lengthPrefixed(width: 1 | 4 | 8, payload: Buffer): Buffer {
  const prefix = Buffer.alloc(width);
  if (width === 1) prefix[0] = payload.length & 0xff;
  else if (width === 4) prefix.writeUInt32LE(payload.length, 0);
  else prefix.writeBigUInt64LE(BigInt(payload.length), 0);
  return Buffer.concat([prefix, payload]);
}

export const unicode = (text: string): PickleToken => op('X', lengthPrefixed(4, Buffer.from(text, 'utf8')));
export const global = (module: string, name: string): PickleToken => op('c', Buffer.from(`${module}\n${name}\n`, 'utf8'));
export const int1 = (value: number): PickleToken => op('K', Buffer.from([value & 0xff]));
export function int4(value: number): PickleToken {
  const arg = Buffer.alloc(4);
  arg.writeInt32LE(value | 0, 0);
  return op('J', arg);
}
export function long1(value: bigint): PickleToken {
  const arg = Buffer.alloc(9);
  arg[0] = 8;
  arg.writeBigInt64LE(BigInt.asIntN(64, value), 1);
  return op(0x8a, arg);
}
export const binput = (index: number): PickleToken => op('q', Buffer.from([index & 0xff]));
export const binget = (index: number): PickleToken => op('h', Buffer.from([index & 0xff]));

// ---- mutating tokens ----------------------------------------------------------

const ZERO_ARG_OPS = '(}])N021tlaedsuRb.Q'.split('').map(c).concat([0x88, 0x89, 0x85, 0x86, 0x87, 0x93, 0x81, 0x94]);
/** Opcodes the interpreter does not support, and bytes that are no opcode at all. */
const UNSUPPORTED_OPS = [0x8f, 0x90, 0x91, 0x92, 0x97, 0x98, c('o'), c('@'), c('Z'), 0x00, 0xff];

const STRINGS = ['storage', '0', '1', '2', '99', '', 'cpu', 'cuda', 'a.weight', 'model', '_metadata', 'version', '../data/0', 'x'.repeat(300), '\u0000', 'é\u{1F600}'];
const GLOBALS: [string, string][] = [
  ['torch', 'FloatStorage'],
  ['torch', 'DoubleStorage'],
  ['torch', 'HalfStorage'],
  ['torch', 'LongStorage'],
  ['torch', 'BoolStorage'],
  ['torch', 'ByteStorage'],
  ['torch', 'ComplexFloatStorage'],
  ['torch', 'UntypedStorage'],
  ['torch._utils', '_rebuild_tensor_v2'],
  ['torch._utils', '_rebuild_tensor'],
  ['torch._utils', '_rebuild_parameter'],
  ['torch._utils', '_rebuild_parameter_with_state'],
  ['collections', 'OrderedDict'],
  ['torch', 'device'],
  ['builtins', 'set'],
  ['os', 'system'],
  ['', ''],
];

function randomIntToken(rng: Prng): PickleToken {
  switch (rng.int(4)) {
    case 0:
      return int1(rng.pick(INTERESTING_8));
    case 1: {
      const arg = Buffer.alloc(2);
      arg.writeUInt16LE(rng.pick([0, 1, 255, 256, 0x7fff, 0xffff]), 0);
      return op('M', arg);
    }
    case 2:
      return int4(rng.pick(INTERESTING_32));
    default: {
      const width = rng.range(0, 9);
      return op(0x8a, Buffer.concat([Buffer.from([width]), rng.bytes(Math.min(width, 8))]));
    }
  }
}

function randomStringToken(rng: Prng): PickleToken {
  const text = Buffer.from(rng.pick(STRINGS), 'utf8');
  switch (rng.int(6)) {
    case 0:
      return op(0x8c, lengthPrefixed(1, text.subarray(0, 255)));
    case 1:
      return op(0x8d, lengthPrefixed(8, text));
    case 2:
      return op('B', lengthPrefixed(4, text));
    case 3: {
      // A length that lies: longer than the rest of the program.
      const arg = Buffer.alloc(4);
      arg.writeUInt32LE(rng.pick([text.length + 1, 0x7fffffff, 0xffffffff]), 0);
      return op('X', Buffer.concat([arg, text]));
    }
    default:
      return op('X', lengthPrefixed(4, text));
  }
}

function randomMemoToken(rng: Prng): PickleToken {
  const index = rng.pick([0, 1, 2, 3, 7, 16, 255]);
  switch (rng.int(5)) {
    case 0:
      return binput(index);
    case 1:
      return binget(index);
    case 2: {
      const arg = Buffer.alloc(4);
      arg.writeUInt32LE(rng.pick([index, 0x7fffffff, 0xffffffff]), 0);
      return op(rng.chance(0.5) ? 'r' : 'j', arg);
    }
    case 3:
      return op(0x94);
    default: {
      const arg = Buffer.alloc(8);
      const bits = rng.pick([Number.NaN, Number.POSITIVE_INFINITY, -0, 1e308, 3.5]);
      arg.writeDoubleBE(bits, 0);
      return op('G', arg);
    }
  }
}

export function randomToken(rng: Prng): PickleToken {
  return rng.weighted<() => PickleToken>([
    [5, () => op(rng.pick(ZERO_ARG_OPS))],
    [1, () => op(rng.pick(UNSUPPORTED_OPS))],
    [3, () => randomIntToken(rng)],
    [2, () => randomStringToken(rng)],
    [2, () => randomMemoToken(rng)],
    [2, () => {
      const [module, name] = rng.pick(GLOBALS);
      return global(module, name);
    }],
  ])();
}

/** Rewrites the argument of `token` (same opcode), or returns a random token for argument-less ones. */
function mutateArgument(rng: Prng, token: PickleToken): PickleToken {
  switch (token.op) {
    case c('K'):
    case c('M'):
    case c('J'):
    case 0x8a:
      return randomIntToken(rng);
    case c('X'):
    case 0x8c:
    case 0x8d:
    case c('T'):
    case c('U'):
    case c('B'):
    case c('C'):
      return randomStringToken(rng);
    case c('q'):
    case c('h'):
    case c('r'):
    case c('j'):
      return randomMemoToken(rng);
    case c('c'): {
      const [module, name] = rng.pick(GLOBALS);
      return rng.chance(0.2) ? op('c', Buffer.from(`${module}.${name}`)) : global(module, name); // sometimes without newlines
    }
    default:
      return randomToken(rng);
  }
}

/** One structure-aware step on a token list (in place); returns what it did. */
export function mutateTokens(rng: Prng, tokens: PickleToken[]): string {
  const n = tokens.length;
  const i = rng.int(n);
  const kind = rng.weighted<string>([
    [3, 'argument'],
    [2, 'delete'],
    [2, 'insert'],
    [1, 'duplicate'],
    [1, 'swap'],
    [1, 'replace'],
    [1, 'move-block'],
  ]);
  if (n === 0 && kind !== 'insert') {
    tokens.push(randomToken(rng));
    return 'insert@0';
  }
  switch (kind) {
    case 'argument':
      tokens[i] = mutateArgument(rng, tokens[i]!);
      return `argument#${i}`;
    case 'delete': {
      const len = Math.min(rng.smallInt(8), n - i);
      tokens.splice(i, len);
      return `delete#${i}+${len}`;
    }
    case 'insert': {
      const len = rng.smallInt(6);
      tokens.splice(i, 0, ...Array.from({ length: len }, () => randomToken(rng)));
      return `insert#${i}+${len}`;
    }
    case 'duplicate': {
      const len = Math.min(rng.smallInt(16), n - i);
      tokens.splice(i, 0, ...tokens.slice(i, i + len));
      return `duplicate#${i}+${len}`;
    }
    case 'swap': {
      const j = rng.chance(0.7) ? Math.min(n - 1, i + 1) : rng.int(n);
      [tokens[i], tokens[j]] = [tokens[j]!, tokens[i]!];
      return `swap#${i},${j}`;
    }
    case 'replace':
      tokens[i] = randomToken(rng);
      return `replace#${i}`;
    default: {
      const len = Math.min(rng.smallInt(16), n - i);
      const block = tokens.splice(i, len);
      const to = rng.int(tokens.length + 1);
      tokens.splice(to, 0, ...block);
      return `move#${i}+${len}->${to}`;
    }
  }
}

// ---- hostile programs -----------------------------------------------------------
// Small programs that build pathological values: very deep nesting, and
// values shared through DUP/memo so that a naive tree copy explodes.

/** `(`*depth then `l`*depth: lists nested `depth` deep. */
export function deepListsPickle(depth: number): Buffer {
  return Buffer.concat([Buffer.from([0x80, 2]), Buffer.alloc(depth, c('(')), Buffer.alloc(depth, c('l')), Buffer.from('.')]);
}

/** `)` then TUPLE1 `depth` times: tuples nested `depth` deep, one byte per level. */
export function deepTuplesPickle(depth: number): Buffer {
  return Buffer.concat([Buffer.from([0x80, 2, c(')')]), Buffer.alloc(depth, 0x85), Buffer.from('.')]);
}

/** x = (); then `levels` times x = (x, x) via DUP + TUPLE2: a DAG whose tree has 2^levels leaves. */
export function sharedTuplesPickle(levels: number): Buffer {
  const level = Buffer.from([c('2'), 0x86]);
  return Buffer.concat([Buffer.from([0x80, 2, c(')')]), ...Array<Buffer>(levels).fill(level), Buffer.from('.')]);
}
