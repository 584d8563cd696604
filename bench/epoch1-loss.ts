// The first epoch of a preset (or the first few), stopped by a callback,
// with its train loss to the last bit: run before and after a change to the
// trainer to show that a preset's behaviour did not change (same seed, same
// machine, same threads), or with one change to the preset (model,
// optimizer, lr, momentum, images upscaled in the model) to see which change
// moves the first epochs. One JSON line per epoch on stdout.
//
//   npx ts-node --transpile-only bench/epoch1-loss.ts [--preset cpu] [--data ../shared/data/cifar10-jpg.tar.gz]
//     [--model resnet18-keras] [--optimizer sgd] [--lr 0.01] [--momentum 0] [--upscale 7] [--threads 2]
//     [--epochs 1] [--run-dir <dir>: kept, and continued if it holds a run (an epoch at 224x224 takes an hour here)]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { train, type TrainOptions } from '../lib/train/trainer';
import type { OptimizerName, PresetName } from '../lib/train/config';
import { modelSource } from '../lib/train/models';
import { resolveConfig } from '../lib/train/config';
import { NearestUpscale, parseUpscale } from './lib/nearest-upscale';

type Overrides = Partial<Pick<TrainOptions, 'optimizer' | 'lr' | 'momentum' | 'nesterov' | 'threads'>>;

/** The preset's settings with the flags given on the command line instead. */
function overrides(values: Record<string, string | undefined>): Overrides {
  const options: Overrides = {};
  if (values.optimizer !== undefined) options.optimizer = values.optimizer as OptimizerName;
  if (values.lr !== undefined) options.lr = Number(values.lr);
  if (values.momentum !== undefined) {
    options.momentum = Number(values.momentum);
    if (options.momentum === 0) options.nesterov = false;
  }
  if (values.threads !== undefined) options.threads = Number(values.threads);
  return options;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      preset: { type: 'string', default: 'cpu' },
      data: { type: 'string', default: path.join(__dirname, '..', '..', 'shared', 'data', 'cifar10-jpg.tar.gz') },
      model: { type: 'string' },
      optimizer: { type: 'string' },
      lr: { type: 'string' },
      momentum: { type: 'string' },
      upscale: { type: 'string' },
      threads: { type: 'string' },
      epochs: { type: 'string', default: '1' },
      'run-dir': { type: 'string' },
    },
  });
  const preset = values.preset as PresetName;
  const changes = overrides(values);
  const modelName = values.model ?? resolveConfig({ preset }).model;
  const upscale = parseUpscale(values.upscale);
  const epochs = Number(values.epochs);
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`--epochs must be a positive integer, got ${values.epochs}`);
  const keep = values['run-dir'] !== undefined;
  const runDir = keep ? path.resolve(values['run-dir']!) : fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-epoch1-'));
  const resume = fs.existsSync(path.join(runDir, 'last.safetensors'));
  const run = { preset, model: modelName, upscale, ...changes };
  try {
    await train({
      // A continued run keeps its recipe; only the threads may change.
      ...(resume ? { resume: runDir, threads: changes.threads } : { preset, ...changes, data: values.data, runDir, plots: false, tta: false }),
      model: upscale === 1 ? modelName : (numClasses: number) => new NearestUpscale(modelSource(modelName, resolveConfig({ preset, ...changes })).create(numClasses), upscale),
      progress: false,
      callbacks: [
        {
          // A line every 200 steps on stderr: an epoch at 224x224 takes an hour here.
          onBatchEnd(logs) {
            if (logs.batch % 200 !== 0) return;
            const { loss, accuracy } = logs.metrics();
            process.stderr.write(`epoch ${logs.epoch} step ${logs.batch}/${logs.batches} ${logs.elapsed.toFixed(0)} s running loss ${loss.toFixed(4)} accuracy ${accuracy.toFixed(4)}\n`);
          },
          onEpochEnd(logs, context) {
            const { epoch, trainLoss, trainAccuracy, valLoss, valAccuracy, lr, seconds } = logs;
            process.stdout.write(`${JSON.stringify({ run, epoch, trainLoss: trainLoss.toPrecision(17), trainAccuracy, valLoss, valAccuracy, lr, seconds: Number(seconds.toFixed(1)) })}\n`);
            if (epoch < epochs) return;
            context.stopTraining = true;
            context.stopReason = `bench/epoch1-loss.ts stops after epoch ${epoch}`;
          },
        },
      ],
    });
  } finally {
    if (!keep) fs.rmSync(runDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
