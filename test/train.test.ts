// The trainer on tiny synthetic data (CPU, fixed seed): learning, exact
// resume, early stopping, reduce-on-plateau, checkpoints, flat memory,
// non-finite losses, and Ctrl-C in a child process.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import * as tt from '../lib';
import { loadCheckpoint } from '../lib/train/checkpoint';
import { loadTrainedModel, predict } from '../lib/train/predict';
import { train, type TrainOptions } from '../lib/train/trainer';
import type { Callback } from '../lib/train/callbacks';
import { spawnTs } from './helpers/child';
import { colourSet } from './helpers/synthetic';
import { missingCudaDevice } from './helpers/cuda';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-train-'));
t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));

const dataset = { train: colourSet(96, { seed: 1 }), test: colourSet(30, { seed: 2 }), classNames: ['red', 'green', 'blue'], source: 'synthetic' };

function options(name: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    dataset,
    runDir: path.join(root, name),
    epochs: 3,
    batchSize: 16,
    evalBatchSize: 32,
    lr: 0.05,
    schedule: 'onecycle',
    valFraction: 0,
    augment: {},
    tta: false,
    threads: 2,
    device: 'cpu',
    progress: false,
    plots: false,
    seed: 7,
    handleSigint: false,
    ...extra,
  };
}

t.test('the trainer is exported from the package root', async (t) => {
  // README: import { train } from 'torchts'
  t.equal(tt.train, train);
  t.equal(tt.loadTrainedModel, loadTrainedModel);
  for (const name of ['evaluate', 'predict', 'evaluateCheckpoint', 'resolveConfig', 'formatEvaluation'] as const) t.type(tt[name], 'function', name);
  t.ok(tt.PRESETS.cpu !== undefined && tt.PRESETS.gpu !== undefined && tt.PRESETS.seed !== undefined, 'presets');
  t.end();
});

t.test('learns an easy task to near-perfect accuracy, with logs, plots and checkpoints', async (t) => {
  const liveAtEpochEnd: number[] = [];
  const probe: Callback = { onEpochEnd: () => void liveAtEpochEnd.push(tt.memory().liveTensors) };
  const easy = { ...dataset, train: colourSet(240, { seed: 3 }) };
  const result = await train(options('learn', { dataset: easy, epochs: 5, plots: true, valFraction: 0.2, callbacks: [probe] }));
  t.equal(result.stopped, 'completed');
  t.equal(result.history.length, 5);
  t.ok(result.history.at(-1)!.trainAccuracy > 0.95, `train accuracy ${result.history.at(-1)!.trainAccuracy}`);
  t.ok(result.test!.accuracy > 0.9, `test accuracy ${result.test!.accuracy}`);
  t.ok(result.history.every((h) => h.valAccuracy !== undefined), 'validation every epoch');
  for (const name of ['last.safetensors', 'best.safetensors', 'metrics.jsonl', 'curves.svg', 'curves.png', 'config.json', 'test-report.txt']) {
    t.ok(fs.existsSync(path.join(result.runDir, name)), `${name} written`);
  }
  const records = fs.readFileSync(path.join(result.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n');
  t.equal(records.length, 5, 'one metrics record per epoch');
  t.same(new Set(liveAtEpochEnd.slice(1)).size, 1, `live tensors flat across epochs: ${liveAtEpochEnd.join(', ')}`);
  result.history.forEach((h) => t.ok(Number.isFinite(h.trainLoss)));

  // predict() from the run folder on image files of known class: new noisy
  // images (another seed) written as PNG, decoded by predict's own path.
  const known = colourSet(9, { seed: 11 });
  const files: string[] = [];
  for (let n = 0; n < known.count; n++) {
    const file = path.join(root, `known-${n}-${easy.classNames[known.labels[n]!]}.png`);
    const pixels = known.images.subarray(n * 32 * 32 * 3, (n + 1) * 32 * 32 * 3);
    await sharp(Buffer.from(pixels), { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(file);
    files.push(file);
  }
  const predictions = await predict(result.runDir, files, { device: 'cpu' });
  predictions.forEach((prediction, n) => {
    const expected = easy.classNames[known.labels[n]!];
    t.equal(prediction.top[0]!.className, expected, `${path.basename(prediction.file)}: predicted ${prediction.top[0]!.className} (${(100 * prediction.top[0]!.probability).toFixed(1)}%)`);
  });
  t.end();
});

t.test('resume after a stop reproduces an uninterrupted run exactly', async (t) => {
  const whole = await train(options('whole'));
  const controller = new AbortController();
  const stopper: Callback = {
    onBatchEnd: (logs) => {
      if (logs.epoch === 2 && logs.batch === 2) controller.abort();
    },
  };
  const first = await train(options('split', { signal: controller.signal, callbacks: [stopper] }));
  t.equal(first.stopped, 'interrupted');
  const saved = loadCheckpoint(first.checkpoints.last);
  t.equal(saved.meta.epoch, 1, 'checkpoint knows one epoch was complete');
  t.equal(saved.meta.batch, 2, '... and two batches of the next');
  const second = await train({ resume: first.runDir, progress: false, dataset, handleSigint: false, threads: 2 });
  t.equal(second.stopped, 'completed');
  t.same(
    second.history.map((h) => [h.trainLoss, h.trainAccuracy, h.lr]),
    whole.history.map((h) => [h.trainLoss, h.trainAccuracy, h.lr]),
    'identical per-epoch losses, accuracies and learning rates',
  );
  t.equal(second.test!.accuracy, whole.test!.accuracy);
  t.end();
});

t.test('a checkpoint written mid-run loads into a fresh model with identical outputs', async (t) => {
  const probeImages = tt.randn([4, 3, 32, 32]).keep();
  let afterEpoch1: tt.Tensor | undefined;
  let snapshot = '';
  const capture: Callback = {
    onEpochEnd: (logs, context) => {
      if (logs.epoch === 1) afterEpoch1 = tt.noGrad(() => context.model.eval().forward(probeImages).keep());
      context.model.train();
    },
    onEpochBegin: (epoch, context) => {
      if (epoch === 2) {
        snapshot = path.join(root, 'epoch1.safetensors');
        fs.copyFileSync(path.join(context.runDir, 'last.safetensors'), snapshot);
      }
    },
  };
  await train(options('midrun', { callbacks: [capture] }));
  const loaded = loadTrainedModel(snapshot, { device: 'cpu' });
  const logits = tt.noGrad(() => loaded.model.forward(probeImages));
  t.same(logits.arraySync(), afterEpoch1!.arraySync(), 'identical eval logits');
  loaded.model.dispose();
  t.end();
});

t.test('early stopping and reduce-on-plateau fire when they should', async (t) => {
  // Random labels: nothing generalises, so validation loss stops improving
  // while the network memorises the training set.
  const noise = colourSet(160, { seed: 4 });
  const shuffled = Int32Array.from(noise.labels, (_, i) => (i * 7 + (i >> 2)) % 3);
  const patience = 2;
  const result = await train(
    options('early', {
      dataset: { ...dataset, train: { ...noise, labels: shuffled } },
      lr: 0.05,
      schedule: 'plateau',
      plateau: { monitor: 'valLoss', factor: 0.5, patience: 0, threshold: 1e-4, cooldown: 0, minLr: 0 },
      valFraction: 0.25,
      // Room to stop: the first epochs' validation losses fall from huge
      // values (running BN statistics still settling), and where the last
      // improvement lands depends on float rounding.
      epochs: 30,
      earlyStopping: { monitor: 'valLoss', patience, minDelta: 0, restoreBest: true },
    }),
  );
  t.equal(result.stopped, 'early-stopping');
  const losses = result.history.map((h) => h.valLoss!);
  const bestEpoch = losses.indexOf(Math.min(...losses)) + 1;
  t.equal(result.history.length, bestEpoch + patience, `stopped ${patience} epochs after the best validation loss (epoch ${bestEpoch}): ${losses.map((l) => l.toFixed(4)).join(', ')}`);
  t.match(result.message, new RegExp(`did not improve for ${patience} epochs.*restored the weights of epoch ${bestEpoch}`));
  const lrs = result.history.map((h) => h.lr);
  const drops = lrs.filter((lr, i) => i > 0 && lr < lrs[i - 1]!).length;
  // An epoch's lr is logged before the plateau check at its end, so the
  // last epoch's verdict is not visible in the history.
  const verdicts = losses.slice(0, -1).filter((l, i) => i > 0 && !(l < Math.min(...losses.slice(0, i)) * (1 - 1e-4))).length;
  t.equal(drops, verdicts, `the lr halves after every epoch without a 1e-4 relative improvement: ${lrs.join(', ')}`);
  t.ok(drops > 0, 'reduce-on-plateau fired');
  t.ok(result.test !== null, 'still evaluated on test after stopping');
  t.end();
});

t.test('a non-finite loss stops the run with a clear message and keeps the last good checkpoint', async (t) => {
  const poison: Callback = {
    onBatchEnd: (logs, context) => {
      if (logs.epoch === 2 && logs.batch === 1) tt.noGrad(() => context.model.parameters()[0]!.fill_(NaN));
    },
  };
  const result = await train(options('nan', { callbacks: [poison] }));
  t.equal(result.stopped, 'non-finite-loss');
  t.match(result.message, /The loss became NaN in epoch 2/);
  t.match(result.message, /last good checkpoint is .*last\.safetensors/);
  const kept = loadCheckpoint(result.checkpoints.last);
  t.equal(kept.meta.epoch, 1, 'the checkpoint is from the last good epoch');
  t.ok([...kept.model.values()].every((w) => w.isfinite().all().item()), 'with finite weights');
  t.end();
});

t.test('bad options are clear errors before any work', async (t) => {
  await t.rejects(train(options('bad1', { epochs: 0 })), /epochs must be a positive integer, got 0/);
  await t.rejects(train(options('bad2', { batchSize: 0 })), /batchSize must be a positive integer, got 0/);
  await t.rejects(train(options('bad3', { lr: NaN })), /lr must be a number in \(0, 100\], got NaN/);
  await t.rejects(train(options('bad4', { batchSize: 1000 })), /larger than the 96 training images/);
  await t.rejects(train({ ...options('bad5'), colour: 'red' } as TrainOptions), /unknown training option 'colour'/);
  const absent = missingCudaDevice();
  await t.rejects(train(options('bad6', { device: absent.device })), { name: 'ConfigError', code: 'ERR_TORCHTS_CONFIG', message: absent.reason });
  t.end();
});

t.test('Ctrl-C (SIGINT) leaves a loadable checkpoint and a clean exit', async (t) => {
  const runDir = path.join(root, 'sigint');
  const child = spawnTs(path.join(__dirname, 'helpers', 'train-child.ts'), [runDir]);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (/STEP 3\b/.test(output) && !child.killed) child.kill('SIGINT');
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  t.equal(code, 130, `exit code 130 after saving (${output.slice(-300)})`);
  t.match(output, /Interrupted in epoch 1 at step \d+\/\d+; saved .*last\.safetensors/);
  const saved = loadCheckpoint(path.join(runDir, 'last.safetensors'));
  t.ok(saved.meta.batch >= 3, `checkpoint at step ${saved.meta.batch}`);
  t.end();
});

t.test('progressive resizing: the size grows by epoch to the full size, which the model is tested at', async (t) => {
  const { imageSizeForEpoch } = await import('../lib/train/progressive');
  const plan = { startSize: [32, 32] as [number, number], fullSizeEpoch: 5 };
  t.same([1, 2, 3, 4, 5, 6].map((epoch) => imageSizeForEpoch(epoch, [48, 48], plan)), [[32, 32], [32, 32], [40, 40], [40, 40], [48, 48], [48, 48]]);
  t.same(imageSizeForEpoch(1, [48, 48], null), [48, 48], 'off: always the full size');
  t.same([1, 2].map((epoch) => imageSizeForEpoch(epoch, [48, 48], plan, 2)), [[32, 32], [48, 48]], 'a run shorter than the plan trains its last epoch at the full size');
  t.same(imageSizeForEpoch(1, [24, 48], plan), [24, 32], 'a start size above the full size is capped');
  const twoPhases = { startSize: [32, 32] as [number, number], fullSizeEpoch: 9, multiple: 32 };
  t.same(
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((epoch) => imageSizeForEpoch(epoch, [64, 64], twoPhases)[0]),
    [32, 32, 32, 32, 32, 32, 32, 32, 64, 64],
    'a multiple as large as the growth gives two phases: start size, then full size from fullSizeEpoch',
  );

  const seen: number[][] = [];
  const probe: Callback = { onBatchEnd: () => undefined, onEpochEnd: (logs) => void seen.push(logs.imageSize!) };
  const result = await train(options('progressive', { epochs: 3, progressiveResize: { startSize: [8, 8], fullSizeEpoch: 3, multiple: 4 }, callbacks: [probe] }));
  const full = [dataset.train.height, dataset.train.width];
  t.same(seen, [[8, 8], [Math.floor((8 + (full[0]! - 8) / 2) / 4) * 4, Math.floor((8 + (full[1]! - 8) / 2) / 4) * 4], full], `sizes by epoch: ${JSON.stringify(seen)}`);
  t.ok(Number.isFinite(result.test!.accuracy), 'tested at the full size');
  const records = fs.readFileSync(path.join(result.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { imageSize?: number[] });
  t.same(records.map((r) => r.imageSize), seen, 'metrics.jsonl records the size');
  await t.rejects(train(options('bad-progressive', { progressiveResize: { startSize: [4, 4], fullSizeEpoch: 2 } })), /progressiveResize.startSize must be/);
  t.end();
});

t.test('test-time augmentation averages the flip and the diagonal shifts it asks for', async (t) => {
  const { predictLogits, describeTta } = await import('../lib/train/evaluate');
  tt.manualSeed(3);
  const model = tt.resnet18({ numClasses: 3, stem: 'cifar' });
  model.eval();
  const x = tt.randn([2, 3, 12, 12]);
  const close = (a: tt.Tensor, b: tt.Tensor) => (a.sub(b).abs().max().item() as number) < 1e-4;
  tt.inferenceMode(() => {
    const forward = (v: tt.Tensor) => model.forward(v);
    const padded = tt.pad(x, [2, 2, 2, 2], 'reflect');
    const views = [x, ...[[2, 2], [-2, -2], [2, -2], [-2, 2]].map(([dy, dx]) => padded.narrow(2, 2 + dy!, 12).narrow(3, 2 + dx!, 12))];
    const expected = views.map((v) => forward(v).add(forward(v.flip(3)))).reduce((a, b) => a.add(b)).div(10);
    t.ok(close(predictLogits(model, x, { tta: true, ttaShift: 2 }), expected), '10 views: each shift and its mirror');
    const noFlip = views.map(forward).reduce((a, b) => a.add(b)).div(5);
    t.ok(close(predictLogits(model, x, { tta: false, ttaShift: 2 }), noFlip), '5 views without the mirror');
    t.notOk(close(predictLogits(model, x, { tta: true, ttaShift: 2 }), predictLogits(model, x, { tta: true })), 'the shifts change the answer');
    t.ok(close(predictLogits(model, x, {}), forward(x)), 'one view by default');
    const axes = [[2, 0], [-2, 0], [0, 2], [0, -2]].map(([dy, dx]) => padded.narrow(2, 2 + dy!, 12).narrow(3, 2 + dx!, 12));
    const grid = [...views, ...axes].map((v) => forward(v).add(forward(v.flip(3)))).reduce((a, b) => a.add(b)).div(18);
    t.ok(close(predictLogits(model, x, { tta: true, ttaShift: 2, ttaShiftDirections: 8 }), grid), '18 views: the 8 shifts of a 3x3 grid and their mirrors');
    t.ok(close(predictLogits(model, x, { tta: true, ttaShift: 2, ttaShiftDirections: 4 }), expected), '4 directions are the diagonals');
  });
  t.equal(describeTta(true, 3), 'TTA: flip + 4 diagonal shifts of 3 px');
  t.equal(describeTta(false, 0), '');
  t.equal(describeTta(true, 4, 8), 'TTA: flip + 8 shifts (diagonal, horizontal, vertical) of 4 px');
  await t.rejects(train(options('bad-tta-directions', { ttaShiftDirections: 6 as 8 })), /ttaShiftDirections must be 4 \(diagonal\) or 8/);
  await t.rejects(train(options('bad-tta', { ttaShift: -1 })), /ttaShift must be an integer from 0 to 16/);
  model.dispose();
  t.end();
});
