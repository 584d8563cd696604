// Timing helpers shared by the benchmarks: warm-up, repeats, medians.

export interface Timing {
  /** Median seconds per repeat. */
  median: number;
  /** Every repeat, in seconds. */
  samples: number[];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `fn` `warmup` times untimed, then `repeats` times timed. */
export function measure(fn: () => void, options: { warmup?: number; repeats?: number } = {}): Timing {
  for (let i = 0; i < (options.warmup ?? 2); i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < (options.repeats ?? 7); i++) {
    const start = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return { median: median(samples), samples };
}
