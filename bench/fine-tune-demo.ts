// Fine-tuning, shown end to end: a small 5-class image folder made from
// CIFAR-10 test images (100 train + 100 test per class, images the
// pretrained model never trained on), then ResNet-18 trained on it twice
// with the same recipe: from random init, and from a PyTorch .pt state dict
// with a new 5-class head (train({ weights })). Prints both test accuracies.
//
//   npx ts-node --transpile-only bench/fine-tune-demo.ts --weights pretrained.pt [--data ../shared/data/cifar10-jpg.tar.gz]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadDataset, type ImageSet } from '../lib/data';
import { train, type TrainOptions } from '../lib/train/trainer';

const CLASSES = 5;
const PER_CLASS = { train: 100, test: 100 };

async function writeFolder(source: ImageSet, root: string): Promise<void> {
  const taken = new Array<number>(CLASSES).fill(0);
  const frame = source.height * source.width * 3;
  for (let i = 0; i < source.count; i++) {
    const label = source.labels[i]!;
    if (label >= CLASSES || taken[label]! >= PER_CLASS.train + PER_CLASS.test) continue;
    const split = taken[label]! < PER_CLASS.train ? 'train' : 'test';
    taken[label]! += 1;
    const dir = path.join(root, split, source.classNames[label]!);
    fs.mkdirSync(dir, { recursive: true });
    const pixels = Buffer.from(source.images.subarray(i * frame, (i + 1) * frame));
    await sharp(pixels, { raw: { width: source.width, height: source.height, channels: 3 } }).png().toFile(path.join(dir, `${i}.png`));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      weights: { type: 'string' },
      data: { type: 'string', default: path.join(__dirname, '..', '..', 'shared', 'data', 'cifar10-jpg.tar.gz') },
      epochs: { type: 'string', default: '6' },
    },
  });
  if (values.weights === undefined) throw new Error('--weights <file.pt> is required');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-fine-tune-'));
  try {
    const cifar = await loadDataset({ data: values.data, showProgress: false });
    const folder = path.join(work, 'five-classes');
    await writeFolder(cifar.test, folder);
    const recipe: TrainOptions = {
      model: 'resnet18',
      data: folder,
      cacheDir: path.join(work, 'cache'),
      targetSize: [64, 64],
      valFraction: 0,
      epochs: Number(values.epochs),
      batchSize: 50,
      lr: 0.05,
      augment: { crop: { padding: 8, mode: 'reflect' }, flip: true },
      device: 'cpu',
      progress: false,
      plots: false,
      handleSigint: false,
    };
    const scratch = await train({ ...recipe, runDir: path.join(work, 'scratch') });
    const tuned = await train({ ...recipe, runDir: path.join(work, 'tuned'), weights: values.weights, backboneLrScale: 0.1 });
    const show = (label: string, result: typeof scratch) =>
      `${label}: test accuracy ${(100 * result.test!.accuracy).toFixed(1)}% on ${result.test!.count} images (${result.seconds.toFixed(0)} s)`;
    process.stdout.write(`${tuned.notes.join('\n')}\n${show('from random init', scratch)}\n${show('from the .pt weights, new 5-class head, backbone lr x0.1', tuned)}\n`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
