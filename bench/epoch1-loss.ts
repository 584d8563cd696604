// The first epoch of a preset, stopped by a callback, with its train loss to
// the last bit: run before and after a change to the trainer to show that a
// preset's behaviour did not change (same seed, same machine, same threads).
//
//   npx ts-node --transpile-only bench/epoch1-loss.ts [--preset cpu] [--data ../shared/data/cifar10-jpg.tar.gz]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { train } from '../lib/train/trainer';
import type { PresetName } from '../lib/train/config';
import type { EpochLogs } from '../lib/train/callbacks';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      preset: { type: 'string', default: 'cpu' },
      data: { type: 'string', default: path.join(__dirname, '..', '..', 'shared', 'data', 'cifar10-jpg.tar.gz') },
    },
  });
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-epoch1-'));
  try {
    const seen: { first?: EpochLogs } = {};
    await train({
      preset: values.preset as PresetName,
      data: values.data,
      runDir,
      plots: false,
      progress: false,
      tta: false, // only the test evaluation after the stop uses it
      callbacks: [
        {
          onEpochEnd(logs, context) {
            seen.first = logs;
            context.stopTraining = true;
            context.stopReason = 'bench/epoch1-loss.ts stops after epoch 1';
          },
        },
      ],
    });
    if (seen.first === undefined) throw new Error('no epoch finished');
    const { trainLoss, trainAccuracy, seconds } = seen.first;
    process.stdout.write(`${JSON.stringify({ preset: values.preset, trainLoss: trainLoss.toPrecision(17), trainAccuracy, seconds: Number(seconds.toFixed(1)) })}\n`);
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
