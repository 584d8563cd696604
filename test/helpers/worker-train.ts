// Worker-thread side of test/workers.test.ts: loads the shared initial
// weights, trains a few steps on synthetic data, and posts back the losses
// and this thread's live-tensor count.
import { parentPort, workerData } from 'node:worker_threads';
import * as tt from '../../lib';
import { readSafetensorsFile } from '../../lib/io/safetensors';
import { DeviceLoader } from '../../lib/data';
import { colourSet } from './synthetic';

export function trainSteps(weightsFile: string, steps: number): { losses: number[]; live: number } {
  tt.setNumThreads(1);
  const model = tt.resnet18({ numClasses: 3 });
  const { tensors } = readSafetensorsFile(weightsFile);
  model.loadStateDict(tensors);
  tensors.forEach((t) => t.dispose());
  const optimizer = new tt.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const loader = new DeviceLoader(colourSet(64, { seed: 5 }), { batchSize: 16, device: 'cpu', shuffle: true, dropLast: true, seed: 9, augment: { flip: true } });
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    tt.scope(() => {
      const batch = loader.batch(0, step % loader.numBatches);
      optimizer.zeroGrad();
      const loss = tt.F.crossEntropy(model.forward(batch.images), batch.labels);
      loss.backward();
      optimizer.step();
      losses.push(loss.item());
    });
  }
  loader.dispose();
  optimizer.dispose();
  model.dispose();
  return { losses, live: tt.memory().liveTensors };
}

if (parentPort !== null && workerData !== undefined) {
  const { weightsFile, steps } = workerData as { weightsFile: string; steps: number };
  parentPort.postMessage(trainSteps(weightsFile, steps));
}
