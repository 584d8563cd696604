// How the cost of one ResNet-18 (imagenet stem) training step grows with the
// input size, for choosing the cpu preset's decode size (README, "Why 64x64").
// Batch 256, bf16 autocast + channels_last, SGD nesterov, as the preset
// trains. torchts only: this chooses a recipe, it does not compare with
// PyTorch (bench/train-step.ts does). Sizes: BENCH_SIZES=32,48,64; batch:
// BENCH_BATCH (default 256).
import * as tt from '../lib';
import { measure } from './lib/timing';

const BATCH = Number(process.env.BENCH_BATCH ?? 256);
const sizes = (process.env.BENCH_SIZES ?? '32,48,56,64,80,96').split(',').map(Number);

tt.setNumThreads(Number(process.env.BENCH_THREADS ?? 2));
for (const size of sizes) {
  tt.manualSeed(0);
  const model = tt.resnet18({ numClasses: 10, stem: 'imagenet' });
  model.to('channelsLast');
  model.train();
  const optimizer = new tt.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
  const images = tt.randn([BATCH, 3, size, size]).contiguous('channelsLast').keep();
  const labels = tt.randint(0, 10, [BATCH]).keep();
  const step = measure(
    () =>
      tt.scope(() => {
        optimizer.zeroGrad();
        const loss = tt.autocast('cpu', () => tt.F.crossEntropy(model.forward(images).float(), labels, { labelSmoothing: 0.1 }));
        loss.backward();
        optimizer.step();
      }),
    { warmup: 2, repeats: 8 },
  );
  console.log(`${size}x${size}: ${Math.round(BATCH / step.median)} img/s (median of 8 steps)`);
  tt.dispose(images, labels);
  optimizer.dispose();
  model.dispose();
}
