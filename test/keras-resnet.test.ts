// The seed's Keras ResNet18: TensorFlow 'SAME' padding, the parameter count
// of the post's code (computed here from its layer list), the Keras summary,
// and eval logits against a torch.nn version written from the post's code.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import * as tt from '../lib';
import * as nn from '../lib/nn';
import { kerasResNet18, kerasSummary, samePadding } from '../lib/models/keras-resnet';
import { resolveConfig } from '../lib/train/config';
import { buildOptimizer, buildSchedule } from '../lib/train/optimization';
import type { ReduceLROnPlateau } from '../lib/optim/schedulers';
import { loadCheckpoint } from '../lib/train/checkpoint';
import { releaseCheckpoint } from '../lib/train/run';
import { train } from '../lib/train/trainer';
import { compareTensors } from './helpers/compare';
import { writeImageFolder } from './helpers/data-fixtures';
import { colourSet } from './helpers/synthetic';
import { runReference } from './helpers/python';

t.test("TensorFlow's SAME padding puts the odd pixel after", (t) => {
  t.same(samePadding(8, 3, 2), [0, 1], '8 -> 4 with a 3x3/2 conv: one row at the bottom only');
  t.same(samePadding(7, 3, 2), [1, 1], '7 -> 4: one on each side');
  t.same(samePadding(32, 7, 2), [2, 3]);
  t.same(samePadding(8, 3, 1), [1, 1], 'stride 1 is symmetric');
  t.same(samePadding(8, 1, 2), [0, 0], '1x1/2 needs none');
  t.end();
});

t.test("the post's parameter count and the Keras summary", (t) => {
  // From the post's code: conv k*k*in*out + out (use_bias=True), BN 4*c
  // (gamma, beta trainable; moving mean, variance not), Dense 512*10 + 10.
  const conv = (k: number, i: number, o: number) => k * k * i * o + o;
  let total = conv(7, 3, 64) + 4 * 64;
  let frozen = 2 * 64;
  let channels = 64;
  for (const [filters, stride] of [[64, 1], [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2], [512, 1]] as const) {
    if (filters !== channels || stride !== 1) (total += conv(1, channels, filters) + 4 * filters), (frozen += 2 * filters);
    total += conv(3, channels, filters) + conv(3, filters, filters) + 8 * filters;
    frozen += 4 * filters;
    channels = filters;
  }
  total += 512 * 10 + 10;
  const model = kerasResNet18({ numClasses: 10 });
  const table = kerasSummary(model);
  t.equal(table.total, total, `total ${total.toLocaleString('en-US')}`);
  t.equal(table.nonTrainable, frozen, `non-trainable (BatchNorm moving statistics) ${frozen}`);
  t.equal(model.parameterCount(), total - frozen, 'torchts parameters = Keras trainable params');
  const bn = model.layers.find((layer) => layer.name === 'conv1_bn')!.module as nn.BatchNorm2d;
  t.same([bn.eps, bn.momentum], [1.001e-5, 1 - 0.99], "Keras' BatchNormalization epsilon and momentum (0.99 kept)");
  t.match(table.text, /Total params: 11,196,042\nTrainable params: 11,186,442\nNon-trainable params: 9,600/);
  t.match(table.text, / conv1_pad \(ZeroPadding2D\)\s+\(None, 38, 38, 3\)\s+0\s+\['input_1\[0\]\[0\]'\]/);
  t.match(table.text, / conv3_block1_1_conv \(Conv2D\)\s+\(None, 4, 4, 128\)\s+73856\s+\['conv2_block2_out\[0\]\[0\]'\]/);
  t.match(table.text, / conv3_block1_add \(Add\)\s+\(None, 4, 4, 128\)\s+0\s+\['conv3_block1_2_bn\[0\]\[0\]',\n\s+'conv3_block1_0_bn\[0\]\[0\]'\]/);
  t.match(table.text, / predictions \(Dense\)\s+\(None, 10\)\s+5130/);
  t.equal(table.text.split('\n').filter((line) => /^ \S+ \((InputLayer|ZeroPadding2D|Conv2D|BatchNormalization|Activation|MaxPooling2D|Add|GlobalAveragePooling2D|Dense)\) /.test(line)).length, model.layers.length, 'one row per Keras layer');
  model.dispose();
  t.end();
});

t.test('eval logits match a torch.nn version of the post\'s network', (t) => {
  tt.manualSeed(4);
  const model = kerasResNet18({ numClasses: 10 });
  tt.noGrad(() => {
    model.train();
    for (let i = 0; i < 2; i++) model.forward(tt.randn([4, 3, 32, 32])).dispose(); // trained-looking BatchNorm statistics
  });
  model.eval();
  const x = tt.randn([3, 3, 32, 32]);
  const inputs: Record<string, tt.Tensor> = { x };
  for (const [name, tensor] of model.stateDict()) if (!name.endsWith('num_batches_tracked')) inputs[`weight.${name}`] = tensor;
  const expected = runReference('keras_resnet.py', inputs, { classes: 10 });
  const logits = tt.noGrad(() => model.forward(x));
  const result = compareTensors(logits, expected.get('logits')!, { rtol: 1e-4, atol: 1e-4 });
  t.ok(result.ok, `logits (${result.message})`);
  t.equal(expected.get('params')!.item(), model.parameterCount(), 'the same parameter count in PyTorch');
  tt.noGrad(() => model.train().forward(x).dispose());
  const runningMean = model.layers.find((layer) => layer.name === 'conv1_bn')!.module!.namedBuffers(false).find(([name]) => name === 'running_mean')![1];
  const moved = compareTensors(runningMean, expected.get('running_mean_after')!, { rtol: 1e-5, atol: 1e-6 });
  t.ok(moved.ok, `a training-mode pass moves the moving mean as Keras' momentum 0.99 does (${moved.message})`);
  model.dispose();
  t.end();
});

t.test('the seed preset is the run the log shows', (t) => {
  const config = resolveConfig({ preset: 'seed', data: 'unused' });
  t.equal(config.model, 'resnet18-keras');
  t.equal(config.batchSize, 16, '2813 steps per epoch over 45,000 images');
  t.same([config.optimizer, config.lr, config.momentum, config.nesterov, config.weightDecay, config.epochs], ['sgd', 0.01, 0, false, 0, 20], "Keras' SGD as it comes: the log's lr 0.01, no momentum, no decay");
  t.equal(resolveConfig({ preset: 'seed', data: 'unused', optimizer: 'adam' }).adamEps, 1e-7, "with --optimizer adam, Keras' Adam epsilon");
  t.same([config.schedule, config.plateau.patience, config.plateau.minLr], ['plateau', 2, 1e-3], "Keras' patience 3 in PyTorch's rule (more than 2 bad epochs)");
  t.same(config.earlyStopping, { monitor: 'trainLoss', patience: 3, minDelta: 0.001, restoreBest: false });
  t.same([config.testWeights, config.bestMonitor, config.normalization, config.valFraction], ['best', 'valLoss', 'rescale', 0.1]);
  t.end();
});

t.test("on the post's own val_loss curve, the seed's plateau rule drops the lr when its log does: for epoch 13, and not below 1e-3", (t) => {
  // val_loss of epochs 1-20 in the post's log (../shared/seed/resnet18-keras-cifar10-blog.txt); its lr: 0.0100 for 1-12, 9.9999e-04 from 13.
  const valLoss = [1.2521, 1.1318, 1.089, 1.0904, 0.7205, 0.6743, 0.7149, 0.7091, 0.6305, 0.7267, 0.6524, 0.6691, 0.414, 0.4191, 0.4149, 0.4156, 0.4225, 0.4228, 0.4216, 0.4166];
  const config = resolveConfig({ preset: 'seed', data: 'unused' });
  const model = new nn.Linear(1, 1);
  const optimizer = buildOptimizer(model, config);
  const schedule = buildSchedule(optimizer, config, 2813) as ReduceLROnPlateau;
  const lrOfEpoch: number[] = [];
  for (const loss of valLoss) {
    lrOfEpoch.push(optimizer.getLr(0));
    schedule.step(loss);
  }
  t.same(lrOfEpoch.slice(0, 12), new Array(12).fill(0.01), 'epochs 1-12 at 0.01');
  t.ok(lrOfEpoch.slice(12).every((lr) => Math.abs(lr - 1e-3) < 1e-12), `epochs 13-20 at 1e-3 (${lrOfEpoch.slice(12).join(', ')})`);
  model.dispose();
  t.end();
});

t.test('the seed recipe runs end to end: early stopping on the training loss, the best validation epoch tested', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-seed-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const folder = path.join(root, 'colours');
  await writeImageFolder(folder, { train: colourSet(48, { seed: 1 }), test: colourSet(12, { seed: 2 }) }, () => 'png');
  const result = await train({ preset: 'seed', data: folder, cacheDir: path.join(root, 'cache'), runDir: path.join(root, 'run'), epochs: 3, valFraction: 0.25, device: 'cpu', progress: false, plots: false, handleSigint: false });
  t.ok(result.stopped === 'completed' || result.stopped === 'early-stopping', `it ends (${result.stopped})`);
  const best = loadCheckpoint(result.checkpoints.best!);
  t.match(result.message, new RegExp(`with the weights of epoch ${best.meta.best!.epoch} \\(best valLoss `), 'the test used the best validation epoch, and says so');
  t.same([best.meta.data.mean, best.meta.data.std], [[0, 0, 0], [1, 1, 1]], 'inputs scaled by 1/255 only');
  releaseCheckpoint(best);
  t.end();
});

t.test('the options the seed needed are checked', (t) => {
  t.equal(resolveConfig({ bestMonitor: 'valAccuracy' }).bestMonitor, 'valAccuracy', 'bestMonitor is a known option');
  t.throws(() => resolveConfig({ bestMonitor: 'loss' as never }), { code: 'ERR_TORCHTS_CONFIG', message: /bestMonitor must be one of valLoss, valAccuracy/ });
  t.throws(() => resolveConfig({ testWeights: 'best', valFraction: 0 }), { message: /testWeights 'best' picks the best validation epoch: it needs valFraction > 0/ });
  t.throws(() => resolveConfig({ normalization: 'none' as never }), { message: /normalization must be one of standardize, rescale/ });
  t.throws(() => resolveConfig({ adamEps: 0 }), { message: /adamEps must be a number in \(0, 1\], got 0/ });
  t.equal(resolveConfig({ earlyStopping: { monitor: 'trainLoss', patience: 2, minDelta: 0, restoreBest: false }, valFraction: 0 }).earlyStopping!.monitor, 'trainLoss', 'early stopping on the training loss needs no validation split');
  t.end();
});
