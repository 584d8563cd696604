// The run folder's checkpoint files: last.safetensors after every epoch (and
// on Ctrl-C, mid-epoch), best.safetensors when the monitored metric improves.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scope } from '../memory';
import type { Module } from '../nn/module';
import { getRngState } from '../ops/random';
import type { Optimizer } from '../optim/optimizer';
import { buildInfo } from '../runtime';
import type { EpochLogs } from './callbacks';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, saveCheckpoint, type CheckpointMeta, type DataInfo, type PartialEpoch } from './checkpoint';
import type { TrainConfig } from './config';
import type { EarlyStopping } from './early-stopping';
import type { Schedule } from './optimization';

/** Where the run is: what a checkpoint must hold to continue from exactly there. */
export interface RunPosition {
  /** Epochs fully completed. */
  epoch: number;
  /** Batches completed in the next epoch. */
  batch: number;
  globalStep: number;
  partial: PartialEpoch | null;
  best: CheckpointMeta['best'];
}

/** The parts of a run a checkpoint reads. */
export interface RunState {
  config: TrainConfig;
  data: DataInfo;
  model: Module;
  ema: Module | null;
  optimizer: Optimizer;
  schedule: Schedule;
  early: EarlyStopping | null;
  history: readonly EpochLogs[];
  /** Processes training the run (distributed), 1 otherwise. */
  worldSize: number;
}

export class RunCheckpoints {
  readonly last: string;
  readonly best: string;
  readonly #written = new Set<string>();

  constructor(runDir: string) {
    this.last = path.join(runDir, 'last.safetensors');
    this.best = path.join(runDir, 'best.safetensors');
  }

  save(file: string, state: RunState, position: RunPosition): void {
    scope(() => {
      const optimizerState = state.optimizer.stateDict();
      const meta: CheckpointMeta = {
        format: CHECKPOINT_FORMAT,
        version: CHECKPOINT_VERSION,
        config: state.config,
        epoch: position.epoch,
        batch: position.batch,
        globalStep: position.globalStep,
        history: [...state.history],
        optimizerKind: state.optimizer.kind,
        optimizerGroups: optimizerState.groups,
        schedule: state.schedule === null ? null : state.schedule.stateDict(),
        earlyStopping: state.early?.state ?? null,
        best: position.best,
        data: state.data,
        partial: position.partial,
        savedAt: new Date().toISOString(),
        torch: buildInfo().torch,
        ...(state.worldSize === 1 ? {} : { worldSize: state.worldSize }),
      };
      saveCheckpoint(file, { meta, model: state.model.stateDict(), ema: state.ema?.stateDict() ?? null, optimizer: optimizerState, rngState: getRngState() });
    });
    this.#written.add(file);
  }

  /** The checkpoint files that exist now. */
  files(): string[] {
    return [...this.#written].filter((file) => fs.existsSync(file));
  }

  bestIfAny(): string | null {
    return fs.existsSync(this.best) ? this.best : null;
  }
}
