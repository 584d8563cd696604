// GPU: ResNet-18 (cifar stem) train step at batch 512 in bf16 autocast +
// channels_last, torchts next to PyTorch eager doing the same, images/s.
import * as tt from '../lib';
import { runPythonBench } from './lib/python';
import { median } from './lib/timing';

const CONFIG = { batch: 512, warmup: 5, steps: 20, repeats: 5 };

function torchts(): number {
  tt.manualSeed(0);
  tt.setCudnnBenchmark(true);
  const model = tt.resnet18({ numClasses: 10, stem: 'cifar' }).to('cuda').to('channelsLast');
  const opt = new tt.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
  const x = tt.randn([CONFIG.batch, 3, 32, 32], { device: 'cuda' }).contiguous('channelsLast').keep();
  const y = tt.randint(0, 10, [CONFIG.batch], { device: 'cuda' }).keep();
  const step = () =>
    tt.scope(() => {
      opt.zeroGrad();
      const loss = tt.autocast('cuda', () => tt.F.crossEntropy(model.forward(x).float(), y, { labelSmoothing: 0.1 }), { dtype: 'bfloat16' });
      loss.backward();
      opt.step();
    });
  for (let i = 0; i < CONFIG.warmup; i++) step();
  tt.cuda.synchronize();
  const samples: number[] = [];
  for (let r = 0; r < CONFIG.repeats; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < CONFIG.steps; i++) step();
    tt.cuda.synchronize();
    samples.push(Number(process.hrtime.bigint() - start) / 1e9 / CONFIG.steps);
  }
  return CONFIG.batch / median(samples);
}

if (!tt.cuda.isAvailable()) {
  console.log('gpu-step: no CUDA device; nothing to measure');
  process.exit(0);
}
const ours = torchts();
const theirs = runPythonBench<{ imagesPerSecond: number; torch: string }>('gpu_step.py', [JSON.stringify(CONFIG)]);
console.log(`ResNet-18 cifar stem, batch ${CONFIG.batch}, bf16 autocast + channels_last on ${tt.buildInfo().torch} / PyTorch ${theirs.torch}`);
console.log(`torchts ${ours.toFixed(0)} img/s, PyTorch eager ${theirs.imagesPerSecond.toFixed(0)} img/s, ratio ${(ours / theirs.imagesPerSecond).toFixed(3)}`);
