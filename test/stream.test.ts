// The streaming loader: image files decoded batch by batch in worker
// threads. Checked against the in-memory decode path, for its seeded order,
// random access, corrupt files (skipped and reported, or an error naming
// the file) and its crops.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import * as tt from '../lib';
import { decodeImages } from '../lib/data/decode';
import { Rng } from '../lib/data/rng';
import { StreamLoader, type StreamLoaderOptions } from '../lib/data/stream/loader';
import { randomCropBox } from '../lib/data/stream/transforms';
import { DataError } from '../lib/data/errors';
import { COLOURS, random } from './helpers/synthetic';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-stream-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const CLASSES = 3;
const PER_CLASS = 9;

/** Noisy single-colour images of several sizes and formats; label = colour. */
async function writeImages(): Promise<{ files: string[]; labels: number[] }> {
  const files: string[] = [];
  const labels: number[] = [];
  const next = random(5);
  for (let label = 0; label < CLASSES; label++) {
    for (let i = 0; i < PER_CLASS; i++) {
      const [width, height] = [[40, 30], [24, 48], [32, 32]][i % 3]!;
      const pixels = Buffer.alloc(width * height * 3);
      for (let p = 0; p < width * height; p++) {
        for (let c = 0; c < 3; c++) pixels[3 * p + c] = Math.max(0, Math.min(255, COLOURS[label]![c]! + Math.round((next() - 0.5) * 60)));
      }
      const file = path.join(dir, `${label}-${i}.${i % 2 === 0 ? 'png' : 'jpg'}`);
      const image = sharp(pixels, { raw: { width, height, channels: 3 } });
      await (i % 2 === 0 ? image.png() : image.jpeg({ quality: 95 })).toFile(file);
      files.push(file);
      labels.push(label);
    }
  }
  return { files, labels };
}

function loader(items: { files: string[]; labels: number[] }, options: Partial<StreamLoaderOptions> = {}): StreamLoader {
  return new StreamLoader({ ...items, classNames: ['red', 'green', 'blue'] }, { batchSize: 4, targetSize: [16, 16], workers: 2, prefetch: 3, ...options });
}

/** Every batch of an epoch as plain arrays: pixels in [0, 1] NCHW, and labels. */
function epochOf(stream: StreamLoader, epoch: number): { images: Float32Array[]; labels: number[] } {
  const images: Float32Array[] = [];
  const labels: number[] = [];
  for (let index = 0; index < stream.numBatches; index++) {
    tt.scope(() => {
      const batch = stream.batch(epoch, index);
      images.push(batch.images.dataSync() as Float32Array);
      labels.push(...Array.from(batch.labels.dataSync() as BigInt64Array, Number));
    });
  }
  return { images, labels };
}

t.test('streams the same pixels as the in-memory decode, in order', async (t) => {
  const items = await writeImages();
  const stream = loader(items);
  t.teardown(() => stream.dispose());
  const { images, labels } = epochOf(stream, 0);
  t.same(labels, items.labels, 'unshuffled: the files in order, with their labels');
  const expected = await decodeImages(items.files, { targetSize: [16, 16] });
  let worst = 0;
  let at = 0;
  for (const batch of images) {
    const count = batch.length / (3 * 16 * 16);
    for (let n = 0; n < count; n++, at++) {
      for (let c = 0; c < 3; c++) {
        for (let p = 0; p < 256; p++) worst = Math.max(worst, Math.abs(batch[(n * 3 + c) * 256 + p]! - expected[(at * 256 + p) * 3 + c]! / 255));
      }
    }
  }
  t.equal(at, items.files.length);
  t.ok(worst < 1e-6, `pixels equal the in-memory path's (worst ${worst})`);
});

t.test('a seeded order per epoch, the same by random access and from another loader', async (t) => {
  const items = await writeImages();
  const a = loader(items, { shuffle: true, seed: 7 });
  const b = loader(items, { shuffle: true, seed: 7, workers: 1, prefetch: 1 });
  t.teardown(() => (a.dispose(), b.dispose()));
  const first = epochOf(a, 0);
  const second = epochOf(a, 1);
  t.same([...first.labels].sort(), [...items.labels].sort(), 'every image once');
  t.not(first.labels.join(), second.labels.join(), 'another order in the next epoch');
  t.same(epochOf(b, 1).labels, second.labels, 'another loader (1 worker, 1 slot) serves the same epoch');
  // Random access, as a resumed run asks: batch 3 of epoch 0, then batch 1.
  const label = (stream: StreamLoader, epoch: number, index: number) => tt.scope(() => Array.from(stream.batch(epoch, index).labels.dataSync() as BigInt64Array, Number));
  t.same(label(b, 0, 3), first.labels.slice(12, 16));
  t.same(label(b, 0, 1), first.labels.slice(4, 8));
});

t.test("distributed: each rank streams its shard of the epoch's order, by DistributedSampler's rule", async (t) => {
  const items = await writeImages();
  const whole = loader(items, { shuffle: true, seed: 7 });
  const ranks = [0, 1].map((rank) => loader(items, { shuffle: true, seed: 7, shard: { rank, worldSize: 2 } }));
  t.teardown(() => [whole, ...ranks].forEach((stream) => stream.dispose()));
  const order = epochOf(whole, 2).labels;
  for (const [rank, stream] of ranks.entries()) {
    t.equal(stream.samplesPerEpoch, 14, `rank ${rank}: 27 images padded to 28, half each`);
    const expected = Array.from({ length: 14 }, (_, i) => order[(rank + i * 2) % order.length]);
    t.same(epochOf(stream, 2).labels, expected, `rank ${rank} takes every 2nd image of the epoch's order from ${rank} on`);
  }
  t.throws(() => loader(items, { shard: { rank: 2, worldSize: 2 } }), /StreamLoader shard: rank must be in 0\.\.1/);
});

t.test('a corrupt file is skipped and reported once, or is an error naming it', async (t) => {
  const items = await writeImages();
  const corrupt = path.join(dir, 'corrupt.jpg');
  fs.writeFileSync(corrupt, Buffer.concat([fs.readFileSync(items.files[1]!).subarray(0, 40), Buffer.alloc(64, 7)]));
  const withBad = { files: [...items.files.slice(0, 5), corrupt, ...items.files.slice(5)], labels: [...items.labels.slice(0, 5), 0, ...items.labels.slice(5)] };
  const skipped: string[] = [];
  const skipping = loader(withBad, { onSkip: (message) => skipped.push(message) });
  t.teardown(() => skipping.dispose());
  for (const epoch of [0, 1]) t.equal(epochOf(skipping, epoch).labels.length, items.files.length, `epoch ${epoch}: all but the corrupt file`);
  t.equal(skipping.skippedCount, 2, 'counted in both epochs');
  t.equal(skipped.length, 1, 'reported once');
  t.match(skipped[0], `${corrupt}: `);

  const strict = loader(withBad, { onCorrupt: 'error' });
  t.teardown(() => strict.dispose());
  tt.scope(() => strict.batch(0, 0));
  let caught: unknown;
  try {
    strict.batch(0, 1);
  } catch (error) {
    caught = error;
  }
  t.ok(caught instanceof DataError, `a DataError: ${String(caught)}`);
  t.equal((caught as DataError).file, corrupt, 'naming the file');
  t.match((caught as Error).message, /cannot decode image/);
  t.ok(tt.scope(() => strict.batch(0, 2).labels.shape[0] === 4), 'and the next batches still come');
});

t.test('random resized crops: seeded, within the image, and per epoch', async (t) => {
  const rng = new Rng(3);
  for (let i = 0; i < 200; i++) {
    const box = randomCropBox(rng, 40, 30, { scale: [0.08, 1], ratio: [3 / 4, 4 / 3] });
    if (!(box.left >= 0 && box.top >= 0 && box.left + box.width <= 40 && box.top + box.height <= 30 && box.width > 0 && box.height > 0)) {
      t.fail(`box ${JSON.stringify(box)} leaves the 40x30 image`);
    }
  }
  t.same(randomCropBox(new Rng(1), 40, 30, { scale: [2, 2], ratio: [1, 1] }), { left: 5, top: 0, width: 30, height: 30 }, 'no fit: the centre crop at the nearest ratio');
  const items = await writeImages();
  const options = { transform: 'random-resized-crop', shuffle: true, seed: 2 } as const;
  const a = loader(items, options);
  const b = loader(items, { ...options, workers: 1 });
  t.teardown(() => (a.dispose(), b.dispose()));
  const epoch0 = epochOf(a, 0).images;
  t.same(epochOf(b, 0).images, epoch0, 'the same crops from another loader with another worker count');
  t.not(Buffer.from(epochOf(a, 1).images[0]!.buffer).equals(Buffer.from(epoch0[0]!.buffer)), true, 'other crops in another epoch');
  const center = loader(items, { transform: 'center-crop', resizeShorter: 20 });
  t.teardown(() => center.dispose());
  t.same(tt.scope(() => center.batch(0, 0).images.shape), [4, 3, 16, 16], 'center-crop gives the target size');
});

t.test('bad options are clear errors', (t) => {
  const items = { files: ['a.jpg'], labels: [0], classNames: ['a'] };
  t.throws(() => new StreamLoader(items, { batchSize: 0, targetSize: [8, 8] }), /batchSize must be a positive integer/);
  t.throws(() => new StreamLoader(items, { batchSize: 1, targetSize: [8, 0] as unknown as [number, number] }), /targetSize must be/);
  t.throws(() => new StreamLoader(items, { batchSize: 1, targetSize: [8, 8], transform: 'zoom' as never }), /transform must be/);
  t.throws(() => new StreamLoader(items, { batchSize: 1, targetSize: [8, 8], resizeShorter: 4 }), /resizeShorter must be/);
  t.throws(() => new StreamLoader(items, { batchSize: 1, targetSize: [8, 8], crop: { scale: [0.5, 2] } }), /crop\.scale/);
  t.throws(() => new StreamLoader({ ...items, labels: [] }, { batchSize: 1, targetSize: [8, 8] }), /0 labels for 1 files/);
  t.end();
});

t.test('memory is bounded by the prefetch depth, not by the data set', async (t) => {
  // 2,400 images of 224x224: 361 MB decoded; 4 slots of 16 hold 9.6 MB. The rest of the
  // growth is batches the GC has not collected yet and the workers' malloc arenas (26-46 MB here).
  const folder = path.join(dir, 'large');
  fs.mkdirSync(folder);
  const variants: Buffer[] = [];
  for (let v = 0; v < 4; v++) {
    const pixels = Buffer.alloc(224 * 224 * 3);
    for (let p = 0; p < 224 * 224; p++) for (let c = 0; c < 3; c++) pixels[3 * p + c] = (p % 224) * (c + 1 + v) + Math.floor(p / 224) * (3 - c);
    variants.push(await sharp(pixels, { raw: { width: 224, height: 224, channels: 3 } }).jpeg({ quality: 80 }).toBuffer());
  }
  const files = Array.from({ length: 2400 }, (_, i) => {
    const file = path.join(folder, `${i}.jpg`);
    fs.writeFileSync(file, variants[i % 4]!);
    return file;
  });
  const stream = new StreamLoader({ files, labels: files.map((_, i) => i % 4), classNames: ['a', 'b', 'c', 'd'] }, { batchSize: 16, targetSize: [224, 224], workers: 2, prefetch: 4, shuffle: true });
  t.teardown(() => stream.dispose());
  const rss: number[] = [];
  let images = 0;
  for (let index = 0; index < stream.numBatches; index++) {
    images += tt.scope(() => stream.batch(0, index).images.shape[0]!);
    rss.push(process.memoryUsage.rss());
  }
  t.equal(images, 2400);
  const warm = rss[4]!;
  const growth = Math.max(...rss) - warm;
  t.ok(growth < 120e6, `RSS grew ${(growth / 1e6).toFixed(1)} MB over the epoch after warm-up (the decoded set is 361 MB)`);
});
