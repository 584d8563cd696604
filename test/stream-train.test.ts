// train() on a streamed image folder: the same run, step for step, as the
// in-memory path on the same folder; chosen by the memory budget; a corrupt
// file skipped with a warning; resumable.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { train, type TrainOptions } from '../lib/train/trainer';
import { decideStreaming } from '../lib/train/stream-data';
import { resolveConfig } from '../lib/train/config';
import { colourSet } from './helpers/synthetic';

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

t.test('a streamed run is the in-memory run, step for step', async (t) => {
  const inMemory = await train(options('memory', { stream: { mode: 'off' } }));
  const streamed = await train(options('streamed', { stream: { mode: 'on', workers: 2, prefetch: 3 } }));
  const record = (h: { trainLoss: number; valLoss?: number; valAccuracy?: number }) => [h.trainLoss, h.valLoss, h.valAccuracy];
  t.same(streamed.history.map(record), inMemory.history.map(record), 'same losses and validation, to the bit');
  t.equal(streamed.test?.correct, inMemory.test?.correct, 'and the same test result');
});

t.test('auto streams only past the memory budget, and says so', (t) => {
  // 90 images of 32x32x3 = 276,480 bytes decoded.
  t.equal(decideStreaming(resolveConfig({ data, stream: { memoryBudget: 300_000 } })), null, 'under the budget: in memory');
  const decision = decideStreaming(resolveConfig({ data, stream: { memoryBudget: 200_000 } }));
  t.equal(decision?.decodedBytes, 276_480, 'over it: streamed');
  t.throws(() => resolveConfig({ stream: { mode: 'sometimes' as never } }), /stream\.mode must be one of auto, on, off/);
  t.throws(() => resolveConfig({ stream: { budget: 1 } as never }), /unknown stream option 'budget'/);
  t.throws(() => decideStreaming(resolveConfig({ data: path.join(root, 'x.tar.gz'), stream: { mode: 'on' } })), /needs an image folder/);
  t.end();
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
