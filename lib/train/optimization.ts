// The optimizer and learning-rate schedule a TrainConfig asks for, and what
// resuming may change about them.
import type { Module } from '../nn/module';
import { Adam, AdamW, type Optimizer, SGD } from '../optim/optimizer';
import { cosineWithWarmup, OneCycleLR, ReduceLROnPlateau, StepLR } from '../optim/schedulers';
import type { Tensor } from '../tensor';
import { ConfigError, type TrainConfig } from './config';

export type Schedule = OneCycleLR | StepLR | ReduceLROnPlateau | ReturnType<typeof cosineWithWarmup> | null;

export interface ParameterGroup {
  params: Tensor[];
  weightDecay: number;
  /** Multiplies config.lr for this group (a lower lr for a pretrained backbone). */
  lrScale?: number;
}

/**
 * Weight decay for conv/linear weights, none for BatchNorm and biases (unless
 * decayNormAndBias); frozen parameters (requiresGrad false) are left out.
 */
export function decayGroups(params: readonly [string, Tensor][], config: TrainConfig, lrScale = 1): ParameterGroup[] {
  const trainable = params.filter(([, p]) => p.requiresGrad);
  if (config.decayNormAndBias) return [{ params: trainable.map(([, p]) => p), weightDecay: config.weightDecay, lrScale }];
  const decay: Tensor[] = [];
  const noDecay: Tensor[] = [];
  for (const [name, p] of trainable) (p.ndim <= 1 || name.endsWith('.bias') ? noDecay : decay).push(p);
  return [
    { params: decay, weightDecay: config.weightDecay, lrScale },
    { params: noDecay, weightDecay: 0, lrScale },
  ].filter((group) => group.params.length > 0);
}

export function buildOptimizer(model: Module, config: TrainConfig, groups: ParameterGroup[] = decayGroups(model.namedParameters(), config)): Optimizer {
  if (groups.every((group) => group.params.length === 0)) throw new ConfigError('the model has no trainable parameters (all are frozen)');
  const withLr = groups.map(({ params, weightDecay, lrScale = 1 }) => ({ params, weightDecay, lr: config.lr * lrScale }));
  switch (config.optimizer) {
    case 'sgd':
      return new SGD(withLr, { lr: config.lr, momentum: config.momentum, nesterov: config.nesterov });
    case 'adam':
      return new Adam(withLr, { lr: config.lr, eps: config.adamEps });
    case 'adamw':
      return new AdamW(withLr, { lr: config.lr, eps: config.adamEps });
  }
}

export function buildSchedule(optimizer: Optimizer, config: TrainConfig, stepsPerEpoch: number): Schedule {
  const totalSteps = config.epochs * stepsPerEpoch;
  switch (config.schedule) {
    case 'onecycle':
      return oneCycle(optimizer, config, totalSteps, stepsPerEpoch);
    case 'cosine':
      return cosineWithWarmup(optimizer, { warmupSteps: Math.round(config.warmupEpochs * stepsPerEpoch), totalSteps });
    case 'step':
      return new StepLR(optimizer, { stepSize: config.stepEpochs, gamma: config.gamma });
    case 'plateau':
      return new ReduceLROnPlateau(optimizer, {
        mode: config.plateau.monitor === 'valLoss' ? 'min' : 'max',
        factor: config.plateau.factor,
        patience: config.plateau.patience,
        threshold: config.plateau.threshold,
        cooldown: config.plateau.cooldown,
        minLr: config.plateau.minLr,
      });
    case 'constant':
      return null;
  }
}

/** One-cycle over the run; too few steps for its warm-up phase is a ConfigError that says what to change. */
function oneCycle(optimizer: Optimizer, config: TrainConfig, totalSteps: number, stepsPerEpoch: number): OneCycleLR {
  try {
    return new OneCycleLR(optimizer, {
      maxLr: Array.from({ length: optimizer.groupCount }, (_, group) => optimizer.getLr(group)),
      totalSteps,
      pctStart: config.pctStart,
      divFactor: config.divFactor,
      finalDivFactor: config.finalDivFactor,
      cycleMomentum: config.optimizer === 'sgd' && config.momentum > 0,
    });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new ConfigError(
      `schedule 'onecycle': ${config.epochs} epochs x ${stepsPerEpoch} batches = ${totalSteps} steps are too few for pctStart ${config.pctStart} (${error.message}); ` +
        "raise epochs, lower batchSize, or use schedule 'constant'",
    );
  }
}

/** One-cycle and cosine step every batch; step and plateau once per epoch. */
export const stepsEveryBatch = (config: TrainConfig): boolean => config.schedule === 'onecycle' || config.schedule === 'cosine';

/** Schedules laid out over the whole run: their curve depends on `epochs`. */
const FIXED_LENGTH: ReadonlySet<TrainConfig['schedule']> = new Set(['onecycle', 'cosine']);

/**
 * Resuming with more epochs than the run was started with: step, plateau and
 * constant schedules just go on; one-cycle and cosine were laid out over the
 * original length and have annealed to their floor by its end, so stretching
 * them would jump the lr back up mid-run. That is refused, naming what to do.
 */
export function checkEpochsOnResume(saved: TrainConfig, epochs: number, completed: number, checkpointFile: string): void {
  if (epochs < completed) throw new ConfigError(`cannot resume with epochs ${epochs}: the run has already completed ${completed} epochs`);
  if (epochs > saved.epochs && FIXED_LENGTH.has(saved.schedule)) {
    throw new ConfigError(
      `cannot resume with epochs ${epochs}: the run's '${saved.schedule}' schedule was laid out over its ${saved.epochs} epochs ` +
        `and cannot be stretched without jumping the lr back up. To train longer, start a new run from its weights ` +
        `(train({ weights: '${checkpointFile}', epochs: N }) or --weights), or resume with epochs <= ${saved.epochs}`,
    );
  }
}
