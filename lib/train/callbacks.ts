// Callbacks: hooks into the training loop. The built-in progress bar,
// metrics log, plots, checkpoints and early stopping are callbacks too.
import type { Module } from '../nn/module';
import type { Optimizer } from '../optim/optimizer';
import type { TrainConfig } from './config';

/** One epoch's results (a row of the history). */
export interface EpochLogs {
  /** 1-based epoch number. */
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** Validation top-k accuracies (config.topK) and train({ metrics }), by name. */
  valMetrics?: Record<string, number>;
  /** Learning rate at the end of the epoch (first parameter group). */
  lr: number;
  /** Wall time of the epoch's training steps (seconds). */
  seconds: number;
  /** Wall time including validation (seconds). */
  totalSeconds: number;
  imagesPerSecond: number;
  /** [height, width] trained on, when progressive resizing is on. */
  imageSize?: [number, number];
}

/** Called after every step; reading metrics waits for the device, so do it only when needed. */
export interface BatchLogs {
  epoch: number;
  /** 1-based batch index in the epoch. */
  batch: number;
  batches: number;
  images: number;
  lr: number;
  /** Seconds since the epoch started. */
  elapsed: number;
  /** Running mean loss and accuracy of the epoch so far (synchronises with the device). */
  metrics(): { loss: number; accuracy: number };
}

/** What callbacks can see and steer. */
export interface TrainContext {
  readonly config: TrainConfig;
  readonly runDir: string;
  readonly model: Module;
  readonly optimizer: Optimizer;
  readonly history: readonly EpochLogs[];
  readonly epochs: number;
  readonly batchesPerEpoch: number;
  /** Set to true to finish after the current epoch. */
  stopTraining: boolean;
  /** Why training stopped early, for the log. */
  stopReason?: string;
}

export interface Callback {
  onTrainBegin?(context: TrainContext): void | Promise<void>;
  onEpochBegin?(epoch: number, context: TrainContext): void | Promise<void>;
  onBatchEnd?(logs: BatchLogs, context: TrainContext): void;
  onEpochEnd?(logs: EpochLogs, context: TrainContext): void | Promise<void>;
  onTrainEnd?(context: TrainContext): void | Promise<void>;
}

/** Runs a list of callbacks in order. */
export class CallbackList {
  constructor(private readonly callbacks: Callback[]) {}

  async trainBegin(context: TrainContext): Promise<void> {
    for (const callback of this.callbacks) await callback.onTrainBegin?.(context);
  }

  async epochBegin(epoch: number, context: TrainContext): Promise<void> {
    for (const callback of this.callbacks) await callback.onEpochBegin?.(epoch, context);
  }

  batchEnd(logs: BatchLogs, context: TrainContext): void {
    for (const callback of this.callbacks) callback.onBatchEnd?.(logs, context);
  }

  async epochEnd(logs: EpochLogs, context: TrainContext): Promise<void> {
    for (const callback of this.callbacks) await callback.onEpochEnd?.(logs, context);
  }

  async trainEnd(context: TrainContext): Promise<void> {
    for (const callback of this.callbacks) await callback.onTrainEnd?.(context);
  }
}
