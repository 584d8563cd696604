// What a run prints when its output is a log, not a terminal: one line per
// epoch, and within a long epoch a step line at most every lineEverySeconds.
import { Writable } from 'node:stream';
import t from 'tap';
import type { BatchLogs, TrainContext } from '../lib/train/callbacks';
import { ProgressReporter } from '../lib/train/progress';

function capture(): { stream: NodeJS.WriteStream; lines: () => string[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { stream, lines: () => text.trim().split('\n') };
}

const context = { config: { model: 'resnet18', stem: 'cifar', batchSize: 16 }, runDir: 'runs/x', epochs: 20, batchesPerEpoch: 100 } as unknown as TrainContext;

function batch(index: number, elapsed: number): BatchLogs {
  return { epoch: 3, batch: index, batches: 100, images: index * 16, lr: 0.01, elapsed, metrics: () => ({ loss: 1.25, accuracy: 0.5 }) };
}

t.test('without a bar: a step line every lineEverySeconds within an epoch, none at its last step', (t) => {
  const out = capture();
  const reporter = new ProgressReporter({ stream: out.stream, bar: false, lineEverySeconds: 10 });
  reporter.onTrainBegin(context);
  reporter.onEpochBegin(3, context);
  for (let i = 1; i <= 100; i++) reporter.onBatchEnd(batch(i, i * 0.45));
  const steps = out.lines().filter((line) => line.includes(' step '));
  t.same(
    steps.map((line) => /step (\d+)\/100/.exec(line)?.[1]),
    ['23', '46', '69', '92'],
    'at 10.35, 20.7, 31.05 and 41.4 s of a 45 s epoch: 10 s or more after the line before',
  );
  t.equal(steps[0], 'Epoch  3/20 step 23/100 - 10s - 36 img/s - loss 1.2500 - accuracy 0.5000 - lr 1.00e-2 - ETA 35s');
  t.end();
});

t.test('step lines start again with each epoch, and 0 turns them off', (t) => {
  const out = capture();
  const reporter = new ProgressReporter({ stream: out.stream, bar: false, lineEverySeconds: 10 });
  reporter.onTrainBegin(context);
  for (const epoch of [1, 2]) {
    reporter.onEpochBegin(epoch, context);
    for (let i = 1; i <= 30; i++) reporter.onBatchEnd({ ...batch(i, i * 0.5), epoch });
  }
  t.same(out.lines().filter((line) => line.includes(' step ')).map((line) => line.slice(0, 22)), ['Epoch  1/20 step 20/10', 'Epoch  2/20 step 20/10']);

  const quiet = capture();
  const off = new ProgressReporter({ stream: quiet.stream, bar: false, lineEverySeconds: 0 });
  off.onTrainBegin(context);
  off.onEpochBegin(1, context);
  for (let i = 1; i <= 99; i++) off.onBatchEnd(batch(i, i * 100));
  t.equal(quiet.lines().length, 1, 'only the line that opens the run');
  t.end();
});
