// Child process for crash-safety runs: trains a small deterministic job in
// `runDir`, resuming from its last checkpoint when there is one. Prints
// STEP lines so the parent can time its SIGKILL, and DONE <history JSON> at
// the end.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { train } from '../../lib/train/trainer';
import { colourSet } from './synthetic';

const args = process.argv.slice(1);
const runDir = args[0]!;
const epochs = Number(args[1] ?? 6);
const dataset = { train: colourSet(64, { seed: 11, size: 16 }), test: colourSet(12, { seed: 12, size: 16 }), classNames: ['red', 'green', 'blue'] };
const resume = fs.existsSync(path.join(runDir, 'last.safetensors'));

train({
  ...(resume ? { resume: runDir } : { runDir, epochs, batchSize: 8, lr: 0.05, valFraction: 0, augment: { flip: true }, seed: 3, plots: false, tta: false }),
  dataset,
  device: 'cpu',
  threads: 1,
  progress: false,
  handleSigint: false,
  callbacks: [{ onBatchEnd: (logs) => void process.stdout.write(`STEP ${logs.epoch}.${logs.batch}\n`) }],
}).then(
  (result) => {
    process.stdout.write(`DONE ${JSON.stringify(result.history.map((h) => [h.epoch, h.trainLoss, h.trainAccuracy, h.lr]))}\n`);
    process.exit(0);
  },
  (error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  },
);
