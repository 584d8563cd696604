// `npm run bench`: every benchmark, torchts next to PyTorch in one run on
// this machine, as a table of ratios, written into BENCHMARKS.md.
//   BENCH_QUICK=1   fewer repeats, 60 batches instead of a full epoch
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tt from '../lib';
import { runEpochBench } from './epoch';
import { runOpOverhead } from './op-overhead';
import { runRssBench } from './rss';
import { spawnSync } from 'node:child_process';
import { DEFAULT_STEP_CONFIG, runStepBench, TUNED_GLIBC_ENV } from './train-step';
import { runPythonBench } from './lib/python';

interface Row {
  case: string;
  torchts: string;
  pytorch: string;
  ratio: number;
  goal: string;
  better: 'higher' | 'lower';
}

const quick = process.env.BENCH_QUICK === '1';
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Seconds for a full addon build into a fresh temporary folder (build/ is left alone). */
function cleanBuildSeconds(): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-bench-build-'));
  try {
    const started = Date.now();
    const result = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'install.js'), '--native-only'], {
      env: { ...process.env, TORCHTS_BUILD_DIR: dir },
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`clean build failed:\n${result.stderr}`);
    return (Date.now() - started) / 1000;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const rows: Row[] = [];
  const log = (text: string) => process.stdout.write(`${text}\n`);

  log('1/6 per-op overhead');
  const overhead = runOpOverhead();
  const geo = Math.exp(overhead.reduce((s, r) => s + Math.log(r.ratio), 0) / overhead.length);
  for (const r of overhead) rows.push({ case: `op overhead: ${r.case}`, torchts: `${fmt(r.torchtsNs)} ns`, pytorch: `${fmt(r.pytorchNs)} ns`, ratio: r.ratio, goal: '', better: 'lower' });
  rows.push({ case: 'op overhead: geometric mean', torchts: '', pytorch: '', ratio: geo, goal: '<= 1.0', better: 'lower' });

  log('2-3/6 ResNet-18 train step (batch 128) and inference (batch 256), fp32');
  const repeats = quick ? { imagenet: 3, cifar: 2 } : DEFAULT_STEP_CONFIG.repeats;
  for (const r of runStepBench({ ...DEFAULT_STEP_CONFIG, repeats })) {
    rows.push({ case: `${r.case.replace('_', ' step, ').replace('infer step', 'inference')} stem, fp32`, torchts: `${fmt(r.torchts)} img/s`, pytorch: `${fmt(r.pytorch)} img/s`, ratio: r.ratio, goal: r.case.startsWith('train') ? '>= 1.0' : '', better: 'higher' });
  }
  log('   ... imagenet stem with bf16 autocast + channels_last on both sides');
  for (const r of runStepBench({ ...DEFAULT_STEP_CONFIG, repeats, stems: ['imagenet'], amp: true, channelsLast: true })) {
    rows.push({ case: `${r.case.replace('_', ' step, ').replace('infer step', 'inference')} stem, bf16 + channels_last`, torchts: `${fmt(r.torchts)} img/s`, pytorch: `${fmt(r.pytorch)} img/s`, ratio: r.ratio, goal: '', better: 'higher' });
  }

  // torchts caches large CPU blocks itself; stock PyTorch leaves them to glibc.
  // PyTorch given hand-tuned glibc shows how much of the lead is that.
  log('   ... PyTorch with glibc malloc tuned by hand (fp32 train steps)');
  for (const r of runStepBench({ ...DEFAULT_STEP_CONFIG, repeats, inference: false }, TUNED_GLIBC_ENV)) {
    rows.push({ case: `${r.case.replace('_', ' step, ')} stem, fp32, PyTorch with glibc tuned by hand (GLIBC_TUNABLES mmap_max=0, no trim)`, torchts: `${fmt(r.torchts)} img/s`, pytorch: `${fmt(r.pytorch)} img/s`, ratio: r.ratio, goal: '', better: 'higher' });
  }

  log('4/6 an epoch end to end from the JPEG archive (cached decode), imagenet stem');
  const epoch = await runEpochBench({ batches: quick ? 60 : 0 });
  rows.push({ case: `epoch end to end (${epoch.batches || 'all'} batches), ours vs DataLoader(PIL, 2 workers)`, torchts: `${fmt(epoch.torchts)} img/s`, pytorch: `${fmt(epoch.pytorch)} img/s`, ratio: epoch.ratio, goal: '>= 1.2', better: 'higher' });

  log('5/6 peak RSS of a 200-step run');
  const rss = runRssBench(quick ? 50 : 200);
  rows.push({ case: `peak RSS, ${rss.steps} train steps`, torchts: `${fmt(rss.torchtsBytes / 1024 ** 2)} MB`, pytorch: `${fmt(rss.pytorchBytes / 1024 ** 2)} MB`, ratio: rss.ratio, goal: '<= 1.1', better: 'lower' });

  log('6/6 build time: the addon from an empty build folder (BENCH_SKIP_BUILD=1 skips)');
  const build = process.env.BENCH_SKIP_BUILD === '1' ? null : cleanBuildSeconds();

  const torchVersion = runPythonBench<{ version: string }>('versions.py').version;
  const header = [
    `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${fmt(os.totalmem() / 1024 ** 3)} GB; Node ${process.version}; libtorch ${tt.buildInfo().torch} (torchts), PyTorch ${torchVersion} (Python); 2 threads on both sides.`,
    `Command: \`${quick ? 'BENCH_QUICK=1 ' : ''}npm run bench\` (${new Date().toISOString().slice(0, 10)}, ${fmt((Date.now() - started) / 60000, 1)} min).`,
    build !== null ? `Addon build (\`node scripts/install.js --native-only\` into an empty build folder: cmake configure, precompiled header, ${fmt(build)} s); \`npm install\` adds the npm packages and \`tsc\`.` : '',
  ].filter(Boolean);
  const table = [
    '| case | torchts | PyTorch | ratio (ours / PyTorch) | goal |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.case} | ${r.torchts} | ${r.pytorch} | ${r.ratio.toFixed(2)} (${r.better} is better) | ${r.goal} |`),
  ];
  const section = [...header, '', ...table].join('\n');
  log(`\n${section}\n`);
  const file = path.join(__dirname, '..', 'BENCHMARKS.md');
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = '<!-- bench:summary:start -->';
  const end = '<!-- bench:summary:end -->';
  const block = `${start}\n${section}\n${end}`;
  const updated = text.includes(start) ? text.replace(new RegExp(`${start}[\\s\\S]*?${end}`), block) : text.replace(/^(# .*\n)/, `$1\n## Summary (npm run bench)\n\n${block}\n`);
  fs.writeFileSync(file, updated);
  log(`wrote ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
