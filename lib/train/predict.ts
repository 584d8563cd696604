// Using a trained checkpoint: load the model, classify image files, or
// evaluate on a data set.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inferenceMode } from '../autograd';
import { decodeImages, DeviceLoader, loadDataset } from '../data';
import type { StreamLoader } from '../data/stream/loader';
import type { Device } from '../device';
import { scope } from '../memory';
import { Module } from '../nn/module';
import { tensor } from '../ops/creation';
import type { Tensor } from '../tensor';
import { softmax } from '../ops/nn';
import { cuda } from '../runtime';
import { loadCheckpoint, type CheckpointMeta } from './checkpoint';
import { ConfigError, DEFAULTS, type TrainConfig } from './config';
import { modelSource, recordedModelName } from './models';
import { releaseCheckpoint } from './run';
import { evaluate, predictLogits, type EvaluationResult } from './evaluate';
import { resolvePrecision, type Precision } from './precision';
import { decideStreaming, streamedTestLoader } from './stream-data';

export interface LoadedModel {
  model: Module;
  meta: CheckpointMeta;
  device: Device;
  /** Which weights were loaded: the moving average when the run kept one. */
  weights: 'ema' | 'model';
  file: string;
  /** Autocast and memory format for inference: the run's, unless overridden. */
  precision: Precision;
}

export interface InferenceOptions {
  device?: Device | 'auto';
  /**
   * 'bf16' or 'off' (float32). Default: what the run trained with on this
   * device, so that evaluation reproduces the trainer's test accuracy.
   */
  amp?: 'bf16' | 'off';
  /**
   * The model of a run that trained a custom one (config.model
   * 'custom:<ClassName>'): a function (numClasses) => Module, or a name
   * given to registerModel. Runs of registered models need nothing.
   */
  model?: string | ((numClasses: number) => Module);
}

/** A run folder (its best checkpoint, else last) or a checkpoint file. */
export function resolveCheckpoint(location: string): string {
  if (!fs.existsSync(location)) throw new ConfigError(`checkpoint ${location} does not exist`);
  if (!fs.statSync(location).isDirectory()) return location;
  for (const name of checkpointOrder(location)) {
    const file = path.join(location, name);
    if (fs.existsSync(file)) return file;
  }
  throw new ConfigError(`${location} holds no best.safetensors or last.safetensors`);
}

/**
 * A run folder's checkpoints in the order to use them: first the weights its
 * test evaluated (config.json's testWeights: 'final' -> last, 'best' ->
 * best), so that eval reproduces the test the run printed; best first when
 * the folder has no readable config.
 */
function checkpointOrder(runDir: string): string[] {
  let testWeights: unknown;
  try {
    testWeights = (JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')) as { testWeights?: unknown }).testWeights;
  } catch {
    testWeights = undefined;
  }
  return testWeights === 'final' ? ['last.safetensors', 'best.safetensors'] : ['best.safetensors', 'last.safetensors'];
}

/** A fresh model of the run's architecture, to load its weights into. */
function inferenceModel(spec: string | ((numClasses: number) => Module), config: TrainConfig, numClasses: number): Module {
  if (spec instanceof Module) throw new ConfigError('model: pass a function (numClasses) => Module (a fresh model to load the weights into), not a Module');
  const model = modelSource(spec, config).create(numClasses);
  const name = recordedModelName(spec, model);
  if (name !== config.model) {
    model.dispose();
    throw new ConfigError(`the checkpoint is of model '${config.model}', the model given is '${name}'`);
  }
  return model;
}

export function loadTrainedModel(location: string, options: InferenceOptions = {}): LoadedModel {
  if (options.amp !== undefined && options.amp !== 'bf16' && options.amp !== 'off') {
    throw new ConfigError(`amp must be 'bf16' or 'off', got ${JSON.stringify(options.amp)}`);
  }
  const file = resolveCheckpoint(location);
  const contents = loadCheckpoint(file);
  const { config, data } = contents.meta;
  const device: Device = options.device === undefined || options.device === 'auto' ? (cuda.isAvailable() ? 'cuda' : 'cpu') : options.device;
  let model: Module;
  try {
    model = inferenceModel(options.model ?? config.model, config, data.classNames.length);
    model.loadStateDict(contents.ema ?? contents.model);
  } catch (error) {
    releaseCheckpoint(contents);
    throw error;
  }
  // Checkpoints from before amp/channelsLast were configurable trained in float32, contiguous.
  const precision = resolvePrecision({ amp: options.amp ?? config.amp, channelsLast: config.channelsLast }, device);
  model.to(device).eval();
  if (precision.channelsLast) model.to('channelsLast');
  releaseCheckpoint(contents);
  return { model, meta: contents.meta, device, weights: contents.ema !== null ? 'ema' : 'model', file, precision };
}

/**
 * uint8 NHWC RGB pixels -> the model's input: float NCHW scaled to [0, 1]
 * and normalised with the run's channel statistics (what the data loader
 * does on the device), on the pixels' device.
 */
export function pixelsToInput(pixels: Tensor, mean: readonly number[], std: readonly number[]): Tensor {
  return scope(() => {
    const stat = (values: readonly number[]): Tensor => {
      const onCpu = tensor([...values], [1, values.length, 1, 1]);
      return pixels.device === 'cpu' ? onCpu : onCpu.to(pixels.device);
    };
    return pixels.permute([0, 3, 1, 2]).float().div(255).sub(stat(mean)).div(stat(std));
  });
}

export interface Prediction {
  file: string;
  top: { className: string; index: number; probability: number }[];
}

/** Top-k classes with probabilities for each image file. */
export async function predict(
  location: string,
  files: readonly string[],
  options: InferenceOptions & { topK?: number; tta?: boolean } = {},
): Promise<Prediction[]> {
  if (files.length === 0) throw new ConfigError('predict needs at least one image file');
  const loaded = loadTrainedModel(location, options);
  try {
    const { classNames, height, width, mean, std } = loaded.meta.data;
    const topK = Math.min(options.topK ?? 3, classNames.length);
    const pixels = await decodeImages(files, { targetSize: [height, width] });
    return inferenceMode(() =>
      scope(() => {
        const onDevice = tensor(pixels, [files.length, height, width, 3], { dtype: 'uint8' }).to(loaded.device);
        const images = pixelsToInput(onDevice, mean, std).contiguous(loaded.precision.memoryFormat);
        const logits = predictLogits(loaded.model, images, { tta: options.tta ?? false, autocastDevice: loaded.precision.autocastDevice });
        const probabilities = softmax(logits, 1);
        const { values, indices } = probabilities.topk(topK, { dim: 1 });
        const p = values.dataSync() as Float32Array;
        const k = indices.dataSync() as BigInt64Array;
        return files.map((file, i) => ({
          file,
          top: Array.from({ length: topK }, (_, j) => ({
            className: classNames[Number(k[i * topK + j])]!,
            index: Number(k[i * topK + j]),
            probability: p[i * topK + j]!,
          })),
        }));
      }),
    );
  } finally {
    loaded.model.dispose();
  }
}

/**
 * The test split a checkpoint is evaluated on: streamed when the data is too
 * large to decode into memory (by the run's stream options, as train()
 * decides), else decoded through the decode cache.
 */
async function testLoaderFor(loaded: LoadedModel, where: { data: string | undefined; cacheDir: string | undefined; batchSize: number }): Promise<DeviceLoader | StreamLoader> {
  const { config, data: info } = loaded.meta;
  const checkClasses = (classNames: string[]): void => {
    if (classNames.join('\n') !== info.classNames.join('\n')) {
      throw new ConfigError(`the checkpoint knows classes [${info.classNames.join(', ')}] but the data has [${classNames.join(', ')}]`);
    }
  };
  // Checkpoints from before streaming have no stream options: the defaults.
  const stream = { ...DEFAULTS.stream, ...config.stream };
  // A centre crop exists only on the streamed path: the run's test used it, so this evaluation streams too.
  if (stream.evalTransform === 'center-crop' && stream.mode === 'auto') stream.mode = 'on';
  const runConfig: TrainConfig = { ...config, data: where.data, cacheDir: where.cacheDir, targetSize: [info.height, info.width], stream };
  const streaming = await decideStreaming(runConfig);
  if (streaming !== null) {
    checkClasses(streaming.plan.classNames);
    const loader = streamedTestLoader(runConfig, streaming, info, loaded.device, loaded.precision.memoryFormat, where.batchSize);
    if (loader === null) throw new ConfigError(`${streaming.root} has no test images to evaluate on`);
    return loader;
  }
  const data = await loadDataset({ data: where.data, cacheDir: where.cacheDir, targetSize: [info.height, info.width] });
  checkClasses(data.classNames);
  return new DeviceLoader(data.test, {
    batchSize: where.batchSize,
    device: loaded.device,
    shuffle: false,
    dropLast: false,
    seed: 0,
    mean: info.mean,
    std: info.std,
    memoryFormat: loaded.precision.memoryFormat,
  });
}

/** Evaluates a checkpoint on a data set's test split (default: the data it was trained on). */
export async function evaluateCheckpoint(
  location: string,
  options: InferenceOptions & { data?: string; cacheDir?: string; tta?: boolean; batchSize?: number } = {},
): Promise<{ result: EvaluationResult; loaded: LoadedModel }> {
  const loaded = loadTrainedModel(location, options);
  try {
    const { config, data: info } = loaded.meta;
    const loader = await testLoaderFor(loaded, { data: options.data ?? config.data, cacheDir: options.cacheDir ?? config.cacheDir, batchSize: options.batchSize ?? config.evalBatchSize });
    try {
      // --no-tta means one view: no mirror and no shifts. Checkpoints from
      // before ttaShift existed have none, and those from before
      // ttaShiftDirections used the 4 diagonal shifts.
      const tta = options.tta ?? config.tta;
      const ttaShift = options.tta === false ? 0 : config.ttaShift ?? 0;
      const ttaShiftDirections = config.ttaShiftDirections ?? 4;
      const result = evaluate(loaded.model, loader.batches(0), { classNames: info.classNames, tta, ttaShift, ttaShiftDirections, autocastDevice: loaded.precision.autocastDevice });
      return { result, loaded };
    } finally {
      loader.dispose();
    }
  } catch (error) {
    loaded.model.dispose();
    throw error;
  }
}
