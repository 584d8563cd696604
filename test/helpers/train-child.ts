// Child process for the Ctrl-C test: trains on synthetic data, printing
// STEP n after each step so the parent knows when to send SIGINT.
import { train } from '../../lib/train/trainer';
import { colourSet } from './synthetic';

const runDir = process.argv[process.argv.length - 1]!;

train({
  dataset: { train: colourSet(256, { seed: 1 }), test: colourSet(16, { seed: 2 }), classNames: ['red', 'green', 'blue'] },
  runDir,
  epochs: 2,
  batchSize: 8,
  valFraction: 0,
  augment: {},
  device: 'cpu',
  threads: 1,
  plots: false,
  progress: { bar: false },
  callbacks: [{ onBatchEnd: (logs) => void process.stdout.write(`STEP ${logs.batch}\n`) }],
}).then(
  (result) => process.exit(result.stopped === 'interrupted' ? 130 : 0),
  (error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  },
);
