// A training epoch end to end from ../shared/data/cifar10-jpg.tar.gz
// (cached decode), imagenet stem, batch 128, fp32: our device-side pipeline
// vs the usual PyTorch one (PIL + transforms in a DataLoader with 2 workers)
// feeding the same model and optimizer. Images/s, higher is better.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar';
import * as tt from '../lib';
import { channelStats, DeviceLoader, loadDataset } from '../lib/data';
import { runPythonBench } from './lib/python';

export interface EpochBenchResult {
  torchts: number;
  pytorch: number;
  ratio: number;
  batches: number;
}

function torchtsEpoch(archive: string, cacheDir: string, batches: number, threads: number): Promise<number> {
  return loadDataset({ data: archive, cacheDir, showProgress: false }).then((data) => {
    tt.setNumThreads(threads);
    tt.manualSeed(0);
    const stats = channelStats(data.train);
    const loader = new DeviceLoader(data.train, { batchSize: 128, device: 'cpu', shuffle: true, dropLast: true, seed: 0, mean: stats.mean, std: stats.std, augment: { crop: { padding: 4, mode: 'zeros' }, flip: true } });
    const model = tt.resnet18({ numClasses: 10 });
    const opt = new tt.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
    const total = batches > 0 ? Math.min(batches, loader.numBatches) : loader.numBatches;
    const start = process.hrtime.bigint();
    for (let i = 0; i < total; i++) {
      tt.scope(() => {
        const batch = loader.batch(0, i);
        opt.zeroGrad();
        tt.F.crossEntropy(model.forward(batch.images), batch.labels, { labelSmoothing: 0.1 }).backward();
        opt.step();
      });
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    loader.dispose();
    model.dispose();
    opt.dispose();
    return (total * 128) / seconds;
  });
}

export async function runEpochBench(options: { archive?: string; batches?: number; threads?: number } = {}): Promise<EpochBenchResult> {
  const archive = path.resolve(options.archive ?? path.join(__dirname, '..', '..', 'shared', 'data', 'cifar10-jpg.tar.gz'));
  if (!fs.existsSync(archive)) throw new Error(`${archive} not found`);
  const batches = options.batches ?? 0;
  const threads = options.threads ?? 2;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-epoch-'));
  try {
    const cacheDir = path.join(work, 'cache');
    await loadDataset({ data: archive, cacheDir, showProgress: false }); // decode once: the epoch is measured cached
    const ours = await torchtsEpoch(archive, cacheDir, batches, threads);
    await tar.x({ file: archive, cwd: work });
    const trainRoot = path.join(work, fs.readdirSync(work).find((name) => name !== 'cache')!, 'train');
    const theirs = runPythonBench<{ imagesPerSecond: number }>('epoch_baseline.py', [trainRoot, JSON.stringify({ batch: 128, batches, threads })]);
    return { torchts: ours, pytorch: theirs.imagesPerSecond, ratio: ours / theirs.imagesPerSecond, batches };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const batches = Number(process.env.BENCH_BATCHES ?? 0);
  runEpochBench({ archive: process.argv[2], batches }).then((r) => {
    console.log(`epoch end to end (${r.batches || 'all'} batches of 128): torchts ${r.torchts.toFixed(0)} img/s, PyTorch DataLoader pipeline ${r.pytorch.toFixed(0)} img/s, ratio ${r.ratio.toFixed(2)}`);
  });
}
