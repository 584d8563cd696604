// Child of bench/rss.ts: 200 ResNet-18 train steps (imagenet stem, batch
// 128, 32x32 random data, SGD nesterov), then prints peak RSS as JSON.
import * as tt from '../lib';
import { peakRssBytes } from './lib/rss';

const steps = Number(process.argv[process.argv.length - 1]);
tt.setNumThreads(2);
tt.manualSeed(0);
const model = tt.resnet18({ numClasses: 10 });
const opt = new tt.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
const x = tt.randn([128, 3, 32, 32]).keep();
const y = tt.randint(0, 10, [128]).keep();
const start = Date.now();
for (let i = 0; i < steps; i++) {
  tt.scope(() => {
    opt.zeroGrad();
    tt.F.crossEntropy(model.forward(x), y, { labelSmoothing: 0.1 }).backward();
    opt.step();
  });
}
process.stdout.write(`${JSON.stringify({ peakRss: peakRssBytes(), seconds: (Date.now() - start) / 1000, live: tt.memory().liveTensors })}\n`);
