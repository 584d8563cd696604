// Streaming pipeline benchmark (issue 22): a folder of 224x224 JPEGs made
// from CIFAR-10 (upscaled 7x), read by torchts' StreamLoader and by
// PyTorch's usual pipeline (bench/stream_baseline.py: PIL decode +
// RandomResizedCrop + flip + normalise in a Dataset, DataLoader with
// workers), in one run: images/s of the stream alone, and feeding a
// ResNet-18 (imagenet stem) train step at 224x224; peak RSS of each side.
//
// Run: npx ts-node --transpile-only bench/stream.ts [archive]
// Needs Pillow in the reference Python (offline from the local wheels): .torch-venv/bin/pip install pillow
// Env: BENCH_STREAM_IMAGES (default 20000), BENCH_STREAM_DIR (default /tmp/torchts-stream-bench).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import * as tt from '../lib';
import { loadDataset } from '../lib/data';
import { StreamLoader } from '../lib/data/stream/loader';
import { runPythonBench } from './lib/python';
import { peakRssBytes } from './lib/rss';

const IMAGES = Number(process.env.BENCH_STREAM_IMAGES ?? 20000);
const ROOT = process.env.BENCH_STREAM_DIR ?? '/tmp/torchts-stream-bench';
const STREAM_BATCH = 64;
const STREAM_BATCHES = 60;
const STEP_BATCH = 32;
const STEPS = 6;
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** Writes IMAGES CIFAR-10 training images upscaled to 224x224 as JPEG (quality 90), once. */
/** `count` image indices taken from each class in turn: the archive lists CIFAR class by class, so its first 20,000 would be 4 classes. */
function roundRobinByClass(labels: ArrayLike<number>, classes: number, count: number): number[] {
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]!]!.push(i);
  const picked: number[] = [];
  for (let round = 0; picked.length < count; round++) {
    const before = picked.length;
    for (const indices of byClass) if (round < indices.length && picked.length < count) picked.push(indices[round]!);
    if (picked.length === before) throw new Error(`the archive holds fewer than ${count} training images`);
  }
  return picked;
}

async function makeFolder(archive: string): Promise<{ files: string[]; labels: number[] }> {
  const data = await loadDataset({ data: archive, showProgress: false });
  const { train, classNames } = data;
  const sources = roundRobinByClass(train.labels, classNames.length, IMAGES);
  const files = sources.map((i) => path.join(ROOT, 'train', classNames[train.labels[i]!]!, `${i}.jpg`));
  const labels = sources.map((i) => train.labels[i]!);
  const marker = path.join(ROOT, `complete-${IMAGES}-all-classes`);
  if (fs.existsSync(marker)) return { files, labels };
  for (const name of classNames) fs.mkdirSync(path.join(ROOT, 'train', name), { recursive: true });
  const frame = 32 * 32 * 3;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < IMAGES) {
      const n = next++;
      const i = sources[n]!;
      const pixels = train.images.subarray(i * frame, (i + 1) * frame);
      await sharp(pixels, { raw: { width: 32, height: 32, channels: 3 } }).resize(224, 224).jpeg({ quality: 90 }).toFile(files[n]!);
    }
  };
  await Promise.all(Array.from({ length: os.availableParallelism() }, worker));
  fs.writeFileSync(marker, '');
  return { files, labels };
}

function streamRate(files: string[], labels: number[]): { imagesPerSecond: number; firstBatchSeconds: number } {
  const started = performance.now();
  const loader = new StreamLoader({ files, labels, classNames: [] }, {
    batchSize: STREAM_BATCH, targetSize: [224, 224], transform: 'random-resized-crop', augment: { flip: true }, mean: MEAN, std: STD, shuffle: true, seed: 1,
  });
  try {
    tt.scope(() => loader.batch(0, 0).images.shape[0]);
    const firstBatchSeconds = (performance.now() - started) / 1000;
    const start = performance.now();
    let images = 0;
    for (let index = 1; index <= STREAM_BATCHES; index++) images += tt.scope(() => loader.batch(0, index).images.shape[0]!);
    return { imagesPerSecond: images / ((performance.now() - start) / 1000), firstBatchSeconds };
  } finally {
    loader.dispose();
  }
}

function fedStepRate(files: string[], labels: number[]): number {
  const loader = new StreamLoader({ files, labels, classNames: [] }, {
    batchSize: STEP_BATCH, targetSize: [224, 224], transform: 'random-resized-crop', augment: { flip: true }, mean: MEAN, std: STD, shuffle: true, seed: 2,
  });
  tt.manualSeed(0);
  const model = tt.resnet18({ numClasses: 10 });
  const opt = new tt.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  model.train();
  const step = (index: number): void =>
    tt.scope(() => {
      const batch = loader.batch(0, index);
      opt.zeroGrad();
      tt.F.crossEntropy(model.forward(batch.images), batch.labels).backward();
      opt.step();
    });
  try {
    step(0); // warm-up
    const start = performance.now();
    for (let index = 1; index <= STEPS; index++) step(index);
    return (STEPS * STEP_BATCH) / ((performance.now() - start) / 1000);
  } finally {
    opt.dispose();
    model.dispose();
    loader.dispose();
  }
}

async function main(): Promise<void> {
  const archive = process.argv[2] ?? path.join(__dirname, '..', '..', 'shared', 'data', 'cifar10-jpg.tar.gz');
  const { files, labels } = await makeFolder(archive);
  tt.setNumThreads(os.availableParallelism());
  const rssBefore = peakRssBytes();
  const stream = streamRate(files, labels);
  const rssStream = peakRssBytes();
  const fed = fedStepRate(files, labels);
  const python = runPythonBench<Record<string, number>>('stream_baseline.py', [path.join(ROOT, 'train'), JSON.stringify({ batch: STREAM_BATCH, batches: STREAM_BATCHES, stepBatch: STEP_BATCH, steps: STEPS, workers: os.availableParallelism() })]);
  const result = {
    images: IMAGES,
    decodedGB: (IMAGES * 224 * 224 * 3) / 1e9,
    torchts: { streamImagesPerSecond: stream.imagesPerSecond, firstBatchSeconds: stream.firstBatchSeconds, fedStepImagesPerSecond: fed, peakRssMB: peakRssBytes() / 1e6, peakRssBeforeMB: rssBefore / 1e6, peakRssAfterStreamMB: rssStream / 1e6 },
    python,
  };
  console.log(JSON.stringify(result, null, 1));
}

void main();
