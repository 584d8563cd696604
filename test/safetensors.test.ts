// safetensors: round trips with Python's `safetensors`, and header validation.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import * as tt from '../lib';
import { readSafetensorsFile, readSafetensorsHeader, writeSafetensorsFile, serializeSafetensors, deserializeSafetensors } from '../lib/io/safetensors';
import { compareTensors } from './helpers/compare';
import { runReferenceWithMetadata } from './helpers/python';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-st-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

t.test('every dtype round-trips through Python safetensors', (t) => {
  tt.manualSeed(5);
  const tensors: Record<string, tt.Tensor> = {
    f32: tt.randn([3, 4]),
    f64: tt.randn([2, 2], { dtype: 'float64' }),
    f16: tt.randn([5], { dtype: 'float16' }),
    bf16: tt.randn([5], { dtype: 'bfloat16' }),
    i64: tt.randint(-1000, 1000, [7]),
    i32: tt.randint(-1000, 1000, [2, 3], { dtype: 'int32' }),
    i16: tt.randint(-100, 100, [4], { dtype: 'int16' }),
    i8: tt.randint(-100, 100, [4], { dtype: 'int8' }),
    u8: tt.randint(0, 255, [6], { dtype: 'uint8' }),
    bool: tt.rand([6]).gt(0.5),
    scalar: tt.tensor(3.25),
    empty: tt.zeros([0, 3]),
  };
  const { tensors: back, metadata } = runReferenceWithMetadata('safetensors_roundtrip.py', new Map(Object.entries(tensors)), { note: 'x' });
  for (const [name, tensor] of Object.entries(tensors)) {
    const expected = tensor.dtype === 'bool' ? tensor.logicalNot() : tensor.mul(2);
    const result = compareTensors(back.get(name)!, expected, { rtol: 0, atol: 0 });
    t.ok(result.ok, `${name} (${tensor.dtype}) read by Python and written back: ${result.message}`);
  }
  t.ok(metadata.seen_metadata !== undefined);
  t.end();
});

t.test('metadata and names survive; partial loads; in-memory form', (t) => {
  const file = path.join(dir, 'meta.safetensors');
  writeSafetensorsFile(file, { 'layer1.0.conv1.weight': tt.ones([2, 2]), b: tt.zeros([1]) }, { epoch: '3', config: '{"lr":0.1}' });
  const header = readSafetensorsHeader(file);
  t.same(header.metadata, { epoch: '3', config: '{"lr":0.1}' });
  t.same(header.entries.map((e) => e.name), ['layer1.0.conv1.weight', 'b']);
  const partial = readSafetensorsFile(file, { names: ['b'] });
  t.same([...partial.tensors.keys()], ['b']);
  t.throws(() => readSafetensorsFile(file, { names: ['nope'] }), /no tensor named 'nope'/);
  const bytes = serializeSafetensors({ x: tt.arange(3) });
  t.same(deserializeSafetensors(bytes).tensors.get('x')!.arraySync(), [0, 1, 2]);
  t.same(fs.readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temp files left behind');
  t.end();
});

function writeRaw(name: string, header: unknown, data: Buffer, lengthOverride?: bigint): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat([length, json, data]));
  return file;
}

t.test('corrupt files give clear errors naming the file', (t) => {
  const good = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, () => string, RegExp][] = [
    ['empty file', () => writeRaw('empty.st', '', Buffer.alloc(0), 0n).replace(/$/, ''), /data section has 0 trailing|header is not valid JSON/],
    ['too short', () => (fs.writeFileSync(path.join(dir, 'short.st'), Buffer.alloc(3)), path.join(dir, 'short.st')), /too short for a safetensors header/],
    ['oversized header length', () => writeRaw('huge.st', good, Buffer.alloc(8), 1n << 40n), /exceeds the 104857600-byte limit/],
    ['header past end of file', () => writeRaw('past.st', good, Buffer.alloc(8), 5000n), /runs past the end/],
    ['bad JSON', () => writeRaw('json.st', '{"a": ', Buffer.alloc(0)), /header is not valid JSON/],
    ['unknown dtype', () => writeRaw('dtype.st', { a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1)), /unsupported dtype "F8_E4M3"/],
    ['truncated data', () => writeRaw('trunc.st', good, Buffer.alloc(4)), /beyond the end of the file/],
    ['shape/bytes mismatch', () => writeRaw('mismatch.st', { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)), /needs 12/],
    ['overlap', () => writeRaw('overlap.st', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, Buffer.alloc(8)), /overlaps/],
    ['gap', () => writeRaw('gap.st', { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, Buffer.alloc(8)), /gap in the data section/],
    ['negative shape', () => writeRaw('neg.st', { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, Buffer.alloc(4)), /invalid shape/],
    ['metadata not strings', () => writeRaw('meta.st', { __metadata__: { a: 1 } }, Buffer.alloc(0)), /__metadata__.a must be a string/],
    ['missing file', () => path.join(dir, 'does-not-exist.safetensors'), /cannot open \(no such file\)/],
  ];
  for (const [label, make, pattern] of cases) {
    const file = make();
    t.throws(() => readSafetensorsFile(file), { name: 'SafetensorsError', message: pattern }, label);
    try {
      readSafetensorsFile(file);
    } catch (error) {
      t.ok((error as Error).message.startsWith(file), `${label}: message names the file`);
    }
  }
  t.equal(tt.ones([1]).item(), 1, 'still working afterwards');
  t.end();
});
