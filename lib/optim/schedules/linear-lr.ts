// LinearLR: scale the lr by a factor moving linearly from startFactor to
// endFactor over totalIters steps (a linear warmup when startFactor < 1).
import type { SchedulableOptimizer } from '../types';
import { checkOptions, LRScheduler } from './lr-scheduler';
import type { JsonValue, StateReader } from './state';
import { ArgumentChecker } from './validate';
import { ArgumentRangeError } from '../../errors';

export interface LinearLROptions {
  /** Factor at step 0, in (0, 1]. Default 1/3. */
  startFactor?: number;
  /** Factor from step totalIters on, in [0, 1]. Default 1. */
  endFactor?: number;
  /** Steps to go from startFactor to endFactor (an integer >= 0). Default 5. */
  totalIters?: number;
}

export class LinearLR extends LRScheduler {
  readonly kind = 'LinearLR';
  private startFactor: number;
  private endFactor: number;
  private totalIters: number;

  constructor(optimizer: SchedulableOptimizer, options: LinearLROptions = {}) {
    super(optimizer, 'LinearLR');
    const check = new ArgumentChecker('LinearLR');
    const { startFactor = 1.0 / 3, endFactor = 1.0, totalIters = 5 } = checkOptions(options, 'LinearLR');
    this.startFactor = check.number(startFactor, 'startFactor', { min: 0, minExclusive: true, max: 1 });
    this.endFactor = check.number(endFactor, 'endFactor', { min: 0, max: 1 });
    this.totalIters = check.integer(totalIters, 'totalIters', 0);
    this.start();
  }

  protected computeLr(): number[] {
    if (this.epoch === 0) return this.groupLrs().map((lr) => lr * this.startFactor);
    if (this.isInitialStep || this.epoch > this.totalIters) return this.groupLrs();
    // The ratio of consecutive factors, so each step rescales the current lr.
    const span = this.endFactor - this.startFactor;
    const ratio = 1.0 + span / (this.totalIters * this.startFactor + (this.epoch - 1) * span);
    return this.groupLrs().map((lr) => lr * ratio);
  }

  protected override closedFormLr(): number[] {
    // Python raises ZeroDivisionError here; NaN lrs would be worse.
    if (this.totalIters === 0) throw new ArgumentRangeError('LinearLR: cannot jump to a step with totalIters 0 (it divides by totalIters)');
    const span = this.endFactor - this.startFactor;
    return this.baseLrs.map((baseLr) => baseLr * (this.startFactor + (span * Math.min(this.totalIters, this.epoch)) / this.totalIters));
  }

  protected hyperparameterState(): Record<string, JsonValue> {
    return { startFactor: this.startFactor, endFactor: this.endFactor, totalIters: this.totalIters };
  }

  protected loadHyperparameters(reader: StateReader): void {
    const startFactor = reader.float('startFactor');
    const endFactor = reader.float('endFactor');
    const totalIters = reader.integer('totalIters');
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = totalIters;
  }
}
