// MultiStepLR: multiply the lr by gamma at each milestone step.
import type { SchedulableOptimizer } from '../types';
import { powInt } from './exact-math';
import { checkOptions, LRScheduler } from './lr-scheduler';
import { bisectRight } from './python-semantics';
import type { JsonValue, StateReader } from './state';
import { ArgumentChecker } from './validate';

export interface MultiStepLROptions {
  /** Steps at which to decay (integers >= 0). A milestone listed n times decays by gamma^n, as in PyTorch's Counter. */
  milestones: readonly number[];
  /** Factor applied at every milestone. Default 0.1. */
  gamma?: number;
}

function countMilestones(milestones: readonly number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const milestone of milestones) counts.set(milestone, (counts.get(milestone) ?? 0) + 1);
  return counts;
}

export class MultiStepLR extends LRScheduler {
  readonly kind = 'MultiStepLR';
  private milestoneCounts: Map<number, number>;
  private gamma: number;

  constructor(optimizer: SchedulableOptimizer, options: MultiStepLROptions) {
    super(optimizer, 'MultiStepLR');
    const check = new ArgumentChecker('MultiStepLR');
    const { milestones, gamma = 0.1 } = checkOptions(options, 'MultiStepLR');
    const checked = check.array(milestones, 'milestones').map((m, i) => check.integer(m, `milestones[${i}]`, 0));
    this.milestoneCounts = countMilestones(checked);
    this.gamma = check.number(gamma, 'gamma', { min: 0 });
    this.start();
  }

  /** Every milestone, repeated by its count, in increasing order (Counter.elements(), sorted). */
  private sortedMilestones(): number[] {
    const all: number[] = [];
    for (const [milestone, count] of this.milestoneCounts) for (let i = 0; i < count; i++) all.push(milestone);
    return all.sort((a, b) => a - b);
  }

  protected computeLr(): number[] {
    const count = this.milestoneCounts.get(this.epoch);
    if (count === undefined) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * powInt(this.gamma, count));
  }

  protected override closedFormLr(): number[] {
    const decays = bisectRight(this.sortedMilestones(), this.epoch);
    return this.baseLrs.map((baseLr) => baseLr * powInt(this.gamma, decays));
  }

  protected hyperparameterState(): Record<string, JsonValue> {
    return { milestones: this.sortedMilestones(), gamma: this.gamma };
  }

  protected loadHyperparameters(reader: StateReader): void {
    const milestones = reader.integers('milestones');
    const gamma = reader.float('gamma');
    this.milestoneCounts = countMilestones(milestones);
    this.gamma = gamma;
  }
}
