// safetensors: readSafetensorsFile (streaming from a file), deserializeSafetensors
// (a buffer) and readSafetensorsHeader, fed mutants of files written by
// writeSafetensorsFile. Besides byte havoc, the JSON header is parsed and edited
// (dtypes, shapes, offsets, metadata, names) and re-encoded with a correct
// or deliberately wrong length field, so mutants get past the first check.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tt from '../../../../lib';
import { deserializeSafetensors, readSafetensorsFile, readSafetensorsHeader, writeSafetensorsFile, type LoadedSafetensors } from '../../../../lib/io/safetensors';
import { INTERESTING_64, mutateBytes } from '../bytes';
import type { Prng } from '../prng';
import type { FuzzCase, FuzzTarget, SeedCorpus } from '../types';

const FILE = 'input.safetensors';
const ENTRIES = ['load', 'deserialize', 'header', 'load-names'] as const;
/** Touch tensor data only below this size (a mutant may describe huge empty-looking shapes). */
const MAX_TOUCH_BYTES = 1 << 20;

async function makeSeeds(dir: string): Promise<void> {
  writeSafetensorsFile(
    path.join(dir, 'mixed.safetensors'),
    {
      'conv.weight': tt.tensor([0.5, -1.25, 3, 1e-8, -0, 65504], [2, 3]),
      'conv.bias': tt.tensor([1, 2, 3], { dtype: 'int64' }),
      mask: tt.tensor([1, 0], { dtype: 'bool' }),
      pixels: tt.tensor([1, 2, 3, 4], [2, 2], { dtype: 'uint8' }),
      half: tt.ones([4], { dtype: 'bfloat16' }),
      tiny: tt.ones([1], { dtype: 'float16' }),
    },
    { format: 'pt', note: 'fuzz seed' },
  );
  writeSafetensorsFile(path.join(dir, 'single.safetensors'), { x: tt.arange(0, 5, 1, { dtype: 'float64' }) });
  writeSafetensorsFile(path.join(dir, 'empty.safetensors'), {});
  writeSafetensorsFile(path.join(dir, 'zero-size.safetensors'), { empty: tt.zeros([0, 3]), scalar: tt.tensor([7], [], { dtype: 'int8' }), i16: tt.ones([3], { dtype: 'int16' }), i32: tt.ones([2], { dtype: 'int32' }) });
  writeSafetensorsFile(path.join(dir, 'metadata-only.safetensors'), {}, { a: '1', b: '' });
}

/** Splits a safetensors file into its header object and data section (undefined if the seed is not one). */
function split(file: Buffer): { header: Record<string, unknown>; data: Buffer } {
  const length = Number(file.readBigUInt64LE(0));
  return { header: JSON.parse(file.toString('utf8', 8, 8 + length)) as Record<string, unknown>, data: file.subarray(8 + length) };
}

function tensorNames(header: Record<string, unknown>): string[] {
  return Object.keys(header).filter((name) => name !== '__metadata__');
}

const DTYPES: unknown[] = ['F32', 'F64', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL', 'F8_E4M3', 'C64', 'U16', 'U64', 'f32', '', 7, null];
const SHAPES: unknown[] = [
  [],
  [0],
  [-1],
  [1.5],
  ['2'],
  [2 ** 53],
  [2 ** 31, 2 ** 31],
  [2 ** 32 - 1],
  [2 ** 26, 2 ** 26, 0],
  [0, 2 ** 53 - 1],
  [1e308],
  null,
  {},
  Array<number>(1000).fill(1),
];

/** One semantic edit of the header object (in place); returns what it did. */
function editHeader(rng: Prng, header: Record<string, unknown>): string {
  const names = tensorNames(header);
  const name = names.length > 0 ? rng.pick(names) : undefined;
  const entry = name === undefined ? undefined : (header[name] as Record<string, unknown>);
  const kind = rng.weighted<string>([
    [entry ? 3 : 0, 'dtype'],
    [entry ? 3 : 0, 'shape'],
    [entry ? 4 : 0, 'offsets'],
    [entry ? 1 : 0, 'drop-field'],
    [entry ? 1 : 0, 'rename'],
    [entry ? 1 : 0, 'copy-entry'],
    [entry ? 1 : 0, 'remove-entry'],
    [entry ? 3 : 0, 'reshape'],
    [entry ? 3 : 0, 'retype'],
    [1, 'metadata'],
    [0.2, 'top-level'],
  ]);
  switch (kind) {
    case 'dtype': {
      const dtype = rng.pick(DTYPES);
      entry!.dtype = dtype;
      return `dtype ${name}=${JSON.stringify(dtype)}`;
    }
    case 'shape': {
      const shape = rng.chance(0.6) || !Array.isArray(entry!.shape) ? rng.pick(SHAPES) : (entry!.shape as number[]).map((d) => (rng.chance(0.5) ? d + rng.range(-1, 1) : d));
      entry!.shape = shape;
      return `shape ${name}=${JSON.stringify(shape)?.slice(0, 40)}`;
    }
    case 'offsets': {
      const [begin, end] = (entry!.data_offsets as [number, number] | undefined) ?? [0, 0];
      const other = header[rng.pick(names)] as { data_offsets?: unknown };
      const offsets = rng.pick<unknown>([
        [end, begin],
        [0, 2 ** 53],
        [-1, end],
        [begin, end + 1],
        [begin + 1, end],
        [begin, end - 1],
        [0],
        [0, 0, 0],
        [String(begin), end],
        [begin + 0.5, end],
        null,
        [2 ** 63, 2 ** 64],
        [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
        other.data_offsets,
        [begin, begin],
      ]);
      entry!.data_offsets = offsets;
      return `offsets ${name}=${JSON.stringify(offsets)}`;
    }
    case 'reshape': {
      // Same element count, other shape: the file stays valid and the data reaches libtorch.
      const numel = (Array.isArray(entry!.shape) ? (entry!.shape as number[]) : []).reduce((a, b) => a * b, 1);
      const shape = rng.pick([[numel], [1, numel], [numel, 1], [1, 1, numel], numel === 1 ? [] : [numel], numel === 0 ? [0, 5, 7] : [numel]]);
      entry!.shape = shape;
      return `reshape ${name}=${JSON.stringify(shape)}`;
    }
    case 'retype': {
      // A dtype of the same item size: valid, and for BOOL the bytes may be other than 0 and 1.
      const sameSize: Record<string, string[]> = { F64: ['I64'], I64: ['F64'], F32: ['I32'], I32: ['F32'], F16: ['BF16', 'I16'], BF16: ['F16', 'I16'], I16: ['F16', 'BF16'], U8: ['I8', 'BOOL'], I8: ['U8', 'BOOL'], BOOL: ['U8', 'I8'] };
      const dtype = rng.pick(sameSize[String(entry!.dtype)] ?? ['U8']);
      entry!.dtype = dtype;
      return `retype ${name}=${dtype}`;
    }
    case 'drop-field': {
      const field = rng.pick(['dtype', 'shape', 'data_offsets']);
      delete entry![field];
      return `drop ${name}.${field}`;
    }
    case 'rename': {
      const to = rng.pick(['__metadata__', '', '__proto__', 'constructor', 'x'.repeat(5000), '\u0000', 'a/../b']);
      delete header[name!];
      header[to] = entry;
      return `rename ${name}->${to.slice(0, 20)}`;
    }
    case 'copy-entry': {
      header[`${name}.copy`] = { ...entry };
      return `copy ${name}`;
    }
    case 'remove-entry':
      delete header[name!];
      return `remove ${name}`;
    case 'metadata': {
      const metadata = rng.pick<unknown>([null, [], { a: 1 }, { a: null }, 'text', {}, { nested: { deep: 'x' } }, { ['x'.repeat(1000)]: 'y' }, { format: 'pt' }, { '': '' }, { a: '\u0000\uffff' }, { __proto__: 'x' }]);
      header.__metadata__ = metadata;
      return `metadata=${JSON.stringify(metadata)?.slice(0, 40)}`;
    }
    default:
      return 'top-level';
  }
}

/** Text-level edits of the JSON that an object cannot express (duplicate keys, bad UTF-8, deep nesting, junk). */
function editJsonText(rng: Prng, json: Buffer): { json: Buffer; what: string } {
  const kind = rng.pick(['duplicate-key', 'bad-utf8', 'bom', 'deep', 'trailing', 'nul', 'top-level']);
  switch (kind) {
    case 'duplicate-key': {
      const text = json.toString('utf8');
      const first = text.indexOf('"', 1);
      const close = first < 0 ? -1 : text.indexOf('},', first);
      if (close < 0) return { json, what: 'duplicate-key: none' };
      return { json: Buffer.from(`{${text.slice(1, close + 2)}${text.slice(1)}`), what: 'duplicate-key' };
    }
    case 'bad-utf8':
      return { json: Buffer.concat([json.subarray(0, 2), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), json.subarray(2)]), what: 'bad-utf8' };
    case 'bom':
      return { json: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json]), what: 'bom' };
    case 'deep': {
      const depth = rng.pick([100, 10_000, 200_000]);
      return { json: Buffer.from(`{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`), what: `deep ${depth}` };
    }
    case 'trailing':
      return { json: Buffer.concat([json, Buffer.from(rng.pick(['x', '{}', '\u0000', ' '.repeat(9)]))]), what: 'trailing' };
    case 'nul':
      return { json: Buffer.concat([json, Buffer.alloc(rng.range(1, 16))]), what: 'nul padding' };
    default:
      return { json: Buffer.from(rng.pick(['[]', 'null', '1', '"text"', '', '{', 'true'])), what: 'top-level text' };
  }
}

function encode(json: Buffer, data: Buffer, length: bigint = BigInt(json.length)): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt.asUintN(64, length));
  return Buffer.concat([prefix, json, data]);
}

function mutate(rng: Prng, seeds: SeedCorpus): FuzzCase {
  const seedName = rng.pick([...seeds.keys()]);
  const seed = seeds.get(seedName)!;
  const log = [`seed ${seedName}`];
  const strategy = rng.weighted<string>([
    [3, 'havoc'],
    [5, 'header'],
    [1, 'length-field'],
    [1, 'data'],
  ]);
  log.push(strategy);
  let bytes: Buffer;
  const { header, data } = split(seed);
  if (strategy === 'header') {
    const edits = rng.range(1, 3);
    for (let i = 0; i < edits; i++) log.push(editHeader(rng, header));
    let json: Buffer = Buffer.from(log.includes('top-level') ? JSON.stringify(rng.pick<unknown>([[], null, 1, 'x'])) : JSON.stringify(header));
    if (rng.chance(0.15)) {
      const edited = editJsonText(rng, json);
      json = edited.json;
      log.push(edited.what);
    }
    bytes = encode(json, data, rng.chance(0.9) ? undefined : BigInt(json.length + rng.range(-2, 2)));
  } else if (strategy === 'length-field') {
    bytes = Buffer.from(seed);
    const jsonLength = Number(seed.readBigUInt64LE(0));
    const length = rng.pick<bigint>([...INTERESTING_64, BigInt(jsonLength - 1), BigInt(jsonLength + 1), BigInt(seed.length - 8), BigInt(seed.length - 7), 100n * 1024n * 1024n, 100n * 1024n * 1024n + 1n, 7n]);
    bytes.writeBigUInt64LE(BigInt.asUintN(64, length), 0);
    log.push(`length=${length}`);
  } else if (strategy === 'data') {
    const jsonLength = Number(seed.readBigUInt64LE(0));
    const mutated = mutateBytes(rng, seed, { focus: { start: 8 + jsonLength, end: seed.length } });
    bytes = mutated.data;
    log.push(...mutated.log);
  } else {
    const jsonLength = Number(seed.readBigUInt64LE(0));
    const others = [...seeds.values()].filter((other) => other !== seed);
    const mutated = mutateBytes(rng, seed, { others, focus: rng.chance(0.5) ? { start: 0, end: 8 + jsonLength } : undefined });
    bytes = mutated.data;
    log.push(...mutated.log);
  }
  return { files: [{ name: FILE, data: bytes }], params: { entry: rng.pick(ENTRIES) }, log };
}

function touch(loaded: LoadedSafetensors): void {
  for (const tensor of loaded.tensors.values()) {
    void tensor.shape;
    if (tensor.numel() * 8 <= MAX_TOUCH_BYTES) tensor.bytes();
    tensor.dispose();
  }
}

async function run(caseDir: string, input: FuzzCase): Promise<void> {
  const file = path.join(caseDir, FILE);
  switch (input.params.entry) {
    case 'deserialize':
      touch(deserializeSafetensors(fs.readFileSync(file), file));
      return;
    case 'header':
      readSafetensorsHeader(file);
      return;
    case 'load-names': {
      let names: string[] = ['no-such-tensor'];
      try {
        names = readSafetensorsHeader(file).entries.slice(0, 1).map((entry) => entry.name);
      } catch {
        // an unreadable header: readSafetensorsFile must reject it too
      }
      touch(readSafetensorsFile(file, { names }));
      return;
    }
    default:
      touch(readSafetensorsFile(file));
  }
}

export const safetensorsTarget: FuzzTarget = {
  name: 'safetensors',
  expectedCodes: ['ERR_TORCHTS_SAFETENSORS'],
  batchSize: 2500,
  makeSeeds,
  mutate,
  run,
};
