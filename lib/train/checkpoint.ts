// Training checkpoints: one safetensors file holding the model (and EMA)
// weights, the optimizer state and the RNG state as tensors, and everything
// else (config, progress, schedule, history, data statistics) as JSON
// metadata. Written atomically, so a crash leaves the previous file intact.
import { readSafetensorsFile, writeSafetensorsFile, SafetensorsError } from '../io/safetensors';
import type { Tensor } from '../tensor';
import type { GroupOptions } from '../optim/types';
import type { OptimizerKind, OptimizerState } from '../optim/optimizer';
import type { EpochLogs } from './callbacks';
import type { TrainConfig } from './config';
import type { EarlyStoppingState } from './early-stopping';

export const CHECKPOINT_FORMAT = 'torchts-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface DataInfo {
  classNames: string[];
  mean: number[];
  std: number[];
  height: number;
  width: number;
  source: string;
}

/** Running sums of a partly finished epoch, so a resumed epoch reports the same metrics. */
export interface PartialEpoch {
  lossSum: number;
  correct: number;
  seen: number;
  seconds: number;
}

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  config: TrainConfig;
  /** Epochs fully completed. */
  epoch: number;
  /** Batches completed in the following epoch (0 at an epoch boundary). */
  batch: number;
  globalStep: number;
  history: EpochLogs[];
  optimizerKind: OptimizerKind;
  optimizerGroups: GroupOptions[];
  schedule: unknown;
  earlyStopping: EarlyStoppingState | null;
  best: { monitor: string; value: number; epoch: number } | null;
  data: DataInfo;
  partial: PartialEpoch | null;
  savedAt: string;
  torch: string;
  /** Processes that trained the run (absent: 1); a resume must use as many, since the schedule counts their steps. */
  worldSize?: number;
}

export interface CheckpointContents {
  meta: CheckpointMeta;
  model: Map<string, Tensor>;
  ema: Map<string, Tensor> | null;
  optimizer: OptimizerState | null;
  rngState: Tensor | null;
}

export class CheckpointError extends Error {
  readonly code = 'ERR_TORCHTS_CHECKPOINT';
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export function saveCheckpoint(file: string, contents: CheckpointContents): void {
  const tensors = new Map<string, Tensor>();
  for (const [name, tensor] of contents.model) tensors.set(`model.${name}`, tensor);
  if (contents.ema !== null) for (const [name, tensor] of contents.ema) tensors.set(`ema.${name}`, tensor);
  if (contents.optimizer !== null) for (const [name, tensor] of contents.optimizer.state) tensors.set(`optim.${name}`, tensor);
  if (contents.rngState !== null) tensors.set('rng.cpu', contents.rngState);
  writeSafetensorsFile(file, tensors, { torchts: JSON.stringify(contents.meta) });
}

/** Reads a checkpoint, checking that it is one (and of a version this torchts understands). */
export function loadCheckpoint(file: string): CheckpointContents {
  const { tensors, metadata } = readSafetensorsFile(file);
  const release = () => tensors.forEach((t) => t.dispose());
  let meta: CheckpointMeta;
  try {
    if (metadata.torchts === undefined) throw new CheckpointError(`${file}: not a torchts checkpoint (no 'torchts' metadata); for plain weights use loadSafetensors(file)`);
    try {
      meta = JSON.parse(metadata.torchts) as CheckpointMeta;
    } catch {
      throw new CheckpointError(`${file}: checkpoint metadata is not valid JSON`);
    }
    if (meta.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${file}: unknown checkpoint format '${String(meta.format)}'`);
    if (meta.version > CHECKPOINT_VERSION) throw new CheckpointError(`${file}: checkpoint version ${meta.version} is newer than this torchts understands (${CHECKPOINT_VERSION})`);
  } catch (error) {
    release();
    throw error;
  }
  const take = (prefix: string): Map<string, Tensor> => {
    const out = new Map<string, Tensor>();
    for (const [name, tensor] of tensors) if (name.startsWith(prefix)) out.set(name.slice(prefix.length), tensor);
    return out;
  };
  const model = take('model.');
  if (model.size === 0) {
    release();
    throw new CheckpointError(`${file}: checkpoint holds no model weights`);
  }
  const ema = take('ema.');
  const optimState = take('optim.');
  return {
    meta,
    model,
    ema: ema.size > 0 ? ema : null,
    optimizer: meta.optimizerGroups ? { kind: meta.optimizerKind, state: optimState, groups: meta.optimizerGroups } : null,
    rngState: tensors.get('rng.cpu') ?? null,
  };
}

export { SafetensorsError };
