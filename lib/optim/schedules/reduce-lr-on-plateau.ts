// ReduceLROnPlateau: multiply the lr by `factor` when a metric (e.g. the
// validation loss) has not improved for `patience` steps.
import type { SchedulableOptimizer } from '../types';
import { checkGroupLrs, checkOptimizer, checkOptions, readGroupLrs, writeGroupLrs, type LrSchedule } from './lr-scheduler';
import { pythonMax } from './python-semantics';
import { encodeFloat, encodeFloats, StateReader, type SchedulerState } from './state';
import { ArgumentChecker } from './validate';
import { ArgumentRangeError, ArgumentTypeError } from '../../errors';

export type PlateauMode = 'min' | 'max';
export type ThresholdMode = 'rel' | 'abs';
const MODES: readonly PlateauMode[] = ['min', 'max'];
const THRESHOLD_MODES: readonly ThresholdMode[] = ['rel', 'abs'];

export interface ReduceLROnPlateauOptions {
  /** 'min': the metric should fall (a loss); 'max': it should rise (an accuracy). Default 'min'. */
  mode?: PlateauMode;
  /** new lr = lr * factor, in [0, 1). Default 0.1. */
  factor?: number;
  /** Steps without improvement tolerated before reducing (an integer >= 0). Default 10. */
  patience?: number;
  /** How much better counts as an improvement. Default 1e-4. */
  threshold?: number;
  /** 'rel': better than best * (1 -+ threshold); 'abs': better than best -+ threshold. Default 'rel'. */
  thresholdMode?: ThresholdMode;
  /** Steps to wait after a reduction before counting bad steps again (an integer >= 0). Default 0. */
  cooldown?: number;
  /** The lowest lr: one for all groups, or one per group. Default 0. */
  minLr?: number | readonly number[];
  /** Reductions smaller than this are skipped. Default 1e-8. */
  eps?: number;
}

export class ReduceLROnPlateau implements LrSchedule {
  readonly kind = 'ReduceLROnPlateau';
  readonly optimizer: SchedulableOptimizer;
  private mode: PlateauMode;
  private factor: number;
  private patience: number;
  private threshold: number;
  private thresholdMode: ThresholdMode;
  private cooldown: number;
  /** The minLr given as one number, so groups added later get it too (PyTorch's default_min_lr). */
  private defaultMinLr: number | null;
  private minLrs: number[];
  private eps: number;
  private epoch = 0;
  private lastLrs: number[];
  private best: number;
  private cooldownCounter = 0;
  private numBadEpochs = 0;

  constructor(optimizer: SchedulableOptimizer, options: ReduceLROnPlateauOptions = {}) {
    this.optimizer = checkOptimizer(optimizer, 'ReduceLROnPlateau');
    const check = new ArgumentChecker('ReduceLROnPlateau');
    const {
      mode = 'min',
      factor = 0.1,
      patience = 10,
      threshold = 1e-4,
      thresholdMode = 'rel',
      cooldown = 0,
      minLr = 0,
      eps = 1e-8,
    } = checkOptions(options, 'ReduceLROnPlateau');
    this.factor = check.number(factor, 'factor', { min: 0, max: 1, maxExclusive: true });
    const groups = this.optimizer.groupCount;
    this.minLrs = check.perGroup(minLr, 'minLr', groups, (v, name) => check.rate(v, name));
    this.defaultMinLr = Array.isArray(minLr) ? null : this.minLrs[0]!;
    this.patience = check.integer(patience, 'patience', 0);
    this.cooldown = check.integer(cooldown, 'cooldown', 0);
    this.eps = check.number(eps, 'eps', { min: 0 });
    this.mode = check.choice(mode, 'mode', MODES);
    this.thresholdMode = check.choice(thresholdMode, 'thresholdMode', THRESHOLD_MODES);
    this.threshold = check.number(threshold, 'threshold', { min: 0 });
    checkGroupLrs(this.optimizer, this.kind);
    this.lastLrs = readGroupLrs(this.optimizer);
    this.best = this.worstValue();
  }

  get lastEpoch(): number {
    return this.epoch;
  }

  getLastLr(): number[] {
    return [...this.lastLrs];
  }

  private worstValue(): number {
    return this.mode === 'min' ? Infinity : -Infinity;
  }

  private isBetter(value: number, best: number): boolean {
    if (this.mode === 'min' && this.thresholdMode === 'rel') return value < best * (1.0 - this.threshold);
    if (this.mode === 'min') return value < best - this.threshold;
    if (this.thresholdMode === 'rel') return value > best * (this.threshold + 1.0);
    return value > best + this.threshold;
  }

  /** Records one value of the metric (a NaN counts as no improvement) and reduces the lr after too many bad steps. */
  step(metric: number): void {
    if (typeof metric !== 'number') throw new ArgumentTypeError(`ReduceLROnPlateau.step: metric must be a number, got ${String(metric)}`);
    this.epoch += 1;
    if (this.isBetter(metric, this.best)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.reduceLr();
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLrs = readGroupLrs(this.optimizer);
  }

  private reduceLr(): void {
    const groups = this.optimizer.groupCount;
    if (this.minLrs.length !== groups) {
      if (this.defaultMinLr === null) {
        throw new ArgumentRangeError(
          `ReduceLROnPlateau: the optimizer has ${groups} parameter groups but minLr was given for ${this.minLrs.length}; a group was added after the scheduler was built`,
        );
      }
      this.minLrs = new Array<number>(groups).fill(this.defaultMinLr);
    }
    readGroupLrs(this.optimizer).forEach((oldLr, group) => {
      const newLr = pythonMax(oldLr * this.factor, this.minLrs[group]!);
      if (oldLr - newLr > this.eps) this.optimizer.setGroupOptions(group, { lr: newLr });
    });
  }

  stateDict(): SchedulerState {
    return {
      kind: this.kind,
      mode: this.mode,
      factor: this.factor,
      patience: this.patience,
      threshold: this.threshold,
      thresholdMode: this.thresholdMode,
      cooldown: this.cooldown,
      defaultMinLr: this.defaultMinLr === null ? null : encodeFloat(this.defaultMinLr),
      minLrs: encodeFloats(this.minLrs),
      eps: this.eps,
      lastEpoch: this.epoch,
      lastLr: encodeFloats(this.lastLrs),
      best: encodeFloat(this.best),
      cooldownCounter: this.cooldownCounter,
      numBadEpochs: this.numBadEpochs,
    };
  }

  /** Restores a state from stateDict(), hyperparameters included, and puts its last lrs back into the optimizer. */
  loadStateDict(state: SchedulerState): void {
    const reader = new StateReader(state, this.kind);
    const groups = this.optimizer.groupCount;
    // Read everything before assigning anything, so a bad state changes nothing.
    const mode = reader.choice('mode', MODES);
    const factor = reader.float('factor');
    const patience = reader.integer('patience');
    const threshold = reader.float('threshold');
    const thresholdMode = reader.choice('thresholdMode', THRESHOLD_MODES);
    const cooldown = reader.integer('cooldown');
    const defaultMinLr = reader.nullableFloat('defaultMinLr');
    const minLrs = reader.floats('minLrs');
    const eps = reader.float('eps');
    const epoch = reader.integer('lastEpoch');
    const lastLrs = reader.floats('lastLr', groups);
    const best = reader.float('best');
    const cooldownCounter = reader.integer('cooldownCounter');
    const numBadEpochs = reader.integer('numBadEpochs');
    this.mode = mode;
    this.factor = factor;
    this.patience = patience;
    this.threshold = threshold;
    this.thresholdMode = thresholdMode;
    this.cooldown = cooldown;
    this.defaultMinLr = defaultMinLr;
    this.minLrs = minLrs;
    this.eps = eps;
    this.epoch = epoch;
    this.lastLrs = lastLrs;
    this.best = best;
    this.cooldownCounter = cooldownCounter;
    this.numBadEpochs = numBadEpochs;
    writeGroupLrs(this.optimizer, lastLrs, this.kind);
  }
}
