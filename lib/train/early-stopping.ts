// Early stopping on a validation metric or the training loss, with an optional restore of the
// best weights at the end (the seed's Keras EarlyStopping).
import type { Callback, EpochLogs, TrainContext } from './callbacks';
import type { EarlyStoppingConfig } from './config';

export interface EarlyStoppingState {
  best: number | null;
  bestEpoch: number;
  wait: number;
}

export class EarlyStopping implements Callback {
  state: EarlyStoppingState = { best: null, bestEpoch: 0, wait: 0 };

  constructor(readonly options: EarlyStoppingConfig) {}

  private value(logs: EpochLogs): number | undefined {
    if (this.options.monitor === 'trainLoss') return logs.trainLoss;
    return this.options.monitor === 'valLoss' ? logs.valLoss : logs.valAccuracy;
  }

  /** Whether it has asked training to stop (patience ran out). */
  get triggered(): boolean {
    return this.state.wait >= this.options.patience;
  }

  /** Whether `logs` is the best epoch so far (by at least minDelta). */
  improves(logs: EpochLogs): boolean {
    const value = this.value(logs);
    if (value === undefined || !Number.isFinite(value)) return false;
    if (this.state.best === null) return true;
    return this.options.monitor === 'valAccuracy' ? value > this.state.best + this.options.minDelta : value < this.state.best - this.options.minDelta;
  }

  onEpochEnd(logs: EpochLogs, context: TrainContext): void {
    if (this.improves(logs)) {
      this.state = { best: this.value(logs)!, bestEpoch: logs.epoch, wait: 0 };
      return;
    }
    this.state.wait += 1;
    if (this.state.wait >= this.options.patience) {
      context.stopTraining = true;
      context.stopReason = `Early stopping: ${this.options.monitor} did not improve for ${this.options.patience} epochs (best ${this.state.best?.toFixed(4)} at epoch ${this.state.bestEpoch})`;
    }
  }
}
