// train() with a user's own Module (a small CNN written here, not a ResNet)
// on an image folder of 3 classes of 40x48 images: it learns, checkpoints,
// resumes to the same weights, evaluates, and says what does not apply.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import * as tt from '../lib';
import * as nn from '../lib/nn';
import { Module } from '../lib/nn/module';
import { writeSafetensorsFile } from '../lib/io/safetensors';
import { loadCheckpoint } from '../lib/train/checkpoint';
import { evaluateCheckpoint, loadTrainedModel } from '../lib/train/predict';
import { train, type TrainOptions } from '../lib/train/trainer';
import type { Callback } from '../lib/train/callbacks';
import { writeImageFolder } from './helpers/data-fixtures';
import { colourSet } from './helpers/synthetic';

/** Same shape and every element equal. */
const identical = (a: tt.Tensor, b: tt.Tensor): boolean => a.shape.join() === b.shape.join() && a.eq(b).all().item<boolean>();

/** Two conv blocks and a linear head: what a user would write for a small task. */
class SmallCnn extends Module {
  readonly features: nn.Sequential;
  readonly head: nn.Linear;

  constructor(numClasses: number) {
    super();
    this.features = this.registerModule(
      'features',
      new nn.Sequential(
        new nn.Conv2d(3, 8, 3, { padding: 1 }),
        new nn.BatchNorm2d(8),
        new nn.ReLU(),
        new nn.MaxPool2d(2),
        new nn.Conv2d(8, 16, 3, { padding: 1 }),
        new nn.BatchNorm2d(16),
        new nn.ReLU(),
        new nn.AdaptiveAvgPool2d(1),
        new nn.Flatten(),
      ),
    );
    this.head = this.registerModule('head', new nn.Linear(16, numClasses));
  }

  forward(input: tt.Tensor): tt.Tensor {
    return this.head.forward(this.features.forward(input));
  }
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-any-model-'));
t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));

const HEIGHT = 40;
const WIDTH = 48;
const shapes = { height: HEIGHT, width: WIDTH, classes: 3 };
const folder = path.join(root, 'images');
const factory = (numClasses: number) => new SmallCnn(numClasses);

t.before(async () => {
  await writeImageFolder(folder, { train: colourSet(60, { ...shapes, seed: 3 }), test: colourSet(24, { ...shapes, seed: 4 }) }, () => 'png');
});

const options = (name: string, extra: TrainOptions = {}): TrainOptions => ({
  model: factory,
  data: folder,
  cacheDir: path.join(root, 'cache'),
  runDir: path.join(root, name),
  epochs: 4,
  batchSize: 12,
  evalBatchSize: 16,
  valFraction: 0.2,
  lr: 0.05,
  augment: { flip: true },
  device: 'cpu',
  progress: false,
  plots: false,
  handleSigint: false,
  ...extra,
});

t.test('a user-defined CNN trains on a 3-class folder of 40x48 images through train()', async (t) => {
  const result = await train(options('small-cnn'));
  t.equal(result.stopped, 'completed');
  t.equal(result.config.model, 'custom:SmallCnn', 'the run records the model class');
  t.equal(JSON.parse(fs.readFileSync(path.join(result.runDir, 'config.json'), 'utf8')).model, 'custom:SmallCnn', 'config.json too');
  t.ok(result.test!.accuracy >= 0.9, `test accuracy ${result.test!.accuracy}`);
  t.ok(result.history.every((h) => h.valAccuracy !== undefined), 'validation every epoch');
  const saved = loadCheckpoint(result.checkpoints.last);
  t.same(saved.meta.data.classNames, ['blue', 'green', 'red'], 'class folders in sorted order');
  t.same([saved.meta.data.height, saved.meta.data.width], [HEIGHT, WIDTH], 'images kept their 40x48 size');
  t.ok(saved.model.has('head.weight') && saved.model.get('head.weight')!.shape.join() === '3,16', 'the head has 3 outputs');
  saved.model.forEach((w) => w.dispose());
  saved.optimizer?.state.forEach((w) => w.dispose());
  saved.rngState?.dispose();

  const evaluated = await evaluateCheckpoint(result.runDir, { model: factory, device: 'cpu' });
  t.equal(evaluated.result.accuracy, result.test!.accuracy, 'eval of the checkpoint reproduces the test accuracy');
  evaluated.loaded.model.dispose();
  t.throws(() => loadTrainedModel(result.runDir), { name: 'ConfigError', message: /unknown model 'custom:SmallCnn'.*pass it again/ }, 'a custom model must be passed to load it');
  t.end();
});

t.test('interrupted and resumed, the custom model ends with the same weights as an uninterrupted run', async (t) => {
  const whole = await train(options('whole', { epochs: 3 }));
  const controller = new AbortController();
  const stopper: Callback = { onBatchEnd: (logs) => void (logs.epoch === 2 && logs.batch === 2 && controller.abort()) };
  const first = await train(options('split', { epochs: 3, signal: controller.signal, callbacks: [stopper] }));
  t.equal(first.stopped, 'interrupted');
  await t.rejects(train({ resume: first.runDir, progress: false, handleSigint: false }), { name: 'ConfigError', message: /unknown model 'custom:SmallCnn'.*pass it again/ }, 'resuming needs the model');
  const second = await train({ resume: first.runDir, model: factory, progress: false, handleSigint: false });
  t.equal(second.stopped, 'completed');
  t.same(second.history.map((h) => h.trainLoss), whole.history.map((h) => h.trainLoss), 'the same losses, epoch by epoch');
  const a = loadCheckpoint(whole.checkpoints.last);
  const b = loadCheckpoint(second.checkpoints.last);
  for (const [name, weight] of a.model) t.ok(identical(weight, b.model.get(name)!), `${name} identical`);
  for (const contents of [a, b]) {
    contents.model.forEach((w) => w.dispose());
    contents.optimizer?.state.forEach((w) => w.dispose());
    contents.rngState?.dispose();
  }
  t.end();
});

t.test('a Module instance trains as itself; what needs a second copy says so', async (t) => {
  const mine = new SmallCnn(3);
  const initial = mine.head.weight.clone();
  const result = await train(options('instance', { model: mine, epochs: 2 }));
  t.equal(result.stopped, 'completed');
  t.notOk(mine.isDisposed, 'the Module stays the caller\'s');
  t.notOk(identical(mine.head.weight, initial), 'trained in place');
  const saved = loadCheckpoint(result.checkpoints.last);
  t.ok(identical(saved.model.get('head.weight')!, mine.head.weight), 'and it holds the weights of the last checkpoint');
  saved.model.forEach((w) => w.dispose());
  saved.optimizer?.state.forEach((w) => w.dispose());
  saved.rngState?.dispose();
  mine.dispose();
  await t.rejects(train(options('instance-ema', { model: new SmallCnn(3), ema: { decay: 0.99, warmupSteps: 10 } })), { name: 'ConfigError', message: /ema needs a second copy of the model: pass model as a function/ });
  await t.rejects(train(options('wrong-width', { model: () => new SmallCnn(5) })), { name: 'ConfigError', message: /the model's output has shape \[12, 5\]; the data has 3 classes, so it must be \[batch, 3\]/ });
  await t.rejects(train(options('not-a-module', { model: (() => ({})) as never })), { name: 'ConfigError', message: /the factory for 'model' returned object, not a Module/ });
  await t.rejects(train(options('too-short', { epochs: 1 })), { name: 'ConfigError', message: /schedule 'onecycle': 1 epochs x 4 batches = 4 steps are too few for pctStart 0\.25 .*raise epochs, lower batchSize, or use schedule 'constant'/ });
  await t.rejects(train(options('unknown-name', { model: 'vgg16' })), { name: 'ConfigError', message: /unknown model 'vgg16' \(registered: resnet18, resnet34/ });
  t.end();
});

t.test('a registered name trains, resumes and evaluates like the built-in ones', async (t) => {
  tt.registerModel('small-cnn', (numClasses) => new SmallCnn(numClasses));
  const result = await train(options('registered', { model: 'small-cnn', epochs: 2 }));
  t.equal(result.config.model, 'small-cnn');
  const loaded = loadTrainedModel(result.runDir, { device: 'cpu' });
  t.equal(loaded.model.typeName, 'SmallCnn', 'loadTrainedModel builds it by name');
  loaded.model.dispose();
  t.throws(() => tt.registerModel('bad name', factory as never), { name: 'ConfigError', message: /must start with a letter/ });
  t.end();
});

t.test('a stop asked for by a callback is reported as such, and the test split is still evaluated', async (t) => {
  const stopAfterOne: Callback = {
    onEpochEnd: (_logs, context) => {
      context.stopTraining = true;
      context.stopReason = 'enough for this test';
    },
  };
  const result = await train(options('callback-stop', { callbacks: [stopAfterOne] }));
  t.equal(result.stopped, 'callback');
  t.match(result.message, /^Stopped by a callback after epoch 1 of 4 \(enough for this test\); test accuracy \d+\.\d\d%\.$/);
  t.equal(result.history.length, 1);
  t.ok(result.test !== null, 'test evaluation ran');
  t.end();
});

t.test('a folder without test/: testFraction holds a test split out of train, or there is no test evaluation', async (t) => {
  const trainOnly = path.join(root, 'train-only');
  await writeImageFolder(trainOnly, { train: colourSet(60, { ...shapes, seed: 5 }), test: colourSet(0, shapes) }, () => 'png');
  fs.rmSync(path.join(trainOnly, 'test'), { recursive: true, force: true });
  const held = await train(options('test-fraction', { data: trainOnly, testFraction: 0.25, epochs: 3 }));
  t.equal(held.test!.count, 15, 'a quarter of each class (5 of 20) held out as the test split');
  t.ok(held.test!.accuracy >= 0.9, `test accuracy ${held.test!.accuracy}`);
  const none = await train(options('no-test', { data: trainOnly, epochs: 2 }));
  t.equal(none.test, null, 'no test split, no test evaluation');
  t.match(none.message, /^Finished 2 epochs in \d+ s; no test split \(the data has none; testFraction holds one out\)\.$/);
  await t.rejects(train(options('both', { testFraction: 0.2 })), { name: 'ConfigError', message: /testFraction 0\.2: the data already has a test split \(24 images\); set testFraction to 0/ });
  t.end();
});

t.test('user tensors { x, y } train the same model, with testFraction and valFraction splits', async (t) => {
  const images = colourSet(90, { ...shapes, seed: 6 });
  const x = tt.scope(() => tt.keep(tt.tensor(images.images, [images.count, HEIGHT, WIDTH, 3], { dtype: 'uint8' }).permute([0, 3, 1, 2]).float().div(255).sub(0.5).contiguous()));
  const y = tt.tensor(images.labels, [images.count], { dtype: 'int64' });
  const result = await train(options('tensors', { data: undefined, dataset: { x, y, classNames: ['red', 'green', 'blue'] }, testFraction: 0.2, epochs: 4 }));
  t.equal(result.stopped, 'completed');
  t.equal(result.test!.count, 18, 'a fifth of each class held out for test');
  t.ok(result.test!.accuracy >= 0.9, `test accuracy ${result.test!.accuracy}`);
  t.same(result.test!.classNames, ['red', 'green', 'blue']);
  t.notOk(x.isDisposed, 'the caller\'s tensors stay theirs');

  const dataset = { x, y, classNames: ['red', 'green', 'blue'] };
  const tensorRun = (name: string, extra: TrainOptions = {}) => train(options(name, { data: undefined, dataset, testFraction: 0.2, epochs: 3, ...extra }));
  const whole = await tensorRun('tensors-whole');
  const controller = new AbortController();
  const stopper: Callback = { onBatchEnd: (logs) => void (logs.epoch === 2 && logs.batch === 1 && controller.abort()) };
  const first = await tensorRun('tensors-split', { signal: controller.signal, callbacks: [stopper] });
  t.equal(first.stopped, 'interrupted');
  const resumed = await train({ resume: first.runDir, model: factory, dataset, progress: false, handleSigint: false });
  t.same(resumed.history.map((h) => h.trainLoss), whole.history.map((h) => h.trainLoss), 'tensors: resumed to the same losses');
  t.equal(resumed.test!.accuracy, whole.test!.accuracy, 'and the same test accuracy');
  await t.rejects(train(options('bad-y', { data: undefined, dataset: { x, y: y.float() } })), { name: 'TypeError', code: 'ERR_TORCHTS_ARG', message: /dataset\.train\.y must be an integer tensor \[N\] of class indices, got float32 \[90\]/ });
  await t.rejects(train(options('short-y', { data: undefined, dataset: { x, y: y.narrow(0, 0, 10) } })), { name: 'RangeError', message: /dataset\.train: x has 90 items but y has 10 labels/ });
  await t.rejects(train(options('label-range', { data: undefined, dataset: { x, y, classNames: ['a', 'b'] } })), { name: 'RangeError', message: /dataset\.train\.y\[2\] is 2, not a class index in \[0, 2\)/ });
  x.dispose();
  y.dispose();
  t.end();
});

t.test('resuming with more epochs: step, plateau and constant schedules go on exactly; one-cycle and cosine refuse', async (t) => {
  const finalWeights = (file: string): Map<string, tt.Tensor> => {
    const contents = loadCheckpoint(file);
    contents.optimizer?.state.forEach((w) => w.dispose());
    contents.rngState?.dispose();
    return contents.model;
  };
  for (const schedule of ['step', 'plateau', 'constant'] as const) {
    const extra: TrainOptions = { schedule, stepEpochs: 1, gamma: 0.5 };
    const three = await train(options(`${schedule}-3`, { ...extra, epochs: 3 }));
    const two = await train(options(`${schedule}-2`, { ...extra, epochs: 2 }));
    const extended = await train({ resume: two.runDir, model: factory, epochs: 3, progress: false, handleSigint: false });
    t.equal(extended.history.length, 3, `${schedule}: 3 epochs after the resume`);
    t.same(extended.history.map((h) => h.lr), three.history.map((h) => h.lr), `${schedule}: the lr goes on as in a 3-epoch run`);
    const [a, b] = [finalWeights(three.checkpoints.last), finalWeights(extended.checkpoints.last)];
    t.ok([...a].every(([name, w]) => identical(w, b.get(name)!)), `${schedule}: the same weights as a 3-epoch run`);
    [...a.values(), ...b.values()].forEach((w) => w.dispose());
  }
  for (const schedule of ['onecycle', 'cosine'] as const) {
    const two = await train(options(`${schedule}-2`, { schedule, epochs: 2 }));
    await t.rejects(train({ resume: two.runDir, model: factory, epochs: 3, progress: false, handleSigint: false }), {
      name: 'ConfigError',
      message: new RegExp(`cannot resume with epochs 3: the run's '${schedule}' schedule was laid out over its 2 epochs .*start a new run from its weights \\(train\\(\\{ weights: '.*last\\.safetensors', epochs: N \\}\\)`),
    });
    await t.rejects(train({ resume: two.runDir, model: factory, epochs: 1, progress: false, handleSigint: false }), { name: 'ConfigError', message: /cannot resume with epochs 1: the run has already completed 2 epochs/ });
  }
  t.end();
});

t.test('fine-tuning: weights from a 3-class run, a new 2-class head, frozen features, a lower backbone lr', async (t) => {
  const pretrained = path.join(root, 'small-cnn', 'last.safetensors');
  t.ok(fs.existsSync(pretrained), 'the first test left a trained checkpoint');
  const twoClasses = path.join(root, 'two-classes');
  await writeImageFolder(twoClasses, { train: colourSet(40, { ...shapes, classes: 2, seed: 7 }), test: colourSet(10, { ...shapes, classes: 2, seed: 8 }) }, () => 'png');
  const result = await train(options('fine-tune', { data: twoClasses, weights: pretrained, freeze: ['features'], epochs: 3 }));
  t.match(result.notes.join('\n'), /weights: \d+ tensors from .*small-cnn\/last\.safetensors; new head head \(head\.weight \(\[2,16\]; the file has \[3,16\]\), head\.bias \(\[2\]; the file has \[3\]\)\)/, 'says what it loaded and that the head is new');
  t.match(result.notes.join('\n'), /froze 8 parameters under features/);
  t.ok(result.test!.accuracy >= 0.9, `test accuracy ${result.test!.accuracy}`);
  const before = loadCheckpoint(pretrained);
  const after = loadCheckpoint(result.checkpoints.last);
  const features = [...before.model.keys()].filter((name) => name.startsWith('features.') && !name.includes('running_') && !name.includes('num_batches'));
  t.ok(features.length === 8 && features.every((name) => identical(before.model.get(name)!, after.model.get(name)!)), 'frozen conv and BN weights did not move');
  t.notOk(identical(after.model.get('head.weight')!, tt.zeros([2, 16])), 'the new head trained');
  for (const contents of [before, after]) {
    contents.model.forEach((w) => w.dispose());
    contents.optimizer?.state.forEach((w) => w.dispose());
    contents.rngState?.dispose();
  }

  const scaled = await train(options('backbone-lr', { data: twoClasses, weights: pretrained, backboneLrScale: 0.1, schedule: 'constant', epochs: 1 }));
  const groups = loadCheckpoint(scaled.checkpoints.last);
  t.same(groups.meta.optimizerGroups.map((g) => Number(g.lr.toPrecision(12))), [0.005, 0.005, 0.05, 0.05], 'backbone groups at lr * 0.1, the head at lr');
  groups.model.forEach((w) => w.dispose());
  groups.optimizer?.state.forEach((w) => w.dispose());
  groups.rngState?.dispose();

  const resnetWeights = path.join(root, 'resnet.safetensors');
  tt.scope(() => writeSafetensorsFile(resnetWeights, tt.resnet18({ numClasses: 3 }).stateDict()));
  await t.rejects(train(options('wrong-weights', { data: twoClasses, weights: resnetWeights, epochs: 1 })), { name: 'ConfigError', message: /weights .*resnet\.safetensors do not fit the model \(\d+ problem\(s\)\): missing features\.0\.weight/ });
  await t.rejects(train(options('bad-freeze', { data: twoClasses, freeze: ['backbone'], epochs: 1 })), { name: 'ConfigError', message: /freeze: no parameter is named 'backbone' or starts with 'backbone\.'/ });
  t.end();
});

t.test('a user Dataset (length + getBatch, or get), top-k and custom metrics', async (t) => {
  const images = colourSet(90, { ...shapes, seed: 9 });
  const frame = HEIGHT * WIDTH * 3;
  const item = (i: number) => tt.tensor(images.images.subarray(i * frame, (i + 1) * frame), [HEIGHT, WIDTH, 3], { dtype: 'uint8' }).permute([2, 0, 1]).float().div(255);
  let fetched = 0;
  const batched: tt.Dataset = {
    length: images.count,
    labels: images.labels,
    classNames: ['red', 'green', 'blue'],
    getBatch: (indices) => {
      fetched += indices.length;
      return { x: tt.stack(indices.map(item)), y: indices.map((i) => images.labels[i]!) };
    },
  };
  const calls: number[] = [];
  const result = await train(
    options('dataset', {
      data: undefined,
      dataset: batched,
      testFraction: 0.2,
      topK: [2],
      metrics: { meanTrueLogit: (logits, labels) => (calls.push(labels.shape[0]!), logits.gather(1, labels.unsqueeze(1)).mean().item()) },
    }),
  );
  t.ok(result.test!.accuracy >= 0.9, `test accuracy ${result.test!.accuracy}`);
  t.ok(fetched > 0, `items fetched batch by batch (${fetched})`);
  t.ok(result.history.every((h) => h.valMetrics?.top2 !== undefined && h.valMetrics.meanTrueLogit !== undefined), 'validation metrics every epoch');
  t.ok(result.test!.metrics.top2! >= result.test!.accuracy, `top-2 (${result.test!.metrics.top2}) >= top-1 (${result.test!.accuracy})`);
  t.ok(Number.isFinite(result.test!.metrics.meanTrueLogit), 'the custom metric on the test split');
  t.ok(calls.length > 0, 'the custom metric saw batches');

  // get() only, no labels: read through get() for the split.
  const single: tt.Dataset = { length: images.count, get: (i) => ({ x: item(i), y: images.labels[i]! }) };
  const plain = await train(options('dataset-get', { data: undefined, dataset: single, testFraction: 0.2, epochs: 3 }));
  t.same(plain.test!.classNames, ['0', '1', '2'], 'class names default to the indices');
  t.ok(plain.test!.accuracy >= 0.9, `test accuracy ${plain.test!.accuracy}`);
  await t.rejects(train(options('dataset-bad', { data: undefined, dataset: { length: 3, get: () => ({ x: tt.ones([3]), y: 0 }) } })), { name: 'TypeError', message: /dataset: a batch of \d+ items must have x a floating tensor/ });
  t.end();
});
