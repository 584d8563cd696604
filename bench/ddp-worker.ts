// torchts side of bench/ddp.ts, one process: ResNet-18 (imagenet stem, 32x32)
// SGD train steps under DistributedDataParallel (when started by the
// launcher with RANK/WORLD_SIZE) or alone. argv: <json config> <out.json>.
// Rank 0 writes the median step time and the median time of the gradient
// all-reduce inside it (what overlapping it with backward could hide).
import * as fs from 'node:fs';
import * as tt from '../lib';

interface Config {
  threads: number;
  batch: number;
  warmup: number;
  steps: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function main(): void {
  const [json, outFile] = process.argv.slice(1);
  const config = JSON.parse(json!) as Config;
  tt.setNumThreads(config.threads);
  const distributed = process.env.WORLD_SIZE !== undefined;
  const group = distributed ? tt.distributed.initProcessGroup() : null;
  tt.manualSeed(0);
  const model = tt.resnet18({ numClasses: 10, stem: 'imagenet' });
  const ddp = group === null ? null : new tt.distributed.DistributedDataParallel(model, { group });
  const optimizer = new tt.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  tt.manualSeed(group?.rank ?? 0);
  const x = tt.randn([config.batch, 3, 32, 32]);
  const y = tt.randint(0, 10, [config.batch]);
  const steps: number[] = [];
  const reduces: number[] = [];
  for (let i = 0; i < config.warmup + config.steps; i++) {
    const start = performance.now();
    let reduce = 0;
    tt.scope(() => {
      optimizer.zeroGrad();
      const loss = tt.F.crossEntropy(ddp === null ? model.forward(x) : ddp.forward(x), y);
      loss.backward();
      const reduceStart = performance.now();
      ddp?.syncGradients();
      reduce = performance.now() - reduceStart;
      optimizer.step();
    });
    if (i >= config.warmup) {
      steps.push((performance.now() - start) / 1000);
      reduces.push(reduce / 1000);
    }
  }
  if ((group?.rank ?? 0) === 0) fs.writeFileSync(outFile!, JSON.stringify({ stepSeconds: median(steps), reduceSeconds: median(reduces), buckets: ddp?.lastBucketCount ?? 0 }));
  tt.distributed.destroyProcessGroup();
}

main();
