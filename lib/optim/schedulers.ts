// Learning-rate schedules, matching torch.optim.lr_scheduler step for step.
// They drive any SchedulableOptimizer (lib/optim/types.ts) through its group options.
export { LRScheduler, type LrSchedule } from './schedules/lr-scheduler';
export { StepLR, type StepLROptions } from './schedules/step-lr';
export { MultiStepLR, type MultiStepLROptions } from './schedules/multi-step-lr';
export { LinearLR, type LinearLROptions } from './schedules/linear-lr';
export { CosineAnnealingLR, type CosineAnnealingLROptions } from './schedules/cosine-annealing-lr';
export { SequentialLR, type SequentialLROptions } from './schedules/sequential-lr';
export { cosineWithWarmup, type CosineWithWarmupOptions } from './schedules/cosine-with-warmup';
export { OneCycleLR, type OneCycleLROptions, type AnnealStrategy } from './schedules/one-cycle-lr';
export {
  ReduceLROnPlateau,
  type ReduceLROnPlateauOptions,
  type PlateauMode,
  type ThresholdMode,
} from './schedules/reduce-lr-on-plateau';
export type { SchedulerState } from './schedules/state';
