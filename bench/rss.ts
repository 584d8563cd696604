// Peak RSS of a 200-step ResNet-18 training run, torchts and PyTorch, each
// in its own process (lower is better).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { runPythonBench } from './lib/python';

export interface RssResult {
  torchtsBytes: number;
  pytorchBytes: number;
  ratio: number;
  steps: number;
}

export function runRssBench(steps = 200): RssResult {
  const child = spawnSync(
    process.execPath,
    ['-r', require.resolve('ts-node/register/transpile-only'), path.join(__dirname, 'rss-child.ts'), String(steps)],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  if (child.status !== 0) throw new Error(`rss-child failed: ${child.stderr}`);
  const ours = JSON.parse(child.stdout.trim().split('\n').pop()!) as { peakRss: number };
  const theirs = runPythonBench<{ peakRss: number }>('rss_child.py', [String(steps)]);
  return { torchtsBytes: ours.peakRss, pytorchBytes: theirs.peakRss, ratio: ours.peakRss / theirs.peakRss, steps };
}

if (require.main === module) {
  const steps = Number(process.argv[2] ?? 200);
  const result = runRssBench(steps);
  const mb = (b: number) => (b / 1024 ** 2).toFixed(0);
  console.log(`peak RSS over ${steps} steps: torchts ${mb(result.torchtsBytes)} MB, PyTorch ${mb(result.pytorchBytes)} MB, ratio ${result.ratio.toFixed(3)}`);
}
