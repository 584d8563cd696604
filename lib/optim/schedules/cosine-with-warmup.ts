// Cosine annealing after a linear warmup, the usual schedule for training from
// scratch, built from PyTorch's pieces so it matches them exactly.
import type { SchedulableOptimizer } from '../types';
import { CosineAnnealingLR } from './cosine-annealing-lr';
import { LinearLR } from './linear-lr';
import { checkOptions } from './lr-scheduler';
import { SequentialLR } from './sequential-lr';
import { ArgumentChecker } from './validate';

export interface CosineWithWarmupOptions {
  /** Steps of linear warmup (an integer >= 0). */
  warmupSteps: number;
  /** Steps of the whole schedule, warmup included (> warmupSteps). */
  totalSteps: number;
  /** The lr factor at step 0, in (0, 1]. Default 1/3 (LinearLR's default). */
  warmupStartFactor?: number;
  /** The lr reached at totalSteps. Default 0. */
  etaMin?: number;
}

/**
 * SequentialLR([LinearLR(startFactor, 1, warmupSteps), CosineAnnealingLR(totalSteps - warmupSteps, etaMin)], [warmupSteps]):
 * the lr rises linearly to the optimizer's lr over warmupSteps, then follows a cosine down to etaMin at totalSteps.
 */
export function cosineWithWarmup(optimizer: SchedulableOptimizer, options: CosineWithWarmupOptions): SequentialLR {
  const check = new ArgumentChecker('cosineWithWarmup');
  const { warmupSteps, totalSteps, warmupStartFactor = 1.0 / 3, etaMin = 0 } = checkOptions(options, 'cosineWithWarmup');
  const warmup = check.integer(warmupSteps, 'warmupSteps', 0);
  const total = check.integer(totalSteps, 'totalSteps', warmup + 1);
  const linear = new LinearLR(optimizer, { startFactor: warmupStartFactor, endFactor: 1.0, totalIters: warmup });
  const cosine = new CosineAnnealingLR(optimizer, { tMax: total - warmup, etaMin });
  return new SequentialLR(optimizer, { schedulers: [linear, cosine], milestones: [warmup] });
}
