// StepLR: multiply the lr by gamma every stepSize steps.
import type { SchedulableOptimizer } from '../types';
import { powInt } from './exact-math';
import { checkOptions, LRScheduler } from './lr-scheduler';
import { floorDivide, isMultipleOf } from './python-semantics';
import type { JsonValue, StateReader } from './state';
import { ArgumentChecker } from './validate';

export interface StepLROptions {
  /** Steps between decays (an integer >= 1). */
  stepSize: number;
  /** Factor applied at every decay. Default 0.1. */
  gamma?: number;
}

export class StepLR extends LRScheduler {
  readonly kind = 'StepLR';
  private stepSize: number;
  private gamma: number;

  constructor(optimizer: SchedulableOptimizer, options: StepLROptions) {
    super(optimizer, 'StepLR');
    const check = new ArgumentChecker('StepLR');
    const { stepSize, gamma = 0.1 } = checkOptions(options, 'StepLR');
    this.stepSize = check.integer(stepSize, 'stepSize', 1);
    this.gamma = check.number(gamma, 'gamma', { min: 0 });
    this.start();
  }

  protected computeLr(): number[] {
    if (this.epoch === 0 || !isMultipleOf(this.epoch, this.stepSize)) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((baseLr) => baseLr * powInt(this.gamma, floorDivide(this.epoch, this.stepSize)));
  }

  protected hyperparameterState(): Record<string, JsonValue> {
    return { stepSize: this.stepSize, gamma: this.gamma };
  }

  protected loadHyperparameters(reader: StateReader): void {
    const stepSize = reader.integer('stepSize');
    const gamma = reader.float('gamma');
    this.stepSize = stepSize;
    this.gamma = gamma;
  }
}
