// CosineAnnealingLR: lr follows half a cosine from the initial lr down to
// etaMin over tMax steps (and back up after, as in PyTorch: no restarts).
import type { SchedulableOptimizer } from '../types';
import { cos } from './exact-math';
import { checkOptions, LRScheduler } from './lr-scheduler';
import { isMultipleOf } from './python-semantics';
import type { JsonValue, StateReader } from './state';
import { ArgumentChecker } from './validate';

export interface CosineAnnealingLROptions {
  /** Steps from the initial lr to etaMin (an integer >= 1). */
  tMax: number;
  /** The lowest lr. Default 0. */
  etaMin?: number;
}

export class CosineAnnealingLR extends LRScheduler {
  readonly kind = 'CosineAnnealingLR';
  private tMax: number;
  private etaMin: number;

  constructor(optimizer: SchedulableOptimizer, options: CosineAnnealingLROptions) {
    super(optimizer, 'CosineAnnealingLR');
    const check = new ArgumentChecker('CosineAnnealingLR');
    const { tMax, etaMin = 0 } = checkOptions(options, 'CosineAnnealingLR');
    this.tMax = check.integer(tMax, 'tMax', 1);
    this.etaMin = check.rate(etaMin, 'etaMin');
    this.start();
  }

  // PyTorch's recursive form, term for term: each step rescales the distance of
  // the current lr from etaMin by the ratio of consecutive cosine factors.
  protected computeLr(): number[] {
    const { epoch, tMax, etaMin } = this;
    if (this.isInitialStep) return this.groupLrs();
    if (this.stepCount === 1 && epoch > 0) {
      // PyTorch takes this branch when built with last_epoch > 0; here only a hand-made state can.
      return this.baseLrs.map((baseLr) => etaMin + ((baseLr - etaMin) * (1 + cos((epoch * Math.PI) / tMax))) / 2);
    }
    if (isMultipleOf(epoch - 1 - tMax, 2 * tMax)) {
      // The previous factor was 0 (a trough), so the ratio form would divide by zero.
      const groupLrs = this.groupLrs();
      return this.baseLrs.map((baseLr, group) => groupLrs[group]! + ((baseLr - etaMin) * (1 - cos(Math.PI / tMax))) / 2);
    }
    const ratio = (1 + cos((Math.PI * epoch) / tMax)) / (1 + cos((Math.PI * (epoch - 1)) / tMax));
    return this.groupLrs().map((lr) => ratio * (lr - etaMin) + etaMin);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((baseLr) => this.etaMin + ((baseLr - this.etaMin) * (1 + cos((Math.PI * this.epoch) / this.tMax))) / 2);
  }

  protected hyperparameterState(): Record<string, JsonValue> {
    return { tMax: this.tMax, etaMin: this.etaMin };
  }

  protected loadHyperparameters(reader: StateReader): void {
    const tMax = reader.integer('tMax');
    const etaMin = reader.float('etaMin');
    this.tMax = tMax;
    this.etaMin = etaMin;
  }
}
