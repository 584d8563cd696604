// Long runs: N training steps through train() on small synthetic images,
// sampling live tensors and RSS every `every` steps. Live tensors must not
// change at all after warm-up; RSS must not grow beyond allocator noise.
//
// Run: npx ts-node --transpile-only bench/long-run.ts [steps=2000]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as tt from '../lib';
import { train } from '../lib/train/trainer';
import { colourSet } from '../test/helpers/synthetic';

export interface MemorySample {
  step: number;
  liveTensors: number;
  rssBytes: number;
}

// RSS also holds V8 garbage that has simply not been collected yet (tens of
// MB after a few hundred steps of per-batch JS objects), which says nothing
// about native leaks. Collect it before every sample so RSS tracks what is
// really retained. `gc` is exposed at run time so no node flag is needed.
let gc: (() => void) | undefined;
function collectGarbage(): void {
  if (gc === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}

export async function longRun(steps: number, every = 100): Promise<MemorySample[]> {
  const batch = 16;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-long-'));
  const samples: MemorySample[] = [];
  try {
    await train({
      dataset: { train: colourSet(steps * batch, { seed: 1, size: 16 }), test: colourSet(32, { seed: 2, size: 16 }), classNames: ['red', 'green', 'blue'] },
      runDir: dir,
      epochs: 1,
      batchSize: batch,
      valFraction: 0,
      augment: { crop: { padding: 2 }, flip: true },
      device: 'cpu',
      threads: 2,
      plots: false,
      progress: false,
      handleSigint: false,
      callbacks: [
        {
          onBatchEnd: (logs) => {
            if (logs.batch % every !== 0) return;
            collectGarbage();
            samples.push({ step: logs.batch, liveTensors: tt.memory().liveTensors, rssBytes: process.memoryUsage().rss });
          },
        },
      ],
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return samples;
}

if (require.main === module) {
  const steps = Number(process.argv[2] ?? 2000);
  longRun(steps).then((samples) => {
    for (const s of samples) console.log(`step ${String(s.step).padStart(5)}  live tensors ${s.liveTensors}  RSS ${(s.rssBytes / 1024 ** 2).toFixed(1)} MB`);
    const after = samples.slice(2);
    const rss = after.map((s) => s.rssBytes);
    console.log(`live tensors after warm-up: ${[...new Set(after.map((s) => s.liveTensors))].join(', ')}`);
    console.log(`RSS after warm-up: min ${(Math.min(...rss) / 1024 ** 2).toFixed(1)} MB, max ${(Math.max(...rss) / 1024 ** 2).toFixed(1)} MB, growth ${((rss.at(-1)! - rss[0]!) / 1024 ** 2).toFixed(1)} MB`);
  });
}
