// The seed's image-size question, asked of a trained checkpoint: its test
// accuracy on the 32x32 decodes as trained, and on the same images upscaled
// by an integer factor, nearest, as the post's test code loads them
// (flow_from_directory(target_size=(224, 224)): 7x). A network trained on
// 32x32 images that fails at 224x224 cannot be the network the post tested
// at 224x224 to get 87.92%.
//
//   npx ts-node --transpile-only bench/eval-upscaled.ts <run-dir|checkpoint> [--upscale 1,7] [--data <path>] [--threads 2]
import { parseArgs } from 'node:util';
import { DeviceLoader, loadDataset } from '../lib/data';
import { setNumThreads } from '../lib/runtime';
import { evaluate } from '../lib/train/evaluate';
import { loadTrainedModel } from '../lib/train/predict';
import { NearestUpscale, parseUpscale } from './lib/nearest-upscale';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      upscale: { type: 'string', default: '1,7' },
      data: { type: 'string' },
      threads: { type: 'string' },
      'batch-size': { type: 'string', default: '100' },
    },
  });
  if (positionals.length !== 1) throw new Error('usage: bench/eval-upscaled.ts <run-dir|checkpoint> [--upscale 1,7]');
  if (values.threads !== undefined) setNumThreads(Number(values.threads));
  const factors = values.upscale.split(',').map(parseUpscale);
  const loaded = loadTrainedModel(positionals[0]!, { device: 'cpu', amp: 'off' });
  const { config, data: info } = loaded.meta;
  const data = await loadDataset({ data: values.data ?? config.data, cacheDir: config.cacheDir, targetSize: [info.height, info.width] });
  const loader = new DeviceLoader(data.test, { batchSize: Number(values['batch-size']), device: 'cpu', shuffle: false, dropLast: false, seed: 0, mean: info.mean, std: info.std });
  try {
    for (const factor of factors) {
      const model = factor === 1 ? loaded.model : new NearestUpscale(loaded.model, factor);
      const started = Date.now();
      const result = evaluate(model, loader.batches(0), { classNames: info.classNames, tta: false });
      const size = `${info.height * factor}x${info.width * factor}`;
      process.stdout.write(`${JSON.stringify({ checkpoint: loaded.file, size, loss: result.loss, accuracy: result.accuracy, correct: result.correct, count: result.count, seconds: (Date.now() - started) / 1000 })}\n`);
    }
  } finally {
    loader.dispose();
    loaded.model.dispose();
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
