// OneCycleLR (the 1cycle policy): lr rises from maxLr / divFactor to maxLr,
// then falls far below the start; momentum (or Adam's beta1) moves the
// opposite way. Not chainable: every step computes lr from the step number.
import type { SchedulableOptimizer } from '../types';
import { cos } from './exact-math';
import { setInitialLrs } from './initial-lr';
import { checkOptions, LRScheduler } from './lr-scheduler';
import { encodeFloats, type JsonValue, type SchedulerState, type StateReader } from './state';
import { ArgumentChecker } from './validate';
import { ArgumentRangeError, ArgumentTypeError } from '../../errors';

export type AnnealStrategy = 'cos' | 'linear';
const ANNEAL_STRATEGIES: readonly AnnealStrategy[] = ['cos', 'linear'];

export interface OneCycleLROptions {
  /** The peak lr: one for all groups, or one per group. */
  maxLr: number | readonly number[];
  /** Steps in the cycle; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent raising the lr, in [0, 1]. Default 0.3. */
  pctStart?: number;
  /** Default 'cos'. */
  annealStrategy?: AnnealStrategy;
  /** Cycle momentum (SGD) or betas[0] (Adam) inversely to the lr. Default true. */
  cycleMomentum?: boolean;
  /** Momentum at the lr peak. Default 0.85. */
  baseMomentum?: number | readonly number[];
  /** Momentum at the start and end. Default 0.95. */
  maxMomentum?: number | readonly number[];
  /** Initial lr = maxLr / divFactor. Default 25. */
  divFactor?: number;
  /** Final lr = initial lr / finalDivFactor. Default 1e4. */
  finalDivFactor?: number;
  /** Three phases (up, down to the initial lr, down to the final lr) as in the paper, instead of fastai's two. Default false. */
  threePhase?: boolean;
}

/** The per-group values that PyTorch keeps in each param_group under these names. */
interface GroupAnchors {
  initialLr: number[];
  maxLr: number[];
  minLr: number[];
  maxMomentum: number[];
  baseMomentum: number[];
}
type LrAnchor = 'initialLr' | 'maxLr' | 'minLr';
type MomentumAnchor = 'maxMomentum' | 'baseMomentum';

interface Phase {
  endStep: number;
  startLr: LrAnchor;
  endLr: LrAnchor;
  startMomentum: MomentumAnchor;
  endMomentum: MomentumAnchor;
}

function schedulePhases(totalSteps: number, pctStart: number, threePhase: boolean): Phase[] {
  if (threePhase) {
    return [
      { endStep: pctStart * totalSteps - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
      { endStep: 2 * pctStart * totalSteps - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
      { endStep: totalSteps - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
    ];
  }
  return [
    { endStep: pctStart * totalSteps - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
    { endStep: totalSteps - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
  ];
}

function annealCos(start: number, end: number, pct: number): number {
  const cosOut = cos(Math.PI * pct) + 1;
  return end + ((start - end) / 2.0) * cosOut;
}

function annealLinear(start: number, end: number, pct: number): number {
  return (end - start) * pct + start;
}

/** Which option momentum cycling drives: PyTorch uses betas[0] when the optimizer has betas, else momentum. */
type MomentumTarget = 'momentum' | 'beta1';

function momentumTargetOf(optimizer: SchedulableOptimizer): MomentumTarget {
  const options = optimizer.getGroupOptions(0);
  if (options.betas !== undefined) return 'beta1';
  if (options.momentum !== undefined) return 'momentum';
  throw new ArgumentTypeError('OneCycleLR: cycleMomentum needs an optimizer whose groups have momentum or betas (or pass cycleMomentum: false)');
}

export class OneCycleLR extends LRScheduler {
  readonly kind = 'OneCycleLR';
  private totalSteps: number;
  private pctStart: number;
  private threePhase: boolean;
  private phases: Phase[];
  private annealStrategy: AnnealStrategy;
  private cycleMomentum: boolean;
  private momentumTarget: MomentumTarget | null;
  private anchors: GroupAnchors;
  /** Read by loadHyperparameters, written to the optimizer once the whole state is loaded. */
  private momentumsToRestore: number[] | null = null;

  constructor(optimizer: SchedulableOptimizer, options: OneCycleLROptions) {
    super(optimizer, 'OneCycleLR');
    const check = new ArgumentChecker('OneCycleLR');
    const groups = this.optimizer.groupCount;
    const {
      maxLr,
      totalSteps,
      epochs,
      stepsPerEpoch,
      pctStart = 0.3,
      annealStrategy = 'cos',
      cycleMomentum = true,
      baseMomentum = 0.85,
      maxMomentum = 0.95,
      divFactor = 25.0,
      finalDivFactor = 1e4,
      threePhase = false,
    } = checkOptions(options, 'OneCycleLR');

    if (totalSteps !== undefined) {
      this.totalSteps = check.integer(totalSteps, 'totalSteps', 1);
    } else if (epochs !== undefined && stepsPerEpoch !== undefined) {
      this.totalSteps = check.integer(epochs, 'epochs', 1) * check.integer(stepsPerEpoch, 'stepsPerEpoch', 1);
    } else {
      throw new ArgumentTypeError('OneCycleLR: give either totalSteps or both epochs and stepsPerEpoch');
    }
    this.pctStart = check.number(pctStart, 'pctStart', { min: 0, max: 1 });
    this.threePhase = check.boolean(threePhase, 'threePhase');
    this.phases = schedulePhases(this.totalSteps, this.pctStart, this.threePhase);
    this.annealStrategy = check.choice(annealStrategy, 'annealStrategy', ANNEAL_STRATEGIES);
    const divisor = check.number(divFactor, 'divFactor', { min: 0, minExclusive: true });
    const finalDivisor = check.number(finalDivFactor, 'finalDivFactor', { min: 0, minExclusive: true });

    const maxLrs = check.perGroup(maxLr, 'maxLr', groups, (v, name) => check.rate(v, name));
    const initialLrs = maxLrs.map((lr) => lr / divisor);
    this.anchors = {
      initialLr: initialLrs,
      maxLr: maxLrs,
      minLr: initialLrs.map((lr) => lr / finalDivisor),
      maxMomentum: [],
      baseMomentum: [],
    };
    this.cycleMomentum = check.boolean(cycleMomentum, 'cycleMomentum');
    this.momentumTarget = null;
    if (this.cycleMomentum) {
      this.momentumTarget = momentumTargetOf(this.optimizer);
      this.anchors.maxMomentum = check.perGroup(maxMomentum, 'maxMomentum', groups, (v, name) => check.rate(v, name));
      this.anchors.baseMomentum = check.perGroup(baseMomentum, 'baseMomentum', groups, (v, name) => check.rate(v, name));
    }
    // PyTorch overwrites group['initial_lr'] here, which SequentialLR and later schedulers read.
    setInitialLrs(this.optimizer, initialLrs);
    if (this.cycleMomentum) this.writeMomentums(this.anchors.maxMomentum);
    this.start();
  }

  private anneal(start: number, end: number, pct: number): number {
    return this.annealStrategy === 'cos' ? annealCos(start, end, pct) : annealLinear(start, end, pct);
  }

  private writeMomentums(momentums: readonly number[]): void {
    momentums.forEach((momentum, group) => {
      if (this.momentumTarget === 'beta1') {
        const betas = this.optimizer.getGroupOptions(group).betas!;
        this.optimizer.setGroupOptions(group, { betas: [momentum, betas[1]] });
      } else {
        this.optimizer.setGroupOptions(group, { momentum });
      }
    });
  }

  private readMomentums(): number[] {
    const momentums: number[] = [];
    for (let group = 0; group < this.optimizer.groupCount; group++) {
      const options = this.optimizer.getGroupOptions(group);
      momentums.push(this.momentumTarget === 'beta1' ? options.betas![0] : options.momentum!);
    }
    return momentums;
  }

  /** Also sets each group's momentum (or beta1), as PyTorch's get_lr does. */
  protected computeLr(): number[] {
    const stepNumber = this.epoch;
    if (stepNumber > this.totalSteps) {
      throw new ArgumentRangeError(`OneCycleLR: tried to step ${stepNumber} times; the specified number of total steps is ${this.totalSteps}`);
    }
    const lrs: number[] = [];
    const momentums: number[] = [];
    for (let group = 0; group < this.optimizer.groupCount; group++) {
      let startStep = 0.0;
      for (let i = 0; i < this.phases.length; i++) {
        const phase = this.phases[i]!;
        if (stepNumber <= phase.endStep || i === this.phases.length - 1) {
          const length = phase.endStep - startStep;
          // Python raises ZeroDivisionError for an empty phase (e.g. pctStart * totalSteps = 1 with threePhase).
          if (length === 0) throw new ArgumentRangeError(`OneCycleLR: phase ${i + 1} has no steps (pctStart ${this.pctStart}, totalSteps ${this.totalSteps})`);
          const pct = (stepNumber - startStep) / length;
          lrs.push(this.anneal(this.anchors[phase.startLr][group]!, this.anchors[phase.endLr][group]!, pct));
          if (this.cycleMomentum) {
            momentums.push(this.anneal(this.anchors[phase.startMomentum][group]!, this.anchors[phase.endMomentum][group]!, pct));
          }
          break;
        }
        startStep = phase.endStep;
      }
    }
    if (this.cycleMomentum) this.writeMomentums(momentums);
    return lrs;
  }

  override stateDict(): SchedulerState {
    return {
      ...super.stateDict(),
      // The optimizer's last momentums, which the next step does not need but the optimizer does.
      lastMomentum: this.cycleMomentum ? encodeFloats(this.readMomentums()) : null,
    };
  }

  /** Also restores the optimizer's momentums (or beta1), like its lrs. */
  override loadStateDict(state: SchedulerState): void {
    super.loadStateDict(state);
    if (this.momentumsToRestore !== null) this.writeMomentums(this.momentumsToRestore);
    this.momentumsToRestore = null;
  }

  protected hyperparameterState(): Record<string, JsonValue> {
    return {
      totalSteps: this.totalSteps,
      pctStart: this.pctStart,
      threePhase: this.threePhase,
      annealStrategy: this.annealStrategy,
      cycleMomentum: this.cycleMomentum,
      momentumTarget: this.momentumTarget,
      initialLr: encodeFloats(this.anchors.initialLr),
      maxLr: encodeFloats(this.anchors.maxLr),
      minLr: encodeFloats(this.anchors.minLr),
      maxMomentum: encodeFloats(this.anchors.maxMomentum),
      baseMomentum: encodeFloats(this.anchors.baseMomentum),
    };
  }

  protected loadHyperparameters(reader: StateReader): void {
    const groups = this.optimizer.groupCount;
    const totalSteps = reader.integer('totalSteps');
    const pctStart = reader.float('pctStart');
    const threePhase = reader.boolean('threePhase');
    const annealStrategy = reader.choice('annealStrategy', ANNEAL_STRATEGIES);
    const cycleMomentum = reader.boolean('cycleMomentum');
    const momentumGroups = cycleMomentum ? groups : 0;
    const momentumTarget = cycleMomentum ? reader.choice('momentumTarget', ['momentum', 'beta1'] as const) : null;
    const anchors: GroupAnchors = {
      initialLr: reader.floats('initialLr', groups),
      maxLr: reader.floats('maxLr', groups),
      minLr: reader.floats('minLr', groups),
      maxMomentum: reader.floats('maxMomentum', momentumGroups),
      baseMomentum: reader.floats('baseMomentum', momentumGroups),
    };
    const lastMomentums = cycleMomentum ? reader.floats('lastMomentum', groups) : null;
    this.totalSteps = totalSteps;
    this.pctStart = pctStart;
    this.threePhase = threePhase;
    this.phases = schedulePhases(totalSteps, pctStart, threePhase);
    this.annealStrategy = annealStrategy;
    this.cycleMomentum = cycleMomentum;
    this.momentumTarget = momentumTarget;
    this.anchors = anchors;
    this.momentumsToRestore = lastMomentums;
  }
}
