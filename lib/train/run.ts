// Opening a run: its configuration (fresh, or from the checkpoint being
// resumed, where only a few options may change) and its folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeStaleTempFiles, writeTextAtomic } from '../io/atomic';
import { loadCheckpoint, type CheckpointContents } from './checkpoint';
import { ConfigError, resolveConfig, type PresetName, type TrainConfig } from './config';
import { checkEpochsOnResume } from './optimization';

export interface OpenedRun {
  config: TrainConfig;
  runDir: string;
  /** The checkpoint being resumed, or null for a fresh run. */
  resumed: CheckpointContents | null;
}

/** What a resumed run may change: where and how fast it runs, and how long (see checkEpochsOnResume). */
const CHANGEABLE_ON_RESUME = new Set(['epochs', 'device', 'threads', 'plots', 'logEverySteps']);

function defaultRunDir(config: TrainConfig): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
  const label = (config.preset ?? config.model).replace(/[^\w.-]+/g, '-');
  return path.resolve('runs', `${stamp}-${label}`);
}

function definedEntries(overrides: Partial<TrainConfig>): [string, unknown][] {
  return Object.entries(overrides).filter(([, value]) => value !== undefined);
}

function resumeRun(resume: string, overrides: Partial<TrainConfig> & { preset?: PresetName }): OpenedRun {
  const file = fs.existsSync(resume) && fs.statSync(resume).isDirectory() ? path.join(resume, 'last.safetensors') : resume;
  if (!fs.existsSync(file)) throw new ConfigError(`cannot resume: ${file} does not exist`);
  const changed = definedEntries(overrides)
    .map(([key]) => key)
    .filter((key) => !CHANGEABLE_ON_RESUME.has(key) && key !== 'preset' && key !== 'model');
  if (changed.length > 0) throw new ConfigError(`when resuming, only ${[...CHANGEABLE_ON_RESUME].join(', ')} may change; got ${changed.join(', ')}`);
  const resumed = loadCheckpoint(file);
  try {
    const saved = resumed.meta.config;
    const config = resolveConfig({ ...saved, ...Object.fromEntries(definedEntries(overrides).filter(([key]) => key !== 'model')) } as Partial<TrainConfig>);
    checkEpochsOnResume(saved, config.epochs, resumed.meta.epoch, file);
    return { config, runDir: path.dirname(path.resolve(file)), resumed };
  } catch (error) {
    releaseCheckpoint(resumed);
    throw error;
  }
}

/** Frees the tensors of a loaded checkpoint. */
export function releaseCheckpoint(contents: CheckpointContents): void {
  contents.model.forEach((t) => t.dispose());
  contents.ema?.forEach((t) => t.dispose());
  contents.optimizer?.state.forEach((t) => t.dispose());
  contents.rngState?.dispose();
}

/**
 * The run's config and folder; writes config.json and clears half-written
 * checkpoints of a run that was killed. `model` is the model name given to
 * train(), if it gave one.
 */
export function openRun(resume: string | undefined, overrides: Partial<TrainConfig> & { preset?: PresetName }, options: { writes?: boolean } = {}): OpenedRun {
  const opened = resume !== undefined ? resumeRun(resume, overrides) : freshRun(overrides);
  // Distributed ranks other than 0 read the run but write nothing to it.
  if (options.writes === false) return opened;
  fs.mkdirSync(opened.runDir, { recursive: true });
  removeStaleTempFiles(opened.runDir);
  writeRunConfig(opened);
  return opened;
}

export function writeRunConfig(run: { config: TrainConfig; runDir: string }): void {
  writeTextAtomic(path.join(run.runDir, 'config.json'), `${JSON.stringify(run.config, null, 2)}\n`);
}

function freshRun(overrides: Partial<TrainConfig> & { preset?: PresetName }): OpenedRun {
  const config = resolveConfig(overrides);
  return { config, runDir: path.resolve(config.runDir ?? defaultRunDir(config)), resumed: null };
}
