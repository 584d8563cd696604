// Fine-tuning through train() on a 224x224 image folder with the streaming
// path (stream.mode 'on'), RSS sampled after every step and summed up per
// epoch: it must stay flat from one epoch to the next (the first epoch and
// the first validation grow the allocator's pools once).
// The folder is bench/stream.ts' (CIFAR-10 upscaled to 224x224 JPEGs):
// a train/ and test/ split of it is linked into a new folder.
//
//   npx ts-node --transpile-only bench/stream-fine-tune.ts --weights run/best.safetensors [--train 1600] [--test 400] [--epochs 2]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { train } from '../lib/train/trainer';

const { values } = parseArgs({ options: { weights: { type: 'string' }, train: { type: 'string' }, test: { type: 'string' }, epochs: { type: 'string' }, source: { type: 'string' } } });
const source = values.source ?? '/tmp/torchts-stream-bench/train';
const root = '/tmp/torchts-stream-fine-tune';
const counts = { train: Number(values.train ?? 1600), test: Number(values.test ?? 400) };

function linkFolder(): void {
  fs.rmSync(root, { recursive: true, force: true });
  const classes = fs.readdirSync(source).sort();
  const perClass = classes.map((name) => fs.readdirSync(path.join(source, name)).sort().map((file) => [name, file] as const));
  // Round-robin over the classes, so every split has them all.
  const files = Array.from({ length: Math.max(...perClass.map((list) => list.length)) }, (_, i) => perClass.flatMap((list) => (i < list.length ? [list[i]!] : []))).flat();
  let at = 0;
  for (const split of ['train', 'test'] as const) {
    for (let i = 0; i < counts[split]; i++, at++) {
      const [name, file] = files[at]!;
      fs.mkdirSync(path.join(root, split, name), { recursive: true });
      fs.symlinkSync(path.join(source, name, file), path.join(root, split, name, file));
    }
  }
}

async function main(): Promise<void> {
  linkFolder();
  const rss: number[][] = [];
  const result = await train({
    data: root,
    targetSize: [224, 224],
    model: 'resnet18',
    ...(values.weights === undefined ? {} : { weights: values.weights }),
    stream: { mode: 'on', trainTransform: 'random-resized-crop', evalTransform: 'center-crop' },
    augment: { flip: true },
    epochs: Number(values.epochs ?? 2),
    batchSize: 32,
    evalBatchSize: 50,
    optimizer: 'sgd',
    lr: 0.01,
    schedule: 'cosine',
    valFraction: 0.1,
    tta: false,
    plots: false,
    runDir: path.join(root, 'run'),
    callbacks: [{ onBatchEnd: (logs) => void (rss[logs.epoch - 1] ??= []).push(process.memoryUsage.rss()) }],
  });
  const mb = (bytes: number) => Math.round(bytes / 1e6);
  const rssPerEpochMB = rss.map((epoch) => ({ first: mb(epoch[0]!), min: mb(Math.min(...epoch)), max: mb(Math.max(...epoch)), last: mb(epoch.at(-1)!) }));
  const { test } = result;
  console.log(JSON.stringify({ test: test && { accuracy: test.accuracy, correct: test.correct, count: test.count }, epochs: result.history.map((h) => ({ trainLoss: h.trainLoss, valAccuracy: h.valAccuracy, seconds: h.seconds })), rssPerEpochMB }));
}

void main();
