// train() on a streamed image folder: the same run, step for step, as the
// in-memory path on the same folder; chosen by the memory budget; a corrupt
// file skipped with a warning; resumable.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { train, type TrainOptions, type TrainResult } from '../lib/train/trainer';
import { decideStreaming } from '../lib/train/stream-data';
import { evaluateCheckpoint } from '../lib/train/predict';
import { resolveConfig } from '../lib/train/config';
import { colourSet } from './helpers/synthetic';
import { randomImageSet, writeBinaryFolder, writeTarGz } from './helpers/data-fixtures';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-stream-train-'));
t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
const CLASSES = ['red', 'green', 'blue'];

async function writeFolder(dir: string): Promise<void> {
  for (const [split, count, seed] of [['train', 72, 1], ['test', 18, 2]] as const) {
    const set = colourSet(count, { seed, size: 32 });
    for (let i = 0; i < count; i++) {
      const folder = path.join(dir, split, CLASSES[set.labels[i]!]!);
      fs.mkdirSync(folder, { recursive: true });
      const pixels = Buffer.from(set.images.subarray(i * 32 * 32 * 3, (i + 1) * 32 * 32 * 3));
      await sharp(pixels, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(path.join(folder, `${i}.png`));
    }
  }
}

const data = path.join(root, 'colours');

function options(name: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    data,
    cacheDir: path.join(root, 'cache'),
    runDir: path.join(root, name),
    epochs: 2,
    batchSize: 8,
    evalBatchSize: 16,
    lr: 0.05,
    valFraction: 0.25,
    augment: { crop: { padding: 2, mode: 'reflect' }, flip: true },
    tta: false,
    threads: 2,
    device: 'cpu',
    progress: false,
    plots: false,
    seed: 3,
    handleSigint: false,
    ...extra,
  };
}

t.before(() => writeFolder(data));

let inMemory: Promise<TrainResult> | undefined;
const inMemoryRun = (): Promise<TrainResult> => (inMemory ??= train(options('memory', { stream: { mode: 'off' } })));
const record = (h: { trainLoss: number; valLoss?: number; valAccuracy?: number }) => [h.trainLoss, h.valLoss, h.valAccuracy];

t.test('a streamed run is the in-memory run, step for step', async (t) => {
  const streamed = await train(options('streamed', { stream: { mode: 'on', workers: 2, prefetch: 3 } }));
  const memory = await inMemoryRun();
  t.same(streamed.history.map(record), memory.history.map(record), 'same losses and validation, to the bit');
  t.equal(streamed.test?.correct, memory.test?.correct, 'and the same test result');
});

t.test('auto streams only past the memory budget, and says so', async (t) => {
  // 90 images of 32x32x3 = 276,480 bytes decoded.
  t.equal(await decideStreaming(resolveConfig({ data, stream: { memoryBudget: 300_000 } })), null, 'under the budget: in memory');
  const decision = await decideStreaming(resolveConfig({ data, stream: { memoryBudget: 200_000 } }));
  t.equal(decision?.decodedBytes, 276_480, 'over it: streamed');
  t.throws(() => resolveConfig({ stream: { mode: 'sometimes' as never } }), /stream\.mode must be one of auto, on, off/);
  t.throws(() => resolveConfig({ stream: { budget: 1 } as never }), /unknown stream option 'budget'/);
  await t.rejects(decideStreaming(resolveConfig({ data: path.join(root, 'x.tar.gz'), stream: { mode: 'on' } })), /needs an image folder .* or an archive of one/);
});

t.test('an archive streams from a pack of its encoded images, made once: the same run as in memory', async (t) => {
  const archive = writeTarGz(path.join(root, 'colours.tar.gz'), root, ['colours']);
  const cacheDir = path.join(root, 'archive-cache');
  const config = (memoryBudget: number) => resolveConfig({ data: archive, cacheDir, stream: { memoryBudget } });
  t.equal(await decideStreaming(config(300_000)), null, 'under the budget: in memory, and nothing copied');
  t.same(fs.readdirSync(path.join(cacheDir, 'stream')).filter((name) => name.endsWith('.pack')), [], 'only the listing was kept');
  const decision = await decideStreaming(config(200_000));
  t.equal(decision?.decodedBytes, 276_480, 'over it: streamed');
  const pack = decision!.pack!.file;
  const packBytes = fs.statSync(pack).size;
  const encodedBytes = ['train', 'test'].flatMap((split) => CLASSES.flatMap((name) => fs.readdirSync(path.join(data, split, name)).map((file) => fs.statSync(path.join(data, split, name, file)).size)));
  t.equal(packBytes, encodedBytes.reduce((a, b) => a + b, 0), 'the pack holds the encoded files, byte for byte');

  const before = fs.statSync(pack).mtimeMs;
  const streamed = await train(options('archive-streamed', { data: archive, cacheDir, stream: { mode: 'on', workers: 2 } }));
  t.equal(fs.statSync(pack).mtimeMs, before, 'the pack was reused, not copied again');
  const memory = await inMemoryRun();
  t.same(streamed.history.map(record), memory.history.map(record), 'same losses and validation as the in-memory run of the folder, to the bit');
  t.equal(streamed.test?.correct, memory.test?.correct, 'and the same test result');
  const evaluated = await evaluateCheckpoint(streamed.runDir, { device: 'cpu' });
  evaluated.loaded.model.dispose();
  t.same([evaluated.result.correct, evaluated.result.loss], [streamed.test?.correct, streamed.test?.loss], 'evaluating the checkpoint gives the same test result');
  t.notOk(fs.existsSync(path.join(cacheDir, 'decoded')), 'streamed, as the run did: nothing was decoded into the decode cache');

  fs.truncateSync(pack, packBytes - 10);
  const again = await decideStreaming(config(200_000));
  t.equal(fs.statSync(again!.pack!.file).size, packBytes, 'a damaged pack is noticed and made again');
});

t.test("stream 'on' refuses what cannot stream, in one line", async (t) => {
  const binaryArchive = path.join(root, 'binary.tar.gz');
  const parent = path.join(root, 'binary-parent');
  const set = randomImageSet(4, 32, 32, ['a', 'b']);
  writeBinaryFolder(parent, set, set);
  writeTarGz(binaryArchive, parent, ['cifar-10-batches-bin']);
  await t.rejects(decideStreaming(resolveConfig({ data: binaryArchive, cacheDir: path.join(root, 'binary-cache'), stream: { mode: 'on' } })), /holds CIFAR-10's binary batches, which decode in memory/);
  t.equal(await decideStreaming(resolveConfig({ data: binaryArchive, cacheDir: path.join(root, 'binary-cache'), stream: { memoryBudget: 1 } })), null, "'auto' decodes it in memory");
});

t.test('a corrupt training file is skipped with one warning; the run finishes', async (t) => {
  const bad = path.join(root, 'with-corrupt');
  fs.cpSync(data, bad, { recursive: true });
  fs.writeFileSync(path.join(bad, 'train', 'red', 'broken.png'), Buffer.from('not a png at all'));
  const warnings: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    warnings.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    const result = await train(options('corrupt', { data: bad, stream: { mode: 'on', workers: 1 }, valFraction: 0 }));
    t.equal(result.history.length, 2, 'both epochs');
  } finally {
    process.stderr.write = write;
  }
  const skipped = warnings.filter((line) => line.includes('broken.png'));
  t.equal(skipped.length, 1, `warned once: ${skipped.join('')}`);
  t.match(skipped[0], /warning: skipped .*broken\.png: /);
});
