// Per-op overhead: the same tiny-tensor ops from TypeScript and from Python
// torch, in one run. Ours runs the ops in scope()s of 100 ops each (the
// trainer's pattern: one scope per step), so the cost of freeing every
// result is included, as Python's refcounting includes it.
import * as tt from '../lib';
import { runPythonBench } from './lib/python';
import { measure } from './lib/timing';

const N = 20000;
const OPS_PER_SCOPE = 100;
const THREADS = Number(process.env.BENCH_THREADS ?? 1);
// Both sides run in alternating rounds; each op's figure is the median of
// its repeats within a round, and the lowest of those over rounds. On this
// shared VM whole stretches of a process run ~1.6x slower (the same build's
// add() took 1,000 or 1,600 ns, with or without the CPU cache, and Python's
// 1,150 or 1,840), and noise only ever adds time.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

export interface OverheadRow {
  case: string;
  torchtsNs: number;
  pytorchNs: number;
  ratio: number;
}

export function runOpOverhead(): OverheadRow[] {
  tt.setNumThreads(THREADS);
  const a = tt.randn([2, 2]);
  const b = tt.randn([2, 2]);
  const w = tt.randn([4, 4]);
  const v = tt.randn([3, 4]);
  const cases: Record<string, () => unknown> = {
    'add(tensor, tensor)': () => a.add(b),
    'mul(tensor, scalar)': () => a.mul(0.5),
    relu: () => a.relu(),
    'sum (all)': () => a.sum(),
    'reshape (view)': () => a.reshape([4]),
    'matmul 3x4 @ 4x4': () => v.matmul(w),
    'add_ in place': () => a.add_(b),
  };
  const measureOurs = (): Record<string, number> => {
    const ours: Record<string, number> = {};
    for (const [name, fn] of Object.entries(cases)) {
      const timing = measure(
        () => {
          for (let step = 0; step < N / OPS_PER_SCOPE; step++) {
            tt.scope(() => {
              for (let i = 0; i < OPS_PER_SCOPE; i++) fn();
            });
          }
        },
        { warmup: 1, repeats: 7 },
      );
      ours[name] = (timing.median / N) * 1e9;
    }
    return ours;
  };
  const oursRounds: Record<string, number>[] = [];
  const theirsRounds: Record<string, number>[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    oursRounds.push(measureOurs());
    theirsRounds.push(runPythonBench<Record<string, number>>('op_overhead.py', [String(THREADS)]));
  }
  const ours = Object.fromEntries(Object.keys(cases).map((name) => [name, Math.min(...oursRounds.map((r) => r[name]!))]));
  const theirs = Object.fromEntries(Object.keys(cases).map((name) => [name, Math.min(...theirsRounds.map((r) => r[name]!))]));
  return Object.keys(cases).map((name) => ({
    case: name,
    torchtsNs: ours[name]!,
    pytorchNs: theirs[name]!,
    ratio: ours[name]! / theirs[name]!,
  }));
}

if (require.main === module) {
  const rows = runOpOverhead();
  console.log('per-op overhead on tiny tensors (ns per op; ratio = torchts / PyTorch, lower is better)');
  for (const row of rows) {
    console.log(`${row.case.padEnd(22)} torchts ${row.torchtsNs.toFixed(0).padStart(6)}  pytorch ${row.pytorchNs.toFixed(0).padStart(6)}  ratio ${row.ratio.toFixed(2)}`);
  }
  const geo = Math.exp(rows.reduce((s, r) => s + Math.log(r.ratio), 0) / rows.length);
  console.log(`geometric mean ratio ${geo.toFixed(2)}`);
}
