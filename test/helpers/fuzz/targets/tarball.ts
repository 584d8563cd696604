// .tar.gz data sources: loadDataset on an archive (fresh cache folder per
// input), fed mutants of archives of an image tree and of
// cifar-10-batches-bin. Mutations hit the gzip stream, the tar headers
// (fields rewritten with valid checksums: '..' and absolute paths, links
// pointing outside, huge and base-256 sizes, odd entry types), injected
// pax/GNU long-name records, the archive's structure, and the files inside
// (images and batches mutated like the other targets' inputs).
//
// Nothing may ever be written outside the input's folder: paths aim at a
// canary folder and at the child's working directory's ancestors, and
// test/fuzz.test.ts checks that no such file appears.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import { loadDataset } from '../../../../lib/data/dataset';
import { randomImageSet, binaryRecords } from '../../data-fixtures';
import { mutateBytes } from '../bytes';
import { mutateImage } from '../image-formats';
import type { Prng } from '../prng';
import { BLOCK, buildTar, entryBlocks, fixChecksum, headerBlock, listHeaders, paxEntry, setField, sizeField, type FieldName, type TarEntry } from '../tar';
import type { FuzzCase, FuzzTarget, MutateContext, SeedCorpus } from '../types';

/** The base name every escaping path uses, so that a leak is easy to find. */
export const ESCAPE_NAME = 'torchts-fuzz-escaped.jpg';

/** Where an entry that escaped its root could have landed, for a child whose working directory is `cwd`. */
export function escapeProbes(cwd: string, canaryDir: string): string[] {
  const probes = [path.join(canaryDir, ESCAPE_NAME), path.join('/', ESCAPE_NAME)];
  for (let up = 0; up <= 8; up++) probes.push(path.resolve(cwd, ...Array<string>(up).fill('..'), ESCAPE_NAME));
  return [...new Set(probes)];
}

function evilPaths(context: MutateContext): string[] {
  return [
    `../${ESCAPE_NAME}`,
    `../../../${ESCAPE_NAME}`,
    `top/../../${ESCAPE_NAME}`,
    `top/train/cat/../../../../${ESCAPE_NAME}`,
    `${context.canaryDir}/${ESCAPE_NAME}`,
    `/${ESCAPE_NAME}`,
    `C:\\${ESCAPE_NAME}`,
    `top\\..\\..\\${ESCAPE_NAME}`,
    `./top/train/cat/${ESCAPE_NAME}`,
    `top//train///cat/${ESCAPE_NAME}`,
    '..',
    '.',
    '',
    'top/train/cat/\u0000hidden.jpg',
    `top/train/cat/${'a'.repeat(150)}.jpg`,
  ];
}

function evilLinks(context: MutateContext): string[] {
  return ['../../../../etc/passwd', '/etc/passwd', context.canaryDir, '/', '..', `../${ESCAPE_NAME}`, 'top/train/cat/0000.jpg', 'top/train/cat', ''];
}

async function image(format: 'jpeg' | 'png', seed: number, side = 8): Promise<Buffer> {
  const set = randomImageSet(1, side, side, ['x'], seed);
  const encoder = sharp(Buffer.from(set.images), { raw: { width: side, height: side, channels: 3 } });
  return format === 'jpeg' ? encoder.jpeg({ quality: 90 }).toBuffer() : encoder.png().toBuffer();
}

const dir = (p: string): TarEntry => ({ path: p, type: '5' });
const file = (p: string, data: Buffer): TarEntry => ({ path: p, type: '0', data });

async function makeSeeds(seedDir: string): Promise<void> {
  const tree: TarEntry[] = [
    dir('top/'),
    dir('top/train/'),
    dir('top/train/cat/'),
    file('top/train/cat/0000.jpg', await image('jpeg', 1)),
    file('top/train/cat/0001.png', await image('png', 2)),
    dir('top/train/dog/'),
    file('top/train/dog/0000.jpg', await image('jpeg', 3)),
    file('top/train/dog/0001.jpg', await image('jpeg', 4)),
    dir('top/test/'),
    dir('top/test/cat/'),
    file('top/test/cat/0000.png', await image('png', 5)),
    dir('top/test/dog/'),
    file('top/test/dog/0000.jpg', await image('jpeg', 6)),
  ];
  fs.writeFileSync(path.join(seedDir, 'tree.tar'), buildTar(tree));
  const flat: TarEntry[] = [
    file('train/a/x.png', await image('png', 7, 6)),
    file('train/b/y.png', await image('png', 8, 6)),
    file('test/a/z.png', await image('png', 9, 6)),
    file('test/b/w.png', await image('png', 10, 6)),
  ];
  fs.writeFileSync(path.join(seedDir, 'flat.tar'), buildTar(flat));
  const classes = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
  const set = randomImageSet(6, 32, 32, classes, 41);
  const cifar: TarEntry[] = [
    dir('cifar-10-batches-bin/'),
    ...[1, 2, 3, 4, 5].map((n) => file(`cifar-10-batches-bin/data_batch_${n}.bin`, binaryRecords(set, [n - 1]))),
    file('cifar-10-batches-bin/test_batch.bin', binaryRecords(set, [5])),
    file('cifar-10-batches-bin/batches.meta.txt', Buffer.from(classes.join('\n') + '\n')),
  ];
  fs.writeFileSync(path.join(seedDir, 'cifar.tar'), buildTar(cifar));
}

/** The entries of a seed archive (all built by buildTar, so they parse). */
function entriesOf(tar: Buffer): TarEntry[] {
  return listHeaders(tar).map((h) => ({ path: h.path, type: h.type === '\0' ? '0' : h.type, data: Buffer.from(tar.subarray(h.dataOffset, h.dataOffset + h.size)) }));
}

const SIZE_VALUES: (number | bigint)[] = [0, 1, 511, 513, 2 ** 33, 8 ** 11 - 1, 2 ** 53, -1, 2n ** 63n, 2n ** 87n];
const TYPES = ['0', '1', '2', '3', '4', '5', '6', '7', 'g', 'x', 'L', 'K', 'S', 'V', 'D', 'M', 'N', '\0', 'Z'];

function editHeaderField(rng: Prng, tar: Buffer, context: MutateContext): string {
  const headers = listHeaders(tar);
  if (headers.length === 0) return 'header: none';
  const h = rng.pick(headers);
  const block = tar.subarray(h.offset, h.offset + BLOCK);
  const field = rng.weighted<FieldName>([
    [4, 'name'],
    [1, 'prefix'],
    [3, 'size'],
    [2, 'type'],
    [2, 'linkname'],
    [1, 'mode'],
    [0.5, 'uid'],
    [0.5, 'mtime'],
    [1, 'magic'],
  ]);
  let value: Buffer | string;
  switch (field) {
    case 'name':
      value = rng.pick(evilPaths(context));
      break;
    case 'prefix':
      value = rng.pick(['..', '../..', '/', context.canaryDir, 'top/..', 'a'.repeat(155)]);
      break;
    case 'size': {
      const v = rng.chance(0.8) ? rng.pick(SIZE_VALUES) : h.size + rng.range(-2, 2);
      value = rng.chance(0.9) ? sizeField(v) : rng.pick(['12x', ' ', '\0', '-1', '0x10', '77777777777777']);
      break;
    }
    case 'type':
      value = rng.pick(TYPES);
      break;
    case 'linkname':
      value = rng.pick(evilLinks(context));
      break;
    case 'magic':
      value = rng.pick(['ustar  \0', '\0\0\0\0\0\0', 'xxxxxx', 'ustar\0']);
      break;
    default:
      value = rng.chance(0.5) ? '99999999' : Buffer.from([0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  }
  setField(block, field, value);
  if (rng.chance(0.9)) fixChecksum(block);
  return `${h.path}: ${field}=${JSON.stringify(typeof value === 'string' ? value : value.toString('hex')).slice(0, 60)}`;
}

function craftedEntries(rng: Prng, context: MutateContext, existing: TarEntry[]): { entries: TarEntry[]; what: string } {
  const payload = existing.find((e) => e.type === '0' && e.data && e.data.length > 0)?.data ?? Buffer.from('x');
  const evil = rng.pick(evilPaths(context));
  const link = rng.pick(evilLinks(context));
  const kind = rng.pick(['file', 'symlink', 'dir-symlink', 'hardlink', 'pax', 'pax-size', 'pax-bad', 'global-pax', 'gnu-long', 'gnu-link', 'dir', 'device', 'duplicate', 'huge-last']);
  switch (kind) {
    case 'file':
      return { entries: [file(evil, payload)], what: `file ${evil}` };
    case 'symlink':
      return { entries: [{ path: 'top/train/cat/link.jpg', type: '2', linkpath: link }], what: `symlink -> ${link}` };
    case 'dir-symlink':
      return { entries: [{ path: rng.pick(['top/train/dog', 'top/train', 'train', 'cifar-10-batches-bin']), type: '2', linkpath: link }], what: `dir symlink -> ${link}` };
    case 'hardlink':
      return { entries: [{ path: 'top/train/cat/hard.jpg', type: '1', linkpath: link }], what: `hardlink -> ${link}` };
    case 'pax':
      return { entries: [paxEntry({ path: evil, linkpath: link }), file('top/train/cat/pax.jpg', payload)], what: `pax path=${evil}` };
    case 'pax-size':
      return { entries: [paxEntry({ size: rng.pick(['99999999999', '-1', '1e9', '9007199254740993', '']) }), file('top/train/cat/pax.jpg', payload)], what: 'pax size' };
    case 'pax-bad':
      return {
        entries: [{ path: 'PaxHeader/x', type: 'x', data: Buffer.from(rng.pick(['99999 path=x\n', 'abc', '5 a=b\n', '0 path=\n', '12 path=a\n\n\n', '\0\0\0'])) }, file('top/train/cat/pax.jpg', payload)],
        what: 'pax malformed',
      };
    case 'global-pax':
      return { entries: [{ ...paxEntry({ path: evil }), type: 'g' }, file('top/train/cat/g.jpg', payload)], what: `global pax path=${evil}` };
    case 'gnu-long':
      return { entries: [{ path: '././@LongLink', type: 'L', data: Buffer.from(`${evil}\0`) }, file('short.jpg', payload)], what: `GNU long name ${evil}` };
    case 'gnu-link':
      return { entries: [{ path: '././@LongLink', type: 'K', data: Buffer.from(`${link}\0`) }, { path: 'top/train/cat/l.jpg', type: '2', linkpath: 'x' }], what: `GNU long link ${link}` };
    case 'dir':
      return { entries: [dir(evil)], what: `dir ${evil}` };
    case 'device':
      return { entries: [{ path: 'top/train/cat/dev.jpg', type: rng.pick(['3', '4', '6']) }], what: 'device entry' };
    case 'duplicate': {
      const original = rng.pick(existing);
      return { entries: [{ ...original, data: original.data?.subarray(0, rng.int(original.data.length + 1)) }], what: `duplicate ${original.path}` };
    }
    default:
      return { entries: [{ ...file('top/train/cat/huge.jpg', payload), size: rng.pick([2 ** 33, 2 ** 40, 8 ** 11 - 1]) }], what: 'huge last entry' };
  }
}

/** Entries as blocks, without the end-of-archive blocks. */
function blocksOf(entries: readonly TarEntry[]): Buffer {
  return Buffer.concat(entries.map(entryBlocks));
}

function editContent(rng: Prng, entries: TarEntry[]): string {
  const files = entries.filter((e) => e.type === '0' && e.data !== undefined);
  if (files.length === 0) return 'content: none';
  const target = rng.pick(files);
  if (/\.(jpe?g|png)$/.test(target.path)) {
    const mutated = mutateImage(rng, target.data!);
    target.data = mutated.data;
    return `${target.path}: ${mutated.log.join(' ')}`;
  }
  if (target.path.endsWith('.bin') && rng.chance(0.5) && target.data!.length > 0) {
    target.data = Buffer.from(target.data!);
    target.data[0] = rng.pick([10, 0xff, 9]);
    return `${target.path}: label ${target.data[0]}`;
  }
  const mutated = mutateBytes(rng, target.data!, { maxOps: 2 });
  target.data = mutated.data;
  return `${target.path}: ${mutated.log.join(' ')}`;
}

function gzipOddities(rng: Prng, tar: Buffer): { data: Buffer; what: string } {
  const gz = zlib.gzipSync(tar);
  switch (rng.int(5)) {
    case 0:
      return { data: Buffer.concat([gz, zlib.gzipSync(tar)]), what: 'two gzip members' };
    case 1:
      return { data: Buffer.concat([gz, rng.bytes(rng.range(1, 64))]), what: 'garbage after gzip' };
    case 2: {
      const flagged = Buffer.from(gz);
      flagged[3] = rng.pick([0x02, 0x04, 0x08, 0x10, 0x1e, 0xe0]); // FHCRC/FEXTRA/FNAME/FCOMMENT/reserved without their fields
      return { data: flagged, what: `gzip flags ${flagged[3]}` };
    }
    case 3:
      return { data: zlib.gzipSync(tar, { level: 0 }), what: 'stored deflate blocks' };
    default:
      return { data: zlib.deflateRawSync(tar), what: 'raw deflate, no gzip header' };
  }
}

function mutate(rng: Prng, seeds: SeedCorpus, context: MutateContext): FuzzCase {
  const seedName = rng.pick([...seeds.keys()]);
  let tar: Buffer = Buffer.from(seeds.get(seedName)!);
  const log = [`seed ${seedName}`];
  const strategy = rng.weighted<string>([
    [4, 'header-field'],
    [3, 'inject'],
    [2, 'tar-havoc'],
    [1, 'structure'],
    [2, 'content'],
    [2, 'gzip-havoc'],
    [0.5, 'gzip-oddities'],
  ]);
  log.push(strategy);
  let data: Buffer | undefined;
  if (strategy === 'header-field') {
    const edits = rng.range(1, 2);
    for (let e = 0; e < edits; e++) log.push(editHeaderField(rng, tar, context));
  } else if (strategy === 'inject') {
    const entries = entriesOf(tar);
    const crafted = craftedEntries(rng, context, entries);
    log.push(crafted.what);
    // An entry that declares more data than it has must come last: its data runs to the end of the archive.
    const last = crafted.entries[crafted.entries.length - 1]!;
    if (last.size !== undefined) {
      tar = Buffer.concat([blocksOf(entries), blocksOf(crafted.entries.slice(0, -1)), headerBlock(last), last.data ?? Buffer.alloc(0)]);
    } else {
      const at = rng.int(entries.length + 1);
      tar = Buffer.concat([blocksOf(entries.slice(0, at)), blocksOf(crafted.entries), blocksOf(entries.slice(at)), Buffer.alloc(2 * BLOCK)]);
    }
  } else if (strategy === 'tar-havoc') {
    const headers = listHeaders(tar);
    const h = headers.length > 0 && rng.chance(0.6) ? rng.pick(headers) : undefined;
    const mutated = mutateBytes(rng, tar, { focus: h ? { start: h.offset, end: h.offset + BLOCK } : undefined });
    tar = mutated.data;
    log.push(...mutated.log);
    if (rng.chance(0.6)) for (const header of listHeaders(tar)) fixChecksum(tar, header.offset);
  } else if (strategy === 'structure') {
    const kind = rng.int(4);
    if (kind === 0) tar = tar.subarray(0, rng.int(tar.length));
    else if (kind === 1) tar = tar.subarray(0, Math.max(0, tar.length - rng.pick([BLOCK, 2 * BLOCK])));
    else if (kind === 2) {
      const at = rng.int(tar.length / BLOCK) * BLOCK;
      tar = Buffer.concat([tar.subarray(0, at), tar.subarray(at + BLOCK)]);
    } else {
      const at = rng.int(tar.length / BLOCK) * BLOCK;
      tar = Buffer.concat([tar.subarray(0, at), tar.subarray(at, at + BLOCK), tar.subarray(at)]);
    }
    log.push(`structure ${kind}`);
  } else if (strategy === 'content') {
    const entries = entriesOf(tar);
    log.push(editContent(rng, entries));
    tar = buildTar(entries);
  } else if (strategy === 'gzip-havoc') {
    const gz = zlib.gzipSync(tar);
    const focus = rng.pick([undefined, { start: 0, end: 10 }, { start: gz.length - 8, end: gz.length }]);
    const mutated = mutateBytes(rng, gz, { focus });
    data = mutated.data;
    log.push(...mutated.log);
  } else {
    const odd = gzipOddities(rng, tar);
    data = odd.data;
    log.push(odd.what);
  }
  if (data === undefined) data = rng.chance(0.85) ? zlib.gzipSync(tar) : tar;
  const name = rng.pick(['data.tar.gz', 'data.tgz', 'data.tar']);
  return { files: [{ name, data }], params: { targetSize: rng.chance(0.8) ? null : rng.pick([[8, 8], [5, 7]]) }, log };
}

async function run(caseDir: string, input: FuzzCase): Promise<void> {
  const targetSize = input.params.targetSize;
  await loadDataset({
    data: path.join(caseDir, input.files[0]!.name),
    cacheDir: path.join(caseDir, 'cache'),
    showProgress: false,
    ...(Array.isArray(targetSize) ? { targetSize: [targetSize[0]!, targetSize[1]!] as const } : {}),
  });
}

export const tarballTarget: FuzzTarget = {
  name: 'tarball',
  expectedCodes: ['ERR_TORCHTS_DATA'],
  batchSize: 500,
  makeSeeds,
  mutate,
  run,
};
