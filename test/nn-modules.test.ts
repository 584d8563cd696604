// Leaf modules against torch.nn, computed at test time with the same weights
// and inputs: forward, input and parameter gradients, BatchNorm running
// statistics over several train steps, eval mode, and default initialisation.
//
// Tolerance: same libtorch kernels on both sides; float32 results agree to
// rtol 1e-5 / atol 1e-6 (reduction order may vary with threads).
import t from 'tap';
import * as tt from '../lib';
import * as nn from '../lib/nn';
import { compareTensors } from './helpers/compare';
import { buildLayer, type LayerSpec } from './helpers/nn-spec';
import { runReference } from './helpers/python';

interface Case {
  id: string;
  spec: LayerSpec;
  input: number[];
  steps?: number;
  stepSeed?: number;
}

const CASES: Case[] = [
  { id: 'conv', spec: { kind: 'conv2d', inChannels: 3, outChannels: 6, kernelSize: 3, padding: 1 }, input: [2, 3, 8, 8] },
  { id: 'conv_strided_grouped_nobias', spec: { kind: 'conv2d', inChannels: 4, outChannels: 8, kernelSize: 3, stride: 2, padding: 1, groups: 2, bias: false }, input: [2, 4, 9, 9] },
  { id: 'conv_dilated', spec: { kind: 'conv2d', inChannels: 2, outChannels: 3, kernelSize: 3, dilation: 2, padding: 2 }, input: [1, 2, 7, 7] },
  { id: 'conv_7x7_stem', spec: { kind: 'conv2d', inChannels: 3, outChannels: 8, kernelSize: 7, stride: 2, padding: 3, bias: false }, input: [2, 3, 16, 16] },
  // Maps with at most half as many pixels as the kernel has taps: Conv2d runs these as one matmul (native/modules.cc).
  { id: 'conv_1x1_map', spec: { kind: 'conv2d', inChannels: 6, outChannels: 5, kernelSize: 3, padding: 1 }, input: [3, 6, 1, 1] },
  { id: 'conv_2x2_map_nobias', spec: { kind: 'conv2d', inChannels: 4, outChannels: 6, kernelSize: 3, padding: 1, bias: false }, input: [2, 4, 2, 2] },
  { id: 'conv_2x2_map_strided', spec: { kind: 'conv2d', inChannels: 4, outChannels: 5, kernelSize: 3, stride: 2, padding: 1 }, input: [2, 4, 2, 2] },
  { id: 'conv_1x3_kernel_1x1_map', spec: { kind: 'conv2d', inChannels: 3, outChannels: 4, kernelSize: [1, 3], padding: [0, 1] }, input: [2, 3, 1, 1] },
  { id: 'conv_rect_map', spec: { kind: 'conv2d', inChannels: 3, outChannels: 4, kernelSize: [3, 2], stride: [1, 2], padding: [1, 0] }, input: [2, 3, 1, 3] },
  { id: 'conv_3x3_map', spec: { kind: 'conv2d', inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1 }, input: [2, 3, 3, 3] },
  { id: 'conv_reflect', spec: { kind: 'conv2d', inChannels: 2, outChannels: 2, kernelSize: 3, padding: 1, paddingMode: 'reflect' }, input: [1, 2, 5, 5] },
  { id: 'bn', spec: { kind: 'batchnorm2d', numFeatures: 4 }, input: [6, 4, 5, 5], steps: 4 },
  { id: 'bn_momentum_eps', spec: { kind: 'batchnorm2d', numFeatures: 3, momentum: 0.3, eps: 1e-3 }, input: [4, 3, 4, 4], steps: 3 },
  { id: 'bn_cumulative', spec: { kind: 'batchnorm2d', numFeatures: 3, momentum: null }, input: [4, 3, 4, 4], steps: 3 },
  { id: 'bn_no_affine', spec: { kind: 'batchnorm2d', numFeatures: 3, affine: false }, input: [4, 3, 4, 4], steps: 2 },
  { id: 'bn_no_running_stats', spec: { kind: 'batchnorm2d', numFeatures: 3, trackRunningStats: false }, input: [4, 3, 4, 4], steps: 2 },
  { id: 'linear', spec: { kind: 'linear', inFeatures: 5, outFeatures: 3 }, input: [4, 5] },
  { id: 'linear_nobias', spec: { kind: 'linear', inFeatures: 5, outFeatures: 3, bias: false }, input: [2, 3, 5] },
  { id: 'maxpool', spec: { kind: 'maxpool2d', kernelSize: 3, stride: 2, padding: 1 }, input: [2, 3, 9, 9] },
  { id: 'maxpool_ceil', spec: { kind: 'maxpool2d', kernelSize: 2, ceilMode: true }, input: [1, 2, 5, 5] },
  { id: 'avgpool', spec: { kind: 'avgpool2d', kernelSize: 2, stride: 2 }, input: [2, 3, 6, 6] },
  { id: 'adaptiveavg', spec: { kind: 'adaptiveavgpool2d', outputSize: [2, 3] }, input: [2, 3, 7, 8] },
  { id: 'relu', spec: { kind: 'relu' }, input: [3, 4] },
  { id: 'dropout', spec: { kind: 'dropout', p: 0.4 }, input: [6, 20], steps: 2, stepSeed: 900 },
  { id: 'flatten', spec: { kind: 'flatten' }, input: [2, 3, 4] },
  { id: 'identity', spec: { kind: 'identity' }, input: [2, 3] },
];

const TOL = { rtol: 1e-5, atol: 1e-6 };

t.test('leaf modules match torch.nn', (t) => {
  tt.manualSeed(42);
  const sent = new Map<string, tt.Tensor>();
  const ours = new Map<string, tt.Tensor>();
  const cases = CASES.map((c, index) => ({ ...c, steps: c.steps ?? 1, initSeed: 1000 + index }));
  for (const c of cases) {
    const layer = buildLayer(c.spec);
    // Non-default values everywhere so every weight and buffer matters.
    tt.noGrad(() => {
      for (const [name, p] of layer.namedParameters()) {
        p.copy_(tt.randn(p.shape).mul(0.5));
        sent.set(`${c.id}.param.${name}`, p.clone());
      }
      for (const [name, b] of layer.namedBuffers()) {
        if (name === 'running_var') b.copy_(tt.rand(b.shape).add(0.5));
        else if (b.isFloatingPoint()) b.copy_(tt.randn(b.shape).mul(0.1));
        sent.set(`${c.id}.buffer.${name}`, b.clone());
      }
    });
    layer.train();
    let x: tt.Tensor | undefined;
    let out: tt.Tensor | undefined;
    for (let step = 0; step < c.steps; step++) {
      const input = tt.randn(c.input);
      sent.set(`${c.id}.x${step}`, input);
      x = input.clone().requiresGrad_(true);
      layer.zeroGrad();
      if (c.stepSeed !== undefined) tt.manualSeed(c.stepSeed + step);
      out = layer.forward(x);
      const gout = tt.randn(out.shape);
      sent.set(`${c.id}.gout${step}`, gout);
      out.mul(gout).sum().backward();
    }
    ours.set(`${c.id}.train_out`, out!.detach());
    ours.set(`${c.id}.grad.input`, x!.grad!);
    for (const [name, p] of layer.namedParameters()) ours.set(`${c.id}.grad.${name}`, p.grad!);
    for (const [name, b] of layer.namedBuffers()) ours.set(`${c.id}.after.${name}`, b.clone());
    layer.eval();
    ours.set(`${c.id}.eval_out`, tt.noGrad(() => layer.forward(sent.get(`${c.id}.x0`)!)));
    tt.manualSeed(c.initSeed);
    const fresh = buildLayer(c.spec);
    for (const [name, p] of fresh.namedParameters()) ours.set(`${c.id}.init.${name}`, p.detach());
  }
  const expected = runReference('nn_modules.py', sent, { cases: cases.map(({ id, spec, steps, stepSeed, initSeed }) => ({ id, spec, steps, stepSeed, initSeed })) });
  for (const [name, value] of ours) {
    const reference = expected.get(name);
    if (reference === undefined) {
      t.fail(`reference has no ${name}`);
      continue;
    }
    const tol = name.includes('.init.') || name.includes('num_batches_tracked') ? { rtol: 0, atol: 0 } : TOL;
    const result = compareTensors(value, reference, tol);
    t.ok(result.ok, `${name}: ${result.message}`);
  }
  t.end();
});

t.test('convs on tiny maps (run as a matmul) behave as conv2d under autocast, channels_last and bad input', (t) => {
  tt.manualSeed(7);
  const conv = new nn.Conv2d(16, 24, 3, { padding: 1, bias: false });
  for (const size of [1, 2]) {
    const x = tt.randn([8, 16, size, size]).contiguous('channelsLast');
    const direct = tt.F.conv2d(x, conv.weight, null, { padding: 1 });
    const fp32 = compareTensors(conv.forward(x), direct, TOL);
    t.ok(fp32.ok, `${size}x${size}: float32 equals aten conv2d (${fp32.message})`);
    t.ok(conv.forward(x).isContiguous('channelsLast'), `${size}x${size}: a channels_last input gives a channels_last output, as conv2d does`);
    const bf16 = tt.autocast('cpu', () => conv.forward(x), { dtype: 'bfloat16' });
    const bf16Direct = tt.autocast('cpu', () => tt.F.conv2d(x, conv.weight, null, { padding: 1 }), { dtype: 'bfloat16' });
    t.equal(bf16.dtype, 'bfloat16', `${size}x${size}: bfloat16 under autocast`);
    const close = compareTensors(bf16.float(), bf16Direct.float(), { rtol: 2e-2, atol: 2e-2 });
    t.ok(close.ok, `${size}x${size}: bfloat16 result close to aten conv2d's (${close.message})`);
  }
  t.throws(() => conv.forward(tt.randn([2, 15, 2, 2])), { message: /expected input\[2, 15, 2, 2\] to have 16 channels/ }, "a wrong channel count gets conv2d's own error");
  t.throws(() => conv.forward(tt.randn([2, 16, 2, 2], { dtype: 'float64' })), /dtype|type/, 'a dtype mismatch is a JS error');
  t.end();
});

t.test('default initialisation follows PyTorch (bounds and spread)', (t) => {
  tt.manualSeed(7);
  const conv = new nn.Conv2d(64, 128, 3);
  const fanIn = 64 * 9;
  const bound = 1 / Math.sqrt(fanIn); // kaiming_uniform(a=sqrt(5)) => U(-1/sqrt(fan_in), 1/sqrt(fan_in))
  const w = conv.weight;
  t.ok(w.abs().max().item() <= bound, 'weights within the kaiming-uniform bound');
  const std = w.std().item();
  t.ok(Math.abs(std - bound / Math.sqrt(3)) / (bound / Math.sqrt(3)) < 0.02, `std ${std.toFixed(5)} ~ bound/sqrt(3)`);
  const bn = new nn.BatchNorm2d(8);
  t.same(bn.parameters()[0]!.arraySync(), new Array(8).fill(1), 'BN weight = 1');
  t.same(bn.parameters()[1]!.arraySync(), new Array(8).fill(0), 'BN bias = 0');
  t.same(bn.buffers().map((b) => b.dtype), ['float32', 'float32', 'int64']);
  t.end();
});

t.test('module tree: names, state dict, modes, moves, disposal', (t) => {
  const model = new nn.Sequential(new nn.Conv2d(3, 4, 3, { bias: false }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.Flatten(), new nn.Linear(4 * 6 * 6, 2));
  t.same(
    [...model.stateDict().keys()],
    ['0.weight', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked', '4.weight', '4.bias'],
  );
  t.equal(model.parameterCount(), 4 * 3 * 9 + 8 + 4 * 36 * 2 + 2);
  model.eval();
  t.notOk(model.at(1)!.training);
  model.train();
  t.ok(model.at(1)!.training);
  let visited = 0;
  model.apply(() => visited++);
  t.equal(visited, 6);
  model.to('float64');
  t.same(model.namedBuffers().map(([, b]) => b.dtype), ['float64', 'float64', 'int64'], 'dtype moves skip integer buffers');
  t.equal(model.forward(tt.randn([1, 3, 8, 8], { dtype: 'float64' })).dtype, 'float64');
  model.to('channelsLast');
  t.ok(model.parameters()[0]!.isContiguous('channelsLast'));
  const before = tt.memory().liveTensors;
  model.dispose();
  t.ok(tt.memory().liveTensors < before, 'disposing a module frees its tensor handles');
  t.throws(() => model.forward(tt.randn([1, 3, 8, 8])), /was disposed/);
  t.throws(() => new nn.Conv2d(3, 0, 3), /outChannels' must be >= 1/);
  t.throws(() => new nn.Dropout(NaN), /finite number/);
  t.end();
});

t.test('loadStateDict reports missing, unexpected and mis-shaped keys and changes nothing', (t) => {
  const model = new nn.Sequential(new nn.Linear(4, 3), new nn.Linear(3, 2));
  const original = model.parameters()[0]!.clone();
  const good = model.stateDict();
  const bad = new Map(good);
  bad.delete('1.bias');
  bad.set('2.weight', tt.zeros([1]));
  bad.set('0.weight', tt.zeros([5, 4]));
  const err = t.throws(() => model.loadStateDict(bad)) as Error;
  t.match(err.message, /Missing key\(s\) in state_dict: "1.bias"/);
  t.match(err.message, /Unexpected key\(s\) in state_dict: "2.weight"/);
  t.match(err.message, /size mismatch for 0.weight: copying a param with shape torch.Size\(\[5, 4\]\) from checkpoint, the shape in current model is torch.Size\(\[3, 4\]\)/);
  t.ok(model.parameters()[0]!.eq(original).all().item(), 'nothing was copied');
  const relaxed = new Map(good);
  relaxed.delete('1.bias');
  relaxed.set('extra', tt.zeros([1]));
  t.same(model.loadStateDict(relaxed, { strict: false }), { missingKeys: ['1.bias'], unexpectedKeys: ['extra'] });
  t.end();
});
