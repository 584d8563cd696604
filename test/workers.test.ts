// The addon is context-aware: it loads in worker threads, each with its own
// tensor table, and two models training at the same time in one process do
// not interfere (each reproduces a run made alone).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import * as tt from '../lib';
import { writeSafetensorsFile } from '../lib/io/safetensors';
import { trainSteps } from './helpers/worker-train';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-workers-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

function inWorker(weightsFile: string, steps: number): Promise<{ losses: number[]; live: number }> {
  // Workers load TypeScript through ts-node, like the tests themselves.
  const script = `require(${JSON.stringify(require.resolve('ts-node/register/transpile-only'))}); require(${JSON.stringify(path.join(__dirname, 'helpers', 'worker-train.ts'))});`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, { eval: true, workerData: { weightsFile, steps }, execArgv: [] });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

t.test('two workers train at once and each matches a run made alone', async (t) => {
  // Initial weights come from a file: libtorch's default random generator is
  // process-wide (as in PyTorch), so seeding inside threads would interleave.
  tt.manualSeed(21);
  const weightsFile = path.join(dir, 'init.safetensors');
  const model = tt.resnet18({ numClasses: 3 });
  writeSafetensorsFile(weightsFile, model.stateDict());
  model.dispose();
  const steps = 6;
  const alone = trainSteps(weightsFile, steps);
  const [a, b] = await Promise.all([inWorker(weightsFile, steps), inWorker(weightsFile, steps)]);
  t.same(a.losses, alone.losses, 'worker A reproduces the single-threaded losses');
  t.same(b.losses, alone.losses, 'worker B reproduces the single-threaded losses');
  t.equal(a.live, 0, 'worker A freed all of its tensors (its own tensor table)');
  t.equal(b.live, 0, 'worker B freed all of its tensors');
  t.ok(Number.isFinite(tt.ones([2]).sum().item()), 'the main thread still works');
  t.end();
});
