// CUDA-only behaviour; every test skips itself, saying so, without a GPU.
import t from 'tap';
import * as tt from '../lib';
import { compareTensors } from './helpers/compare';

const skip = tt.cuda.isAvailable() ? false : `no CUDA device (${tt.cuda.isCompiled() ? 'CUDA build, no GPU visible' : 'CPU-only libtorch build'})`;

t.test('tensors move to the GPU and back exactly', { skip }, (t) => {
  const a = tt.randn([64, 33]);
  const g = a.to('cuda');
  t.equal(g.device, 'cuda:0');
  t.same(g.cpu().dataSync(), a.dataSync());
  t.equal(tt.ones([2], { device: 'cuda' }).device, 'cuda:0');
  const stats = tt.cuda.memoryStats();
  t.ok(stats.allocated > 0, `allocator reports ${stats.allocated} bytes`);
  t.ok((tt.memory().bytes['cuda:0'] ?? 0) > 0, 'memory() counts CUDA bytes');
  t.end();
});

t.test('ops and gradients on CUDA match the CPU', { skip }, (t) => {
  tt.manualSeed(1);
  const x = tt.randn([8, 3, 16, 16]);
  const w = tt.randn([4, 3, 3, 3]);
  const cpu = (() => {
    const xc = x.clone().requiresGrad_(true);
    const out = tt.F.conv2d(xc, w, null, { padding: 1 }).relu().sum();
    out.backward();
    return { out: out.detach(), grad: xc.grad! };
  })();
  const xg = x.to('cuda').requiresGrad_(true);
  const out = tt.F.conv2d(xg, w.to('cuda'), null, { padding: 1 }).relu().sum();
  out.backward();
  t.ok(compareTensors(out.detach().cpu(), cpu.out, { rtol: 1e-4, atol: 1e-3 }).ok, 'forward');
  t.ok(compareTensors(xg.grad!.cpu(), cpu.grad, { rtol: 1e-4, atol: 1e-4 }).ok, 'input gradient');
  t.end();
});

t.test('ResNet-18 trains a step on CUDA with bf16 autocast and channels_last', { skip }, (t) => {
  tt.manualSeed(2);
  const model = tt.resnet18({ numClasses: 10, stem: 'cifar' }).to('cuda').to('channelsLast');
  const opt = new tt.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
  const x = tt.randn([32, 3, 32, 32], { device: 'cuda' }).contiguous('channelsLast');
  const y = tt.randint(0, 10, [32], { device: 'cuda' });
  const losses: number[] = [];
  for (let i = 0; i < 5; i++) {
    tt.scope(() => {
      opt.zeroGrad();
      const logits = tt.autocast('cuda', () => model.forward(x), { dtype: 'bfloat16' });
      t.equal(logits.dtype, 'bfloat16');
      const loss = tt.F.crossEntropy(logits.float(), y);
      loss.backward();
      opt.step();
      losses.push(loss.item());
    });
  }
  t.ok(losses.at(-1)! < losses[0]!, `loss falls: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  t.end();
});

t.test('the data loader serves batches on the GPU', { skip }, async (t) => {
  const { DeviceLoader } = await import('../lib/data');
  const { colourSet } = await import('./helpers/synthetic');
  const loader = new DeviceLoader(colourSet(64), { batchSize: 16, device: 'cuda', shuffle: true, dropLast: true, seed: 1, augment: { crop: { padding: 4 }, flip: true, cutout: { size: 8 } }, memoryFormat: 'channelsLast' });
  const batch = loader.batch(0, 0);
  t.equal(batch.images.device, 'cuda:0');
  t.ok(batch.images.isContiguous('channelsLast'));
  tt.dispose(batch);
  loader.dispose();
  t.end();
});
