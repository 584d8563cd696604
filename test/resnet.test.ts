// ResNet-18/34 against a PyTorch reference written after torchvision's
// structure (test/reference/resnet.py), with the same weights: train-mode
// logits, losses (with and without label smoothing), every parameter
// gradient, BatchNorm statistics after 3 train-mode passes, eval logits,
// 5 SGD (nesterov, weight decay) steps, state-dict files both ways, default
// initialisation from a shared seed, and parameter counts.
//
// Tolerances: logits and losses rtol 1e-4 / atol 1e-5; gradients and
// parameters rtol 1e-3 / atol 1e-5. Both sides run the same libtorch
// kernels, but float32 sums (convolution backward, BatchNorm statistics)
// may be reduced in a different order between runs, and 18-34 layers of
// batch-normalised activations amplify those last-bit differences.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import * as tt from '../lib';
import { loadPt, savePt } from '../lib/io/pytorch';
import { resnet18, resnet34, summary, type ResNet, type Stem } from '../lib/models';
import { compareTensors, type Tolerance } from './helpers/compare';
import { runReference } from './helpers/python';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-resnet-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Case {
  id: string;
  arch: 'resnet18' | 'resnet34';
  stem: Stem;
  classes: number;
  batch: number;
  sgd: boolean;
}

const CASES: Case[] = [
  { id: 'r18_imagenet', arch: 'resnet18', stem: 'imagenet', classes: 10, batch: 4, sgd: true },
  { id: 'r18_cifar', arch: 'resnet18', stem: 'cifar', classes: 10, batch: 4, sgd: true },
  { id: 'r34_imagenet', arch: 'resnet34', stem: 'imagenet', classes: 7, batch: 3, sgd: false },
];
const LOGITS: Tolerance = { rtol: 1e-4, atol: 1e-5 };
const GRADS: Tolerance = { rtol: 1e-3, atol: 1e-5 };

// The imagenet stem at 32x32 leaves layer4 with 1x1 maps, where train-mode
// BatchNorm normalises only `batch` values per channel (3 or 4 here): that
// amplifies float32 rounding so much that two correct orders of summation
// disagree after one backward pass. At 64x64 layer4 sees 2x2 maps (4x the
// values per channel), and its convs still take the tiny-map matmul path
// that the cpu preset trains with.
const inputSide = (c: Case): number => (c.stem === 'imagenet' ? 64 : 32);

const build = (c: Case): ResNet => (c.arch === 'resnet18' ? resnet18 : resnet34)({ numClasses: c.classes, stem: c.stem });

t.test('ResNet matches the PyTorch reference', (t) => {
  const sent = new Map<string, tt.Tensor>();
  const ours = new Map<string, tt.Tensor>();
  const config = CASES.map((c, index) => ({
    ...c,
    initSeed: 500 + index,
    oursPath: path.join(dir, `${c.id}.ours.pt`),
    pythonPath: path.join(dir, `${c.id}.python.pt`),
  }));
  for (const c of config) {
    tt.manualSeed(c.initSeed);
    for (const [name, tensor] of build(c).stateDict()) ours.set(`${c.id}.init.${name}`, tensor);

    tt.manualSeed(c.initSeed + 1);
    const model = build(c);
    tt.noGrad(() => {
      // Non-trivial BN parameters and statistics, so every one matters.
      for (const [name, tensor] of model.namedParameters()) if (/bn\d?\.|downsample\.1\./.test(name)) tensor.copy_(tt.rand(tensor.shape).add(0.5));
    });
    for (const [name, tensor] of model.stateDict()) sent.set(`${c.id}.state.${name}`, tensor.clone());
    const side = inputSide(c);
    const x = tt.randn([c.batch, 3, side, side]);
    const y = tt.randint(0, c.classes, [c.batch]);
    sent.set(`${c.id}.x`, x);
    sent.set(`${c.id}.y`, y);
    sent.set(`${c.id}.x2`, tt.randn([c.batch, 3, side, side]));
    sent.set(`${c.id}.x3`, tt.randn([c.batch, 3, side, side]));

    model.train();
    const logits = model.forward(x);
    const loss = tt.F.crossEntropy(logits, y);
    ours.set(`${c.id}.loss_ls`, tt.F.crossEntropy(logits, y, { labelSmoothing: 0.1 }).detach());
    loss.backward();
    ours.set(`${c.id}.train_logits`, logits.detach());
    ours.set(`${c.id}.loss`, loss.detach());
    for (const [name, p] of model.namedParameters()) ours.set(`${c.id}.grad.${name}`, p.grad!);
    tt.noGrad(() => {
      model.forward(sent.get(`${c.id}.x2`)!);
      model.forward(sent.get(`${c.id}.x3`)!);
    });
    for (const [name, b] of model.namedBuffers()) ours.set(`${c.id}.stats.${name}`, b.clone());
    model.eval();
    ours.set(`${c.id}.eval_logits`, tt.noGrad(() => model.forward(x)));
    if (c.sgd) {
      model.train();
      model.zeroGrad();
      const opt = new tt.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
      for (let step = 0; step < 5; step++) {
        tt.scope(() => {
          opt.zeroGrad();
          tt.F.crossEntropy(model.forward(x), y, { labelSmoothing: 0.1 }).backward();
          opt.step();
        });
      }
      for (const [name, p] of model.namedParameters()) ours.set(`${c.id}.sgd.${name}`, p.detach().clone());
      model.eval();
      const evalLogits = tt.noGrad(() => model.forward(x));
      ours.set(`${c.id}.sgd_eval_logits`, evalLogits);
      ours.set(`${c.id}.ours_in_torch_logits`, evalLogits);
      savePt(c.oursPath, model.stateDict());
    }
  }
  const expected = runReference('resnet.py', sent, { cases: config });

  for (const [name, value] of ours) {
    const reference = expected.get(name);
    if (reference === undefined) {
      t.fail(`reference has no ${name}`);
      continue;
    }
    const tol = name.includes('.init.') ? { rtol: 0, atol: 0 } : /\.(grad|sgd|stats)\./.test(name) ? GRADS : LOGITS;
    const result = compareTensors(value, reference, tol);
    t.ok(result.ok, `${name}: ${result.message}`);
  }
  // Python's torch.save(model.state_dict()) loads into ours and gives PyTorch's eval logits.
  for (const c of config.filter((c) => c.sgd)) {
    const model = build(c);
    model.loadStateDict(loadPt(c.pythonPath));
    model.eval();
    const result = compareTensors(tt.noGrad(() => model.forward(sent.get(`${c.id}.x`)!)), expected.get(`${c.id}.sgd_eval_logits`)!, LOGITS);
    t.ok(result.ok, `${c.id}: PyTorch's saved state dict gives PyTorch's eval logits here (${result.message})`);
    const count = expected.get(`${c.id}.param_count`)!.item();
    t.equal(model.parameterCount(), count, `${c.id}: ${count.toLocaleString('en-US')} parameters, as PyTorch counts`);
    t.equal(summary(model, [1, 3, 32, 32]).totalParams, count, `${c.id}: summary() total equals PyTorch's count`);
  }
  t.end();
});

t.test('channels_last works end to end (forward and backward)', (t) => {
  tt.manualSeed(9);
  const model = resnet18({ numClasses: 10 });
  // Batch 16: at 32x32 the imagenet stem leaves 1x1 maps in layer4, and BN
  // statistics over very few values would amplify rounding differences.
  const x = tt.randn([16, 3, 32, 32]);
  const y = tt.randint(0, 10, [16]);
  const reference = model.forward(x);
  tt.F.crossEntropy(reference, y).backward();
  const gradContiguous = model.conv1.weight.grad!.clone();
  model.zeroGrad();
  model.to('channelsLast');
  t.ok(model.conv1.weight.isContiguous('channelsLast'));
  const out = model.forward(x.contiguous('channelsLast'));
  tt.F.crossEntropy(out, y).backward();
  const logits = compareTensors(out.detach(), reference.detach(), LOGITS);
  t.ok(logits.ok, `same logits in channels_last (${logits.message})`);
  const grads = compareTensors(model.conv1.weight.grad!.contiguous(), gradContiguous, GRADS);
  t.ok(grads.ok, `same gradients in channels_last (${grads.message})`);
  t.end();
});

t.test('autocast runs the model in bfloat16 where asked (CPU shown here; CUDA in the GPU script)', (t) => {
  tt.manualSeed(10);
  const model = resnet18({ numClasses: 10, stem: 'imagenet' });
  const x = tt.randn([2, 3, 32, 32]);
  const out = tt.autocast('cpu', () => model.forward(x), { dtype: 'bfloat16' });
  t.equal(out.dtype, 'bfloat16', 'linear/conv outputs are bf16 under autocast');
  t.equal(model.forward(x).dtype, 'float32', 'float32 outside autocast');
  t.end();
});

t.test('options are validated', (t) => {
  t.throws(() => resnet18({ numClasses: 0 }), /numClasses must be a positive integer/);
  t.throws(() => resnet18({ stem: 'tiny' as Stem }), /stem must be 'imagenet' or 'cifar'/);
  const zeroInit = resnet18({ zeroInitResidual: true });
  t.equal(zeroInit.layer1.at(0)!.namedParameters().find(([n]) => n === 'bn2.weight')![1].abs().sum().item(), 0);
  t.end();
});
