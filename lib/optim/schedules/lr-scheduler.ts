// The base of the epoch-driven schedules: PyTorch's LRScheduler, with the same
// initial step, last_epoch and _step_count bookkeeping, so that the chainable
// ("recursive") formulas of the subclasses see the same state as in PyTorch.
import type { SchedulableOptimizer } from '../types';
import { adoptInitialLrs } from './initial-lr';
import { encodeFloats, StateReader, type JsonValue, type SchedulerState } from './state';
import { ArgumentRangeError, ArgumentTypeError } from '../../errors';

/** What every schedule offers (ReduceLROnPlateau too, whose step() takes a metric). */
export interface LrSchedule {
  /** Steps taken so far; PyTorch's last_epoch. */
  readonly lastEpoch: number;
  /** The learning rate of each parameter group after the latest step. */
  getLastLr(): number[];
  /** A plain JSON value from which loadStateDict resumes the schedule exactly. */
  stateDict(): SchedulerState;
  loadStateDict(state: SchedulerState): void;
}

export function checkOptimizer(optimizer: unknown, owner: string): SchedulableOptimizer {
  const candidate = optimizer as Partial<SchedulableOptimizer> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.getGroupOptions !== 'function' ||
    typeof candidate.setGroupOptions !== 'function' ||
    typeof candidate.groupCount !== 'number'
  ) {
    throw new ArgumentTypeError(`${owner}: optimizer must have groupCount, getGroupOptions() and setGroupOptions(), got ${String(optimizer)}`);
  }
  if (!Number.isInteger(candidate.groupCount) || candidate.groupCount < 1) {
    throw new ArgumentRangeError(`${owner}: optimizer must have at least one parameter group, got groupCount ${candidate.groupCount}`);
  }
  return candidate as SchedulableOptimizer;
}

/** Options objects: undefined means all defaults. */
export function checkOptions<T extends object>(options: T | undefined, owner: string): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ArgumentTypeError(`${owner}: options must be an object, got ${String(options)}`);
  }
  return options;
}

export function readGroupLrs(optimizer: SchedulableOptimizer): number[] {
  const lrs: number[] = [];
  for (let group = 0; group < optimizer.groupCount; group++) lrs.push(optimizer.getGroupOptions(group).lr);
  return lrs;
}

export function writeGroupLrs(optimizer: SchedulableOptimizer, lrs: readonly number[], owner: string): void {
  if (lrs.length !== optimizer.groupCount) {
    throw new ArgumentRangeError(`${owner}: has ${lrs.length} learning rates but the optimizer now has ${optimizer.groupCount} parameter groups`);
  }
  lrs.forEach((lr, group) => optimizer.setGroupOptions(group, { lr }));
}

/** Checks that every group starts from a usable learning rate. */
export function checkGroupLrs(optimizer: SchedulableOptimizer, owner: string): void {
  readGroupLrs(optimizer).forEach((lr, group) => {
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      throw new ArgumentRangeError(`${owner}: the lr of parameter group ${group} must be a finite number >= 0, got ${String(lr)}`);
    }
  });
}

export abstract class LRScheduler implements LrSchedule {
  /** The class name, recorded in the state so a state cannot be loaded into another kind of schedule. */
  abstract readonly kind: string;
  readonly optimizer: SchedulableOptimizer;
  protected epoch = -1;
  /** PyTorch's base_lrs: the groups' initial_lr. */
  protected baseLrs: number[] = [];
  /** PyTorch's _step_count: calls of step() since the (last) initial step, which counts as the first. */
  protected stepCount = 0;
  /** PyTorch's _is_initial: some formulas keep the lr unchanged on the constructor's step. */
  protected isInitialStep = false;
  protected lastLrs: number[] = [];

  protected constructor(optimizer: unknown, owner: string) {
    this.optimizer = checkOptimizer(optimizer, owner);
  }

  get lastEpoch(): number {
    return this.epoch;
  }

  /** PyTorch's LRScheduler.__init__ with last_epoch = -1; subclasses call it once their fields are set. */
  protected start(): void {
    checkGroupLrs(this.optimizer, this.kind);
    this.baseLrs = adoptInitialLrs(this.optimizer);
    this.epoch = -1;
    this.initialStep();
  }

  /** Advances the schedule by one step (call it after optimizer.step()). */
  step(): void {
    this.stepCount += 1;
    this.updateLr();
  }

  getLastLr(): number[] {
    return [...this.lastLrs];
  }

  /** @internal PyTorch's _initial_step; SequentialLR repeats it for its first scheduler. */
  initialStep(): void {
    this.stepCount = 0;
    this.isInitialStep = true;
    try {
      this.step();
    } finally {
      this.isInitialStep = false;
    }
  }

  /** @internal SequentialLR's recursive_undo of the step each scheduler took when built. */
  undoInitialStep(): void {
    this.epoch -= 1;
  }

  /**
   * @internal PyTorch's _update_lr. Without an epoch it takes the chainable step;
   * with one (SequentialLR restarting a scheduler at 0) it jumps there with the
   * closed form where the schedule has one.
   */
  updateLr(epoch?: number): void {
    let lrs: number[];
    if (epoch === undefined) {
      this.epoch += 1;
      lrs = this.computeLr();
    } else {
      this.epoch = epoch;
      lrs = this.closedFormLr() ?? this.computeLr();
    }
    writeGroupLrs(this.optimizer, lrs, this.kind);
    this.lastLrs = readGroupLrs(this.optimizer);
  }

  /** PyTorch's get_lr: the next lrs, usually from the groups' current lrs. */
  protected abstract computeLr(): number[];

  /** PyTorch's _get_closed_form_lr, where the schedule has one. */
  protected closedFormLr(): number[] | undefined {
    return undefined;
  }

  protected groupLrs(): number[] {
    return readGroupLrs(this.optimizer);
  }

  stateDict(): SchedulerState {
    return {
      kind: this.kind,
      lastEpoch: this.epoch,
      stepCount: this.stepCount,
      baseLrs: encodeFloats(this.baseLrs),
      lastLr: encodeFloats(this.lastLrs),
      ...this.hyperparameterState(),
    };
  }

  /**
   * Restores a state from stateDict(), hyperparameters included (as PyTorch's
   * load_state_dict does). It also puts the state's last lrs back into the
   * optimizer: the chainable formulas continue from the groups' lrs, which
   * PyTorch restores from the optimizer's own state_dict; doing it here resumes
   * exactly whether or not the optimizer checkpoint carries its group options.
   */
  loadStateDict(state: SchedulerState): void {
    const reader = new StateReader(state, this.kind);
    const groups = this.optimizer.groupCount;
    const epoch = reader.integer('lastEpoch');
    const stepCount = reader.integer('stepCount');
    const baseLrs = reader.floats('baseLrs', groups);
    const lastLrs = reader.floats('lastLr', groups);
    this.loadHyperparameters(reader);
    this.epoch = epoch;
    this.stepCount = stepCount;
    this.baseLrs = baseLrs;
    this.lastLrs = lastLrs;
    writeGroupLrs(this.optimizer, lastLrs, this.kind);
  }

  /** The subclass's own fields, as JSON. */
  protected abstract hyperparameterState(): Record<string, JsonValue>;

  /** Reads (and checks) every field first, then assigns, so a bad state changes nothing. */
  protected abstract loadHyperparameters(reader: StateReader): void;
}
