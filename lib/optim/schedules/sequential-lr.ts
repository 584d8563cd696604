// SequentialLR: hand the schedule from one scheduler to the next at given
// steps (e.g. a linear warmup, then cosine annealing). Each scheduler after
// the first starts from step 0 at its milestone.
import type { SchedulableOptimizer } from '../types';
import { initialLrsOf } from './initial-lr';
import { checkOptions, LRScheduler, writeGroupLrs } from './lr-scheduler';
import { bisectRight } from './python-semantics';
import { encodeFloats, StateReader, type JsonValue, type SchedulerState } from './state';
import { ArgumentChecker } from './validate';
import { ArgumentTypeError } from '../../errors';

export interface SequentialLROptions {
  /** The schedulers, in order, all built on the same optimizer. */
  schedulers: readonly LRScheduler[];
  /** The steps at which each scheduler after the first takes over: integers >= 0, increasing, one fewer than schedulers. */
  milestones: readonly number[];
}

export class SequentialLR extends LRScheduler {
  readonly kind = 'SequentialLR';
  private readonly schedulers: readonly LRScheduler[];
  private milestones: number[];

  constructor(optimizer: SchedulableOptimizer, options: SequentialLROptions) {
    super(optimizer, 'SequentialLR');
    const check = new ArgumentChecker('SequentialLR');
    const { schedulers, milestones } = checkOptions(options, 'SequentialLR');
    const checkedSchedulers = check.array(schedulers, 'schedulers');
    if (checkedSchedulers.length < 1) throw check.rangeError('schedulers', 'at least one scheduler', '[]');
    checkedSchedulers.forEach((scheduler, i) => {
      // ReduceLROnPlateau is no LRScheduler here: its step() needs a metric.
      if (!(scheduler instanceof LRScheduler)) {
        throw check.typeError(`schedulers[${i}]`, 'a StepLR, MultiStepLR, LinearLR, CosineAnnealingLR or OneCycleLR', scheduler);
      }
      // PyTorch's nesting half works (an inner SequentialLR cannot restart at a milestone); list the inner schedulers instead.
      if (scheduler instanceof SequentialLR) {
        throw check.typeError(`schedulers[${i}]`, 'a scheduler other than SequentialLR (list its schedulers instead)', scheduler.kind);
      }
      if (scheduler.optimizer !== this.optimizer) {
        throw new ArgumentTypeError(`SequentialLR: schedulers[${i}] (${scheduler.kind}) belongs to a different optimizer`);
      }
    });
    const checkedMilestones = check.array(milestones, 'milestones').map((m, i) => check.integer(m, `milestones[${i}]`, 0));
    if (checkedMilestones.length !== checkedSchedulers.length - 1) {
      throw check.rangeError('milestones', `${checkedSchedulers.length - 1} steps (one fewer than schedulers)`, checkedMilestones);
    }
    if (checkedMilestones.some((m, i) => i > 0 && m <= checkedMilestones[i - 1]!)) {
      throw check.rangeError('milestones', 'strictly increasing', checkedMilestones);
    }
    this.schedulers = checkedSchedulers as LRScheduler[];
    this.milestones = checkedMilestones;
    this.epoch = 0;

    // Each scheduler took its initial step when built: go back to the initial
    // lrs, undo those steps, and redo only the one of the scheduler for step 0.
    writeGroupLrs(this.optimizer, initialLrsOf(this.optimizer), this.kind);
    for (const scheduler of this.schedulers) scheduler.undoInitialStep();
    const first = this.schedulers[bisectRight(this.milestones, 0)]!;
    first.initialStep();
    this.lastLrs = first.getLastLr();
  }

  override step(): void {
    this.epoch += 1;
    const index = bisectRight(this.milestones, this.epoch);
    const scheduler = this.schedulers[index]!;
    if (index > 0 && this.milestones[index - 1] === this.epoch) scheduler.updateLr(0);
    else scheduler.step();
    this.lastLrs = scheduler.getLastLr();
  }

  // Reached only through updateLr(), which SequentialLR never calls on itself.
  protected computeLr(): number[] {
    throw new Error('SequentialLR: has no learning rate formula of its own');
  }

  override stateDict(): SchedulerState {
    return {
      kind: this.kind,
      lastEpoch: this.epoch,
      milestones: [...this.milestones],
      lastLr: encodeFloats(this.lastLrs),
      schedulers: this.schedulers.map((scheduler) => scheduler.stateDict()),
    };
  }

  /** Restores this schedule and every child's (see LRScheduler.loadStateDict about the optimizer's lrs). */
  override loadStateDict(state: SchedulerState): void {
    const reader = new StateReader(state, this.kind);
    const epoch = reader.integer('lastEpoch');
    const milestones = reader.integers('milestones');
    const lastLrs = reader.floats('lastLr', this.optimizer.groupCount);
    if (milestones.length !== this.milestones.length) {
      throw new ArgumentTypeError(`SequentialLR.loadStateDict: field 'milestones' must have ${this.milestones.length} entries, got ${milestones.length}`);
    }
    const childStates = reader.array('schedulers', this.schedulers.length) as SchedulerState[];
    this.schedulers.forEach((scheduler, i) => scheduler.loadStateDict(childStates[i]!));
    this.epoch = epoch;
    this.milestones = milestones;
    this.lastLrs = lastLrs;
    writeGroupLrs(this.optimizer, lastLrs, this.kind);
  }

  protected hyperparameterState(): Record<string, JsonValue> {
    return {};
  }

  protected loadHyperparameters(): void {}
}
