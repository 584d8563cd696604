export { Optimizer, SGD, Adam, AdamW, RMSprop, type OptimizerKind, type SGDOptions, type AdamOptions, type RMSpropOptions, type ParamGroup, type Params, type OptimizerState } from './optimizer';
export { clipGradNorm } from './clip';
export type { GroupOptions, SchedulableOptimizer } from './types';
