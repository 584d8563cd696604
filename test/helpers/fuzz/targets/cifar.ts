// CIFAR-10 binary batches: readBinaryFolder (and, for some inputs,
// loadDataset on the folder, through the decode cache), fed a
// cifar-10-batches-bin folder with one file mutated, removed or replaced:
// record bytes, label bytes, truncation to near-record sizes, and
// batches.meta.txt (class names) edits.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset } from '../../../../lib/data/dataset';
import { BINARY_FILES, BINARY_META_FILE, readBinaryFolder } from '../../../../lib/data/sources/binary';
import { randomImageSet, writeBinaryFolder } from '../../data-fixtures';
import { mutateBytes } from '../bytes';
import type { Prng } from '../prng';
import type { FuzzCase, FuzzFile, FuzzTarget, SeedCorpus } from '../types';

const RECORD = 3073;
const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

async function makeSeeds(dir: string): Promise<void> {
  // 10 train images, 2 per batch, and 2 test images: small, and every file is valid.
  // Seeds live flat in `dir`, as the corpus is a list of files: move them out of the folder the helper writes.
  const folder = writeBinaryFolder(dir, randomImageSet(10, 32, 32, CLASSES, 31), randomImageSet(2, 32, 32, CLASSES, 32));
  for (const name of fs.readdirSync(folder)) fs.renameSync(path.join(folder, name), path.join(dir, name));
  fs.rmdirSync(folder);
}

function editMeta(rng: Prng, data: Buffer): { data: Buffer; what: string } {
  const lines = data.toString('utf8').split('\n');
  const kind = rng.pick(['fewer', 'none', 'crlf', 'bom', 'blank', 'huge', 'bad-utf8', 'duplicate']);
  switch (kind) {
    case 'fewer':
      return { data: Buffer.from(lines.slice(0, rng.int(lines.length)).join('\n')), what: 'meta: fewer classes' };
    case 'none':
      return { data: Buffer.from(rng.pick(['', '\n\n', '   \n\t'])), what: 'meta: no classes' };
    case 'crlf':
      return { data: Buffer.from(lines.join('\r\n')), what: 'meta: CRLF' };
    case 'bom':
      return { data: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), data]), what: 'meta: BOM' };
    case 'blank':
      return { data: Buffer.from(lines.join('\n\n\n')), what: 'meta: blank lines' };
    case 'huge':
      return { data: Buffer.from('x'.repeat(rng.pick([1000, 100_000])) + '\n'), what: 'meta: huge line' };
    case 'bad-utf8':
      return { data: Buffer.concat([data, Buffer.from([0xc3, 0x28, 0xff, 0x0a])]), what: 'meta: bad UTF-8' };
    default:
      return { data: Buffer.from([...lines, ...lines].join('\n')), what: 'meta: duplicate names' };
  }
}

function editRecords(rng: Prng, data: Buffer): { data: Buffer; what: string } {
  const records = Math.floor(data.length / RECORD);
  const kind = rng.pick(['label', 'size', 'empty', 'repeat']);
  if (kind === 'label' && records > 0) {
    const out = Buffer.from(data);
    const r = rng.int(records);
    out[r * RECORD] = rng.pick([9, 10, 11, 0x7f, 0x80, 0xff]);
    return { data: out, what: `label of record ${r}=${out[r * RECORD]}` };
  }
  if (kind === 'size') {
    const length = Math.max(0, records * RECORD + rng.pick([-1, 1, -RECORD, RECORD - 1, -3072]));
    return { data: Buffer.concat([data, Buffer.alloc(Math.max(0, length - data.length))]).subarray(0, length), what: `size ${length}` };
  }
  if (kind === 'empty') return { data: Buffer.alloc(0), what: 'empty' };
  return { data: Buffer.concat(Array<Buffer>(rng.range(2, 40)).fill(data)), what: 'records repeated' };
}

function mutate(rng: Prng, seeds: SeedCorpus): FuzzCase {
  const files: FuzzFile[] = [...seeds].map(([name, data]) => ({ name, data }));
  const log: string[] = [];
  const edits = rng.chance(0.85) ? 1 : 2;
  for (let e = 0; e < edits; e++) {
    const i = rng.weighted<number>([
      ...BINARY_FILES.map((name) => [name === 'test_batch.bin' ? 2 : 1.2, files.findIndex((f) => f.name === name)] as const),
      [2, files.findIndex((f) => f.name === BINARY_META_FILE)],
    ]);
    const file = files[i]!;
    const kind = rng.weighted<string>([
      [4, 'havoc'],
      [3, 'semantic'],
      [0.3, 'remove'],
      [0.2, 'folder'],
    ]);
    if (kind === 'remove') {
      files.splice(i, 1);
      log.push(`remove ${file.name}`);
      break;
    }
    if (kind === 'folder') {
      // A folder where a batch should be: reading it must fail cleanly.
      files[i] = { name: `${file.name}/inner`, data: file.data };
      log.push(`folder ${file.name}`);
      break;
    }
    const edited =
      kind === 'semantic'
        ? file.name === BINARY_META_FILE
          ? editMeta(rng, file.data)
          : editRecords(rng, file.data)
        : (({ data, log: steps }) => ({ data, what: steps.join(' ') }))(mutateBytes(rng, file.data, { focus: { start: 0, end: Math.min(file.data.length, 16) } }));
    files[i] = { name: file.name, data: edited.data };
    log.push(`${file.name}: ${edited.what}`);
  }
  return { files, params: { entry: rng.chance(0.9) ? 'read' : 'loadDataset' }, log };
}

async function run(caseDir: string, input: FuzzCase): Promise<void> {
  if (input.params.entry === 'loadDataset') {
    await loadDataset({ data: caseDir, cacheDir: path.join(caseDir, 'cache'), showProgress: false });
    return;
  }
  readBinaryFolder(caseDir);
}

export const cifarTarget: FuzzTarget = {
  name: 'cifar',
  expectedCodes: ['ERR_TORCHTS_DATA'],
  batchSize: 2500,
  makeSeeds,
  mutate,
  run,
};
