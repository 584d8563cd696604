// Data pipeline benchmark on the real CIFAR-10 JPEG archive
// (../shared/data/cifar10-jpg.tar.gz, or the path given as argv[2]):
//
// - first decode: loadDataset() on the .tar.gz with an empty cache
//   (read the archive, decode all 60,000 JPEGs, write the decode cache);
// - cached load: loadDataset() again;
// - exactness: sampled images equal sharp's own decode of each file;
// - the augmented training stream on the CPU at batch 128, in batches/s,
//   next to Python in the same run (bench/data_baseline.py: PIL decode per
//   item + RandomCrop/Flip/Normalize in a DataLoader with 2 workers), and
//   how fast a ResNet-18 consumes batches on this CPU (PyTorch train step).
//
// Run: npx ts-node --transpile-only bench/data.ts [archive]
// Env: BENCH_QUICK=1 for a short run (fewer repeats, no model step).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import * as tar from 'tar';
import { channelStats, DeviceLoader, loadDataset, type AugmentOptions, type LoadedDataset, type ProgressEvent } from '../lib/data';
import { planImageFolder } from '../lib/data/sources/folders';
import { dispose } from '../lib/memory';
import { getNumThreads, setNumThreads } from '../lib/runtime';
import { runPythonBench } from './lib/python';
import { median } from './lib/timing';

const QUICK = process.env.BENCH_QUICK === '1';
const BATCH = 128;

export interface DataBenchResult {
  archive: string;
  firstDecode: { seconds: number[]; read: number; decode: number; cacheWrite: number; batchedImages: string };
  cachedLoad: { seconds: number[] };
  exactness: { checked: number; equal: number };
  stream: { config: string; threads: number; batchesPerSecond: number; samples: number[] }[];
  python: { batchesPerSecond: number; samples: number[]; firstBatchSeconds: number; modelStepSeconds?: number; threads: number };
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

async function timedLoad(archive: string, cacheDir: string): Promise<{ dataset: LoadedDataset; total: number; read: number; decode: number; cacheWrite: number }> {
  const start = process.hrtime.bigint();
  let readEnd = 0;
  let decodeEnd = 0;
  const onProgress = (event: ProgressEvent): void => {
    if (event.phase === 'read' && event.total !== undefined && event.done >= event.total) readEnd = seconds(start);
    if (event.phase === 'decode' && event.total !== undefined && event.done >= event.total) decodeEnd = seconds(start);
  };
  const dataset = await loadDataset({ data: archive, cacheDir, showProgress: false, onProgress });
  const total = seconds(start);
  return { dataset, total, read: readEnd, decode: decodeEnd - readEnd, cacheWrite: total - decodeEnd };
}

/** Batches per second over `batches` batches (or 3 s, whichever comes first), after a warm-up run; median of `repeats`. */
function streamRate(loader: DeviceLoader, batches: number, repeats: number): { median: number; samples: number[] } {
  const samples: number[] = [];
  for (let r = 0; r < repeats + 1; r++) {
    const start = process.hrtime.bigint();
    let n = 0;
    for (const batch of loader.batches(r)) {
      dispose(batch);
      if (++n >= batches || seconds(start) > 3) break;
    }
    if (r > 0) samples.push(n / seconds(start)); // the first run warms up
  }
  return { median: median(samples), samples };
}

export async function runDataBench(archive: string): Promise<DataBenchResult> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-bench-data-'));
  try {
    // First decode, each time into an empty cache.
    const decodeRuns = [];
    for (let r = 0; r < (QUICK ? 1 : 3); r++) decodeRuns.push(await timedLoad(archive, path.join(work, `cache-${r}`)));
    const first = decodeRuns[decodeRuns.length - 1]!;
    const dataset = first.dataset;
    const cacheDir = path.join(work, `cache-${decodeRuns.length - 1}`);
    const cached: number[] = [];
    for (let r = 0; r < 5; r++) {
      const run = await timedLoad(archive, cacheDir);
      if (!run.dataset.fromCache) throw new Error('the second load did not use the cache');
      cached.push(run.total);
    }

    // Extract for Python (and for the exactness check against sharp's per-file decode).
    const extracted = path.join(work, 'extracted');
    fs.mkdirSync(extracted);
    await tar.x({ file: archive, cwd: extracted });
    const root = path.join(extracted, fs.readdirSync(extracted)[0]!);
    const plan = planImageFolder(root);
    const frame = 32 * 32 * 3;
    let checked = 0;
    let equal = 0;
    const all = [...plan.train, ...plan.test];
    for (let i = 0; i < all.length; i += 29) {
      const reference = await sharp(all[i]!.key).raw().toBuffer();
      const set = i < plan.train.length ? dataset.train : dataset.test;
      const k = i < plan.train.length ? i : i - plan.train.length;
      checked++;
      if (Buffer.compare(reference, Buffer.from(set.images.subarray(k * frame, (k + 1) * frame))) === 0) equal++;
    }

    // The augmented stream, as the trainer would set it up.
    const { mean, std } = channelStats(dataset.train);
    const configs: [string, AugmentOptions][] = [
      ['crop(4) + flip (= the Python baseline)', { crop: { padding: 4 }, flip: true }],
      ['crop(4, reflect) + flip + cutout(8)', { crop: { padding: 4, mode: 'reflect' }, flip: true, cutout: { size: 8 } }],
      ["seed's Keras: rotate(15) + shift(0.1) + flip", { rotate: { degrees: 15 }, translate: { fraction: 0.1 }, flip: true }],
    ];
    const defaultThreads = getNumThreads();
    const stream: DataBenchResult['stream'] = [];
    for (const threads of [...new Set([1, defaultThreads])]) {
      setNumThreads(threads);
      for (const [name, augment] of configs) {
        const loader = new DeviceLoader(dataset.train, { batchSize: BATCH, device: 'cpu', shuffle: true, dropLast: true, seed: 0, mean, std, augment });
        const rate = streamRate(loader, QUICK ? 50 : 200, QUICK ? 1 : 3);
        loader.dispose();
        stream.push({ config: name, threads, batchesPerSecond: rate.median, samples: rate.samples });
      }
    }
    setNumThreads(defaultThreads);

    const py = runPythonBench<{ stream: { batches_per_s: number; samples: number[]; first_batch_s: number }; model_step_s?: number; threads: number }>('data_baseline.py', [
      root,
      JSON.stringify({ batch: BATCH, batches: QUICK ? 20 : 60, repeats: QUICK ? 1 : 2, workers: 2, model_repeats: QUICK ? 0 : 2, threads: defaultThreads }),
    ]);
    return {
      archive,
      firstDecode: {
        seconds: decodeRuns.map((run) => run.total),
        read: first.read,
        decode: first.decode,
        cacheWrite: first.cacheWrite,
        batchedImages: `${dataset.train.count + dataset.test.count}`,
      },
      cachedLoad: { seconds: cached },
      exactness: { checked, equal },
      stream,
      python: {
        batchesPerSecond: py.stream.batches_per_s,
        samples: py.stream.samples,
        firstBatchSeconds: py.stream.first_batch_s,
        modelStepSeconds: py.model_step_s,
        threads: py.threads,
      },
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function report(result: DataBenchResult): void {
  const f = (x: number, digits = 2): string => x.toFixed(digits);
  const decode = result.firstDecode;
  console.log(`data pipeline on ${result.archive} (${os.cpus().length} CPUs)`);
  console.log(`first decode of 60,000 JPEGs: ${f(median(decode.seconds))} s median of [${decode.seconds.map((s) => f(s)).join(', ')}] (read ${f(decode.read)} s, decode ${f(decode.decode)} s, cache write ${f(decode.cacheWrite)} s)`);
  console.log(`cached load: ${f(median(result.cachedLoad.seconds), 3)} s median of [${result.cachedLoad.seconds.map((s) => f(s, 3)).join(', ')}]`);
  console.log(`exactness: ${result.exactness.equal} of ${result.exactness.checked} sampled images equal sharp(file).raw()`);
  console.log(`training stream on CPU, batch ${BATCH} (batches/s, higher is better):`);
  for (const row of result.stream) console.log(`  torchts ${row.config.padEnd(46)} threads ${row.threads}: ${f(row.batchesPerSecond, 1).padStart(7)}  [${row.samples.map((s) => f(s, 1)).join(', ')}]`);
  const py = result.python;
  console.log(`  PyTorch DataLoader(2 workers) + PIL, crop(4) + flip:                     ${f(py.batchesPerSecond, 1).padStart(7)}  [${py.samples.map((s) => f(s, 1)).join(', ')}] (first batch after ${f(py.firstBatchSeconds)} s)`);
  for (const row of result.stream.filter((r) => r.config === result.stream[0]!.config)) {
    console.log(`ours / Python (crop + flip, ${row.threads} thread${row.threads > 1 ? 's' : ''}): ${f(row.batchesPerSecond / py.batchesPerSecond, 1)}x`);
  }
  if (py.modelStepSeconds !== undefined) {
    const consumed = 1 / py.modelStepSeconds;
    console.log(`ResNet-18 train step at batch ${BATCH} (PyTorch, ${py.threads} threads): ${f(py.modelStepSeconds)} s, i.e. the model consumes ${f(consumed, 3)} batches/s`);
    const slowest = Math.min(...result.stream.map((row) => row.batchesPerSecond));
    console.log(`slowest torchts stream / model consumption: ${f(slowest / consumed, 0)}x (goal >= 10x)`);
  }
  console.log(JSON.stringify(result));
}

if (require.main === module) {
  const archive = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', 'shared', 'data', 'cifar10-jpg.tar.gz'));
  runDataBench(archive).then(report, (error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
