// .pt state dicts: loadPt, fed mutants of files written by savePt plus
// hand-assembled torch.save-style pickles (OrderedDict + BUILD with
// _metadata, _rebuild_parameter, a nested checkpoint, shared storages).
// Mutations hit the zip container as bytes, and data.pkl both as bytes and
// as opcode tokens; mutated pickles are re-zipped with valid CRCs so they
// reach the unpickler (native/serialize.cc) rather than the CRC check.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tt from '../../../../lib';
import { loadPt, savePt } from '../../../../lib/io/pytorch';
import { mutateBytes } from '../bytes';
import {
  binget,
  binput,
  deepListsPickle,
  deepTuplesPickle,
  global,
  int1,
  long1,
  mutateTokens,
  op,
  serialize,
  sharedTuplesPickle,
  tokenize,
  unicode,
  type PickleToken,
} from '../pickle';
import type { Prng } from '../prng';
import type { FuzzCase, FuzzTarget, MutateContext, SeedCorpus } from '../types';
import { readStoredZip, writeStoredZip, type ZipEntry } from '../zip';

const FILE = 'input.pt';
const ARCHIVE = 'archive';
const MAX_TOUCH_BYTES = 1 << 20;

/**
 * Sizes of hostile constructs generated only with `knownBugs` (none open
 * now). Deep nesting (SIGSEGV on teardown) and x = (x, x) expansion (out of
 * heap) were found here and fixed in native/serialize.cc; they are part of
 * the default sizes below. See test/fixtures/fuzz/README.md.
 */
export const KNOWN_BUGS = {
  deepNesting: [100_000, 300_000],
  sharedLevels: [24, 40],
};
/** Sizes of the same constructs that must be clean errors (or loads). */
const SAFE_NESTING = [1, 2, 63, 64, 65, 1000, 20_000, 100_000, 300_000];
const SAFE_SHARED_LEVELS = [1, 4, 10, 14, 24, 40];

/** Re-zips a savePt file with a fixed record prefix and serialization id, so seeds are byte-identical across runs. */
function normalise(file: string): Buffer {
  const entries = readStoredZip(fs.readFileSync(file)).map((entry) => {
    const name = `${ARCHIVE}/${entry.name.slice(entry.name.indexOf('/') + 1)}`;
    return { name, data: name.endsWith('serialization_id') ? Buffer.from('0'.repeat(40)) : entry.data };
  });
  return writeStoredZip(entries);
}

/** The storage tuple torch.save writes: ('storage', torch.<Type>Storage, key, 'cpu', numel). */
function storage(type: string, key: string, numel: number): PickleToken[] {
  return [op('('), unicode('storage'), global('torch', type), unicode(key), unicode('cpu'), int1(numel), op('t'), op('Q')];
}

/** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()). */
function rebuildTensor(storageTokens: PickleToken[], offset: number, size: number[], stride: number[]): PickleToken[] {
  return [
    global('torch._utils', '_rebuild_tensor_v2'),
    op('('),
    ...storageTokens,
    int1(offset),
    op('('),
    ...size.map(int1),
    op('t'),
    op('('),
    ...stride.map(int1),
    op('t'),
    op(0x89),
    global('collections', 'OrderedDict'),
    op(')'),
    op('R'),
    op('t'),
    op('R'),
  ];
}

/** An OrderedDict state dict as torch.save writes it, with _metadata set through BUILD. */
function stateDictTokens(): PickleToken[] {
  const weight = rebuildTensor(storage('FloatStorage', '0', 6), 0, [2, 3], [3, 1]);
  const parameter = [global('torch._utils', '_rebuild_parameter'), op('('), ...weight, op(0x88), global('collections', 'OrderedDict'), op(')'), op('R'), op('t'), op('R')];
  const bias = rebuildTensor(storage('LongStorage', '1', 3), 0, [3], [1]);
  const view = rebuildTensor(storage('FloatStorage', '0', 6), 3, [3], [1]); // shares storage '0'
  return [
    global('collections', 'OrderedDict'),
    binput(0),
    op(')'),
    op('R'),
    binput(1),
    op('('),
    unicode('a.weight'),
    ...parameter,
    unicode('a.bias'),
    ...bias,
    unicode('a.view'),
    ...view,
    op('u'),
    op('}'),
    unicode('_metadata'),
    binget(0),
    op(')'),
    op('R'),
    op('('),
    unicode(''),
    op('}'),
    unicode('version'),
    int1(1),
    op('s'),
    op('u'),
    op('s'),
    op('b'),
  ];
}

function program(body: PickleToken[], protocol = 2): Buffer {
  return serialize([op(0x80, Buffer.from([protocol])), ...body, op('.')]);
}

async function makeSeeds(dir: string): Promise<void> {
  const flat = path.join(dir, 'tmp-flat.pt');
  savePt(flat, {
    'a.weight': tt.ones([2, 3]),
    'a.bias': tt.tensor([1, 2, 3], { dtype: 'int64' }),
    mask: tt.tensor([1, 0], { dtype: 'bool' }),
    half: tt.ones([2], { dtype: 'float16' }),
    brain: tt.ones([2], { dtype: 'bfloat16' }),
    double: tt.ones([2], { dtype: 'float64' }),
    bytes: tt.tensor([1, 2, 3], { dtype: 'uint8' }),
    chars: tt.tensor([1, -2], { dtype: 'int8' }),
    shorts: tt.tensor([1, -2], { dtype: 'int16' }),
    ints: tt.tensor([1, -2], { dtype: 'int32' }),
    scalar: tt.tensor([5], []),
  });
  const flatZip = normalise(flat);
  fs.rmSync(flat);
  fs.writeFileSync(path.join(dir, 'flat.pt'), flatZip);

  // Storages for the hand-assembled pickles: '0' holds 6 floats, '1' holds 3 longs.
  const records = (pickle: Buffer): ZipEntry[] => [
    { name: `${ARCHIVE}/data.pkl`, data: pickle },
    { name: `${ARCHIVE}/byteorder`, data: Buffer.from('little') },
    { name: `${ARCHIVE}/data/0`, data: Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer) },
    { name: `${ARCHIVE}/data/1`, data: Buffer.from(new BigInt64Array([7n, 8n, 9n]).buffer) },
    { name: `${ARCHIVE}/version`, data: Buffer.from('3\n') },
  ];
  fs.writeFileSync(path.join(dir, 'ordered.pt'), writeStoredZip(records(program(stateDictTokens()))));
  const nested = [
    op('}'),
    op('('),
    unicode('model'),
    ...stateDictTokens(),
    unicode('step'),
    long1(123_456_789_012n),
    unicode('lr'),
    op('G', Buffer.from([0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a])),
    unicode('names'),
    op(']'),
    op('('),
    unicode('a'),
    op(0x8c, Buffer.from([1, 0x62])),
    op('e'),
    unicode('flags'),
    op('('),
    op(0x88),
    op('N'),
    op(0x89),
    op('t'),
    op('u'),
  ];
  fs.writeFileSync(path.join(dir, 'nested.pt'), writeStoredZip(records(program(nested))));
  // Protocol 4 framing, MEMOIZE and STACK_GLOBAL, as newer picklers write.
  const frame = Buffer.alloc(8);
  frame.writeBigUInt64LE(64n);
  const protocol4 = [
    op(0x95, frame),
    op('}'),
    op(0x94),
    op(0x8c, Buffer.from([1, 0x77])),
    op(0x94),
    op(0x8c, Buffer.concat([Buffer.from([12]), Buffer.from('torch._utils')])),
    op(0x8c, Buffer.concat([Buffer.from([18]), Buffer.from('_rebuild_tensor_v2')])),
    op(0x93),
    op(0x94),
    ...rebuildTensor(storage('FloatStorage', '0', 6), 0, [6], [1]).slice(1),
    op('s'),
  ];
  fs.writeFileSync(path.join(dir, 'protocol4.pt'), writeStoredZip(records(program(protocol4, 4))));
}

function pickleOf(entries: ZipEntry[]): ZipEntry | undefined {
  return entries.find((entry) => entry.name.endsWith('/data.pkl'));
}

function editRecords(rng: Prng, entries: ZipEntry[]): string {
  const i = rng.int(entries.length);
  const entry = entries[i]!;
  const kind = rng.pick(['drop', 'truncate', 'byteorder', 'version', 'rename', 'duplicate', 'prefix', 'escape']);
  switch (kind) {
    case 'drop':
      entries.splice(i, 1);
      return `drop ${entry.name}`;
    case 'truncate':
      entries[i] = { name: entry.name, data: entry.data.subarray(0, rng.int(entry.data.length)) };
      return `truncate ${entry.name}`;
    case 'byteorder': {
      const value = rng.pick(['big', '', 'little\0', 'LITTLE']);
      const at = entries.findIndex((e) => e.name.endsWith('/byteorder'));
      if (at >= 0) entries[at] = { name: entries[at]!.name, data: Buffer.from(value) };
      return `byteorder=${JSON.stringify(value)}`;
    }
    case 'version': {
      const value = rng.pick(['99\n', '', 'x', '-1\n', '18446744073709551616\n']);
      const at = entries.findIndex((e) => e.name.endsWith('/version'));
      if (at >= 0) entries[at] = { name: entries[at]!.name, data: Buffer.from(value) };
      return `version=${JSON.stringify(value)}`;
    }
    case 'rename': {
      const to = entry.name.replace(/\/[^/]*$/, `/${rng.pick(['data/00', 'data/', 'data.pkl', 'data/99', ''])}`);
      entries[i] = { name: to, data: entry.data };
      return `rename ${entry.name} -> ${to}`;
    }
    case 'duplicate':
      entries.splice(rng.int(entries.length + 1), 0, { name: entry.name, data: rng.chance(0.5) ? entry.data : Buffer.alloc(0) });
      return `duplicate ${entry.name}`;
    case 'prefix':
      entries[i] = { name: `other/${entry.name.slice(entry.name.indexOf('/') + 1)}`, data: entry.data };
      return `prefix ${entry.name}`;
    default:
      entries[i] = { name: `../../${entry.name}`, data: entry.data };
      return `escape ${entry.name}`;
  }
}

function hostilePickle(rng: Prng, context: MutateContext): { pickle: Buffer; what: string } {
  const nesting = context.knownBugs && rng.chance(0.5) ? KNOWN_BUGS.deepNesting : SAFE_NESTING;
  const levels = context.knownBugs && rng.chance(0.5) ? KNOWN_BUGS.sharedLevels : SAFE_SHARED_LEVELS;
  switch (rng.int(3)) {
    case 0: {
      const depth = rng.pick(nesting);
      return { pickle: deepListsPickle(depth), what: `hostile deep lists ${depth}` };
    }
    case 1: {
      const depth = rng.pick(nesting);
      return { pickle: deepTuplesPickle(depth), what: `hostile deep tuples ${depth}` };
    }
    default: {
      const n = rng.pick(levels);
      return { pickle: sharedTuplesPickle(n), what: `hostile shared tuples ${n}` };
    }
  }
}

function mutate(rng: Prng, seeds: SeedCorpus, context: MutateContext): FuzzCase {
  const seedName = rng.pick([...seeds.keys()]);
  const seed = seeds.get(seedName)!;
  const log = [`seed ${seedName}`];
  const params = { key: seedName === 'nested.pt' ? (rng.chance(0.9) ? 'model' : rng.pick(['model.a.weight', 'step', 'nope', ''])) : null };
  const strategy = rng.weighted<string>([
    [2, 'zip-havoc'],
    [3, 'pickle-havoc'],
    [4, 'pickle-tokens'],
    [1, 'records'],
    [0.4, 'hostile'],
    [0.4, 'pickle-splice'],
  ]);
  log.push(strategy);
  if (strategy === 'zip-havoc') {
    const end = seed.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    const centralStart = end >= 0 ? seed.readUInt32LE(end + 16) : 0;
    const mutated = mutateBytes(rng, seed, { focus: rng.chance(0.5) ? { start: centralStart, end: seed.length } : undefined });
    return { files: [{ name: FILE, data: mutated.data }], params, log: [...log, ...mutated.log] };
  }
  const entries = readStoredZip(seed);
  const pickle = pickleOf(entries)!;
  let data = pickle.data;
  if (strategy === 'pickle-havoc') {
    const mutated = mutateBytes(rng, data);
    data = mutated.data;
    log.push(...mutated.log);
  } else if (strategy === 'pickle-tokens') {
    const tokens = tokenize(data);
    const steps = rng.range(1, 4);
    for (let i = 0; i < steps; i++) log.push(mutateTokens(rng, tokens));
    data = serialize(tokens);
  } else if (strategy === 'records') {
    const steps = rng.range(1, 2);
    for (let i = 0; i < steps; i++) log.push(editRecords(rng, entries));
  } else if (strategy === 'hostile') {
    const hostile = hostilePickle(rng, context);
    data = hostile.pickle;
    log.push(hostile.what);
  } else {
    const otherSeed = seeds.get(rng.pick([...seeds.keys()]))!;
    const other = pickleOf(readStoredZip(otherSeed))!.data;
    const cut = rng.int(Math.min(data.length, other.length) + 1);
    data = Buffer.concat([data.subarray(0, cut), other.subarray(rng.int(other.length + 1))]);
    log.push(`splice@${cut}`);
  }
  const rezipped = entries.map((entry) => (entry === pickle ? { name: entry.name, data } : entry));
  return { files: [{ name: FILE, data: writeStoredZip(rezipped) }], params, log };
}

async function run(caseDir: string, input: FuzzCase): Promise<void> {
  const key = input.params.key;
  const tensors = loadPt(path.join(caseDir, FILE), typeof key === 'string' ? { key } : {});
  for (const tensor of tensors.values()) {
    void tensor.shape;
    if (tensor.numel() * 8 <= MAX_TOUCH_BYTES) tensor.bytes();
    tensor.dispose();
  }
}

export const ptTarget: FuzzTarget = {
  name: 'pt',
  expectedCodes: ['ERR_TORCHTS_PT'],
  batchSize: 2500,
  makeSeeds,
  mutate,
  run,
};
