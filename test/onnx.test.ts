// ONNX export, verified by running the exported file in ONNX Runtime and
// comparing its logits with torchts' own forward on the same input.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import * as ort from 'onnxruntime-node';
import * as tt from '../lib';
import * as nn from '../lib/nn';
import { Module } from '../lib/nn/module';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-onnx-'));
t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
tt.manualSeed(7);

/** BatchNorm with the running statistics and affine values a trained model has (fresh ones are 0/1, which hide mistakes). */
function randomiseBatchNorm(model: Module): void {
  tt.noGrad(() => {
    for (const module of model.modules()) {
      if (!(module instanceof nn.BatchNorm2d)) continue;
      for (const [name, tensor] of [...module.namedBuffers(false), ...module.namedParameters(false)]) {
        if (name === 'num_batches_tracked') continue;
        const values = name === 'running_var' ? tt.rand(tensor.shape).add(0.5) : name === 'weight' ? tt.rand(tensor.shape).add(0.5) : tt.randn(tensor.shape).mul(0.2);
        tensor.copy_(values);
        values.dispose();
      }
    }
  });
}

async function maxDifference(file: string, model: Module, input: tt.Tensor): Promise<number> {
  const session = await ort.InferenceSession.create(file);
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input.dataSync() as Float32Array, input.shape) };
  const result = await session.run(feeds);
  const got = result[session.outputNames[0]!]!;
  const expected = tt.noGrad(() => model.forward(input));
  try {
    if (got.dims.join() !== expected.shape.join()) throw new Error(`ORT output shape ${got.dims} != torchts ${expected.shape}`);
    const want = expected.dataSync() as Float32Array;
    const data = got.data as Float32Array;
    let max = 0;
    for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i]! - data[i]!));
    return max;
  } finally {
    expected.dispose();
  }
}

/** A small non-ResNet network: biased and reflect-padded convs, avg-pool, ops in forward (view, gelu, sigmoid, scalar math, matmul, softmax). */
class Gadget extends Module {
  readonly conv1 = this.registerModule('conv1', new nn.Conv2d(3, 8, 3, { padding: 1, paddingMode: 'reflect' }));
  readonly bn = this.registerModule('bn', new nn.BatchNorm2d(8));
  readonly pool = this.registerModule('pool', new nn.AvgPool2d(2));
  readonly conv2 = this.registerModule('conv2', new nn.Conv2d(8, 12, 3, { stride: 2, padding: 1 }));
  readonly drop = this.registerModule('drop', new nn.Dropout(0.3));
  readonly fc1 = this.registerModule('fc1', new nn.Linear(12 * 4 * 4, 20));
  readonly fc2 = this.registerModule('fc2', new nn.Linear(20, 5, { bias: false }));
  readonly mix = this.registerBuffer('mix', tt.randn([20, 20]).mul(0.3))!;

  forward(x: tt.Tensor): tt.Tensor {
    return tt.scope(() => {
      // A constant reshaped to a leading 1: with a batch-1 trace it must not take the batch dim.
      const centred = x.sub(tt.tensor([0.1, 0.2, 0.3]).reshape([1, 3, 1, 1]));
      let h = tt.F.leakyRelu(this.bn.forward(this.conv1.forward(centred)), 0.1);
      h = this.pool.forward(h);
      h = this.conv2.forward(h).sigmoid().mul(2).sub(0.5);
      h = h.view([h.shape[0]!, -1]);
      h = this.drop.forward(tt.F.gelu(this.fc1.forward(h)));
      // A buffer and a tensor made inside forward become initializers.
      h = tt.matmul(h, this.mix).add(tt.linspace(-1, 1, 20));
      return tt.F.softmax(this.fc2.forward(h), 1);
    });
  }
}

for (const stem of ['imagenet', 'cifar'] as const) {
  t.test(`ResNet-18 (${stem} stem) in ONNX Runtime gives torchts' logits`, async (t) => {
    const model = tt.resnet18({ numClasses: 10, stem });
    randomiseBatchNorm(model);
    model.eval();
    const file = path.join(work, `resnet18-${stem}.onnx`);
    const result = tt.onnx.export(model, tt.randn([2, 3, 32, 32]), file, { dynamicBatch: true });
    t.equal(result.opTypes.Conv, 20, '20 convolutions');
    t.equal(result.opTypes.BatchNormalization, 20, '20 batch norms');
    t.equal(result.opTypes.MaxPool ?? 0, stem === 'imagenet' ? 1 : 0, 'a max-pool only in the imagenet stem');
    t.equal(result.bytes, fs.statSync(file).size, 'the reported size is the file size');
    t.comment(`${stem}: ${result.nodeCount} nodes, ${result.bytes} bytes, ${JSON.stringify(result.opTypes)}`);
    for (const batch of [1, 3]) {
      const input = tt.randn([batch, 3, 32, 32]);
      const difference = await maxDifference(file, model, input);
      t.comment(`${stem} batch ${batch}: max |ORT - torchts| = ${difference.toExponential(2)}`);
      t.ok(difference < 1e-4, `batch ${batch} (dynamic): logits agree within 1e-4 (${difference.toExponential(2)})`);
      input.dispose();
    }
    model.dispose();
  });
}

t.test('a small non-ResNet model exports through the op trace and agrees with ORT', async (t) => {
  const model = new Gadget();
  randomiseBatchNorm(model);
  model.eval();
  const file = path.join(work, 'gadget.onnx');
  // Traced with batch 1, run with 4 and 7.
  const result = tt.onnx.export(model, tt.randn([1, 3, 16, 16]), file, { dynamicBatch: true, inputNames: ['pixels'], outputNames: ['probabilities'] });
  for (const op of ['Pad', 'Conv', 'LeakyRelu', 'AveragePool', 'Sigmoid', 'Reshape', 'Erf', 'Softmax', 'Gemm', 'MatMul']) {
    t.ok((result.opTypes[op] ?? 0) > 0, `the graph has ${op}`);
  }
  const session = await ort.InferenceSession.create(file);
  t.same([session.inputNames, session.outputNames], [['pixels'], ['probabilities']], 'the given input and output names');
  for (const batch of [4, 7]) {
    const input = tt.randn([batch, 3, 16, 16]);
    const difference = await maxDifference(file, model, input);
    t.comment(`gadget batch ${batch}: max |ORT - torchts| = ${difference.toExponential(2)}`);
    t.ok(difference < 1e-5, `batch ${batch}: probabilities agree within 1e-5 (${difference.toExponential(2)})`);
    input.dispose();
  }
  model.dispose();
});

t.test('a model in training mode is exported in eval mode and left in training mode', async (t) => {
  const model = new Gadget();
  randomiseBatchNorm(model);
  model.train();
  const file = path.join(work, 'gadget-train.onnx');
  tt.onnx.export(model, tt.randn([2, 3, 16, 16]), file);
  t.ok(model.training && model.bn.training && model.drop.training, 'every module is back in training mode');
  model.eval();
  const difference = await maxDifference(file, model, tt.randn([2, 3, 16, 16]));
  t.ok(difference < 1e-5, `the file computes the eval-mode forward (${difference.toExponential(2)})`);
  model.dispose();
});

class UsesCumsum extends Module {
  readonly fc = this.registerModule('fc', new nn.Linear(4, 4));
  forward(x: tt.Tensor): tt.Tensor {
    return tt.cumsum(this.fc.forward(x), 1);
  }
}

t.test('bad input: clear errors and no file left behind', async (t) => {
  const unsupported = path.join(work, 'unsupported.onnx');
  const model = new UsesCumsum();
  t.throws(() => tt.onnx.export(model, tt.randn([2, 4]), unsupported), { name: 'OnnxExportError', code: 'ERR_TORCHTS_ONNX', message: /cannot export aten::cumsum: torchts has no ONNX mapping/ });
  t.notOk(fs.existsSync(unsupported), 'an unsupported op leaves no file');
  t.same(fs.readdirSync(work).filter((name) => name.includes('unsupported')), [], 'and no temporary file');

  const existing = path.join(work, 'existing.onnx');
  fs.writeFileSync(existing, 'keep me');
  t.throws(() => tt.onnx.export(model, tt.randn([2, 4]), existing), { code: 'ERR_TORCHTS_ONNX' });
  t.equal(fs.readFileSync(existing, 'utf8'), 'keep me', 'a failed export leaves an existing file as it was');

  const missingFolder = path.join(work, 'no-such-folder', 'model.onnx');
  t.throws(() => tt.onnx.export(new Gadget(), tt.randn([1, 3, 16, 16]), missingFolder), { code: 'ERR_TORCHTS_ONNX', message: /the folder .*no-such-folder does not exist/ });

  const disposed = new Gadget();
  disposed.dispose();
  t.throws(() => tt.onnx.export(disposed, tt.randn([1, 3, 16, 16]), path.join(work, 'disposed.onnx')), { code: 'ERR_TORCHTS_ONNX', message: /cannot export Gadget: it was disposed/ });

  const gadget = new Gadget();
  t.throws(() => tt.onnx.export(gadget, tt.randn([1, 3, 16, 16]), path.join(work, 'x.onnx'), { opset: 9 }), { code: 'ERR_TORCHTS_ARG', message: /opset must be an integer from 13 to 20, got 9/ });
  t.throws(() => tt.onnx.export(gadget, tt.zeros([1, 3, 16, 16], { dtype: 'int64' }), path.join(work, 'x.onnx')), { code: 'ERR_TORCHTS_ARG', message: /exampleInput must be a floating or uint8 tensor, got int64/ });
  t.throws(() => tt.onnx.export({} as Module, tt.randn([1]), path.join(work, 'x.onnx')), { code: 'ERR_TORCHTS_ARG', message: /model must be a torchts Module/ });
  t.notOk(fs.existsSync(path.join(work, 'x.onnx')), 'refused exports write nothing');
  gadget.dispose();
  model.dispose();
});
