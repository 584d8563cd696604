// ResNet-18 train step (forward, loss, backward, SGD nesterov step) and
// inference throughput, torchts next to PyTorch in the same run, same
// threads and batch sizes. Images/s: higher is better.
import * as tt from '../lib';
import { runPythonBench } from './lib/python';
import { measure } from './lib/timing';

export interface StepBenchConfig {
  threads: number;
  batch: number;
  inferBatch: number;
  warmup: number;
  repeats: Record<'imagenet' | 'cifar', number>;
  stems: ('imagenet' | 'cifar')[];
  channelsLast: boolean;
  /** bfloat16 autocast on the CPU. */
  amp: boolean;
  /** Also measure eval-mode inference (default true). */
  inference?: boolean;
}

export const DEFAULT_STEP_CONFIG: StepBenchConfig = {
  threads: 2,
  batch: 128,
  inferBatch: 256,
  warmup: 2,
  repeats: { imagenet: 7, cifar: 3 },
  stems: ['imagenet', 'cifar'],
  channelsLast: false,
  amp: false,
};

export function torchtsStepThroughput(config: StepBenchConfig): Record<string, number> {
  tt.setNumThreads(config.threads);
  tt.manualSeed(0);
  const results: Record<string, number> = {};
  const format = config.channelsLast ? 'channelsLast' : 'contiguous';
  for (const stem of config.stems) {
    const model = tt.resnet18({ numClasses: 10, stem });
    if (config.channelsLast) model.to('channelsLast');
    const opt = new tt.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
    const x = tt.randn([config.batch, 3, 32, 32]).contiguous(format).keep();
    const y = tt.randint(0, 10, [config.batch]).keep();
    model.train();
    const train = measure(
      () =>
        tt.scope(() => {
          opt.zeroGrad();
          const loss = tt.autocast('cpu', () => tt.F.crossEntropy(model.forward(x).float(), y, { labelSmoothing: 0.1 }), { enabled: config.amp });
          loss.backward();
          opt.step();
        }),
      { warmup: config.warmup, repeats: config.repeats[stem] },
    );
    results[`train_${stem}`] = config.batch / train.median;
    if (config.inference ?? true) {
      model.eval();
      const xi = tt.randn([config.inferBatch, 3, 32, 32]).contiguous(format).keep();
      const infer = measure(() => tt.inferenceMode(() => tt.scope(() => void tt.autocast('cpu', () => model.forward(xi), { enabled: config.amp }))), { warmup: 1, repeats: config.repeats[stem] });
      results[`infer_${stem}`] = config.inferBatch / infer.median;
      xi.dispose();
    }
    tt.dispose(x, y);
    opt.dispose();
    model.dispose();
  }
  return results;
}

/**
 * glibc malloc tuned by hand for PyTorch: no mmap, no trimming. It keeps
 * freed activation buffers in the heap, which is most of what torchts's
 * caching CPU allocator (native/cpu_allocator.cc) does, so PyTorch with it
 * is the strongest comparison we know of on this machine.
 */
export const TUNED_GLIBC_ENV: NodeJS.ProcessEnv = { GLIBC_TUNABLES: 'glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=18446744073709551615' };

export function runStepBench(
  config: StepBenchConfig = DEFAULT_STEP_CONFIG,
  pythonEnv: NodeJS.ProcessEnv = {},
): { case: string; torchts: number; pytorch: number; ratio: number }[] {
  const ours = torchtsStepThroughput(config);
  const theirs = runPythonBench<Record<string, number>>('train_step.py', [JSON.stringify(config)], pythonEnv);
  return Object.keys(ours).map((key) => ({ case: key, torchts: ours[key]!, pytorch: theirs[key]!, ratio: ours[key]! / theirs[key]! }));
}

if (require.main === module) {
  const channelsLast = process.argv.includes('--channels-last');
  const amp = process.argv.includes('--bf16');
  for (const row of runStepBench({ ...DEFAULT_STEP_CONFIG, channelsLast, amp })) {
    console.log(`${row.case.padEnd(16)} torchts ${row.torchts.toFixed(1).padStart(8)} img/s  pytorch ${row.pytorch.toFixed(1).padStart(8)} img/s  ratio ${row.ratio.toFixed(3)}`);
  }
}
