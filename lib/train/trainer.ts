// train(): the main job end to end -- data, model, optimizer and schedule,
// the training loop (each step in a memory scope), validation, early
// stopping, checkpoints (atomic; resumable to the exact batch), Ctrl-C,
// test evaluation with test-time augmentation, logs and plots.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { noGrad } from '../autograd';
import { removeStaleTempFiles, writeTextAtomic } from '../io/atomic';
import { channelStats, DeviceLoader, loadDataset, stratifiedSplit, type ImageSet } from '../data';
import { checkDevice, DeviceUnavailableError, type Device } from '../device';
import { keep, scope } from '../memory';
import { resnet18, resnet34, type ResNet } from '../models/resnet';
import type { Module } from '../nn/module';
import { crossEntropy } from '../ops/nn';
import { getRngState, manualSeed, setRngState } from '../ops/random';
import { zeros } from '../ops/creation';
import { clipGradNorm } from '../optim/clip';
import { Adam, AdamW, type Optimizer, SGD } from '../optim/optimizer';
import { cosineWithWarmup, OneCycleLR, ReduceLROnPlateau, StepLR } from '../optim/schedulers';
import { autocast, buildInfo, cuda, setNumThreads, trimMemory } from '../runtime';
import type { Tensor } from '../tensor';
import { CallbackList, type BatchLogs, type Callback, type EpochLogs, type TrainContext } from './callbacks';
import { saveCheckpoint, loadCheckpoint, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type CheckpointMeta, type DataInfo, type PartialEpoch } from './checkpoint';
import { ConfigError, resolveConfig, type PresetName, type TrainConfig } from './config';
import { EarlyStopping } from './early-stopping';
import { evaluate, formatEvaluation, type EvaluationResult } from './evaluate';
import { MetricsLogger } from './metrics-log';
import { CurvesPlotter } from './plots';
import { imageSizeForEpoch, resizeBatch } from './progressive';
import { ProgressReporter, type ProgressOptions } from './progress';
import { resolvePrecision } from './precision';

export type StopReason = 'completed' | 'early-stopping' | 'interrupted' | 'non-finite-loss';

export interface TrainOptions extends Partial<TrainConfig> {
  preset?: PresetName;
  /** A run folder or checkpoint file to continue from (its config is reused; `epochs` may be raised). */
  resume?: string;
  /** Your own callbacks, run after the built-in ones. */
  callbacks?: Callback[];
  /** Progress output: true (default), false, or options for the reporter. */
  progress?: boolean | ProgressOptions;
  /** Stops training like Ctrl-C does (saves a checkpoint, then returns). */
  signal?: AbortSignal;
  /** Save and stop on SIGINT (default true). */
  handleSigint?: boolean;
  /** Use these splits instead of loading `data` (tests, custom data). */
  dataset?: { train: ImageSet; test: ImageSet; classNames: string[]; source?: string };
}

export interface TrainResult {
  runDir: string;
  config: TrainConfig;
  history: EpochLogs[];
  test: EvaluationResult | null;
  stopped: StopReason;
  message: string;
  checkpoints: { last: string; best: string | null };
  files: string[];
  seconds: number;
}

type Schedule = OneCycleLR | StepLR | ReduceLROnPlateau | ReturnType<typeof cosineWithWarmup> | null;

function resolveDevice(config: TrainConfig): Device {
  if (config.device === 'auto') return cuda.isAvailable() ? 'cuda' : 'cpu';
  // checkDevice says why (CPU-only build, no visible GPU, too few GPUs).
  try {
    return checkDevice(config.device, 'device');
  } catch (error) {
    if (!(error instanceof DeviceUnavailableError)) throw error;
    throw new ConfigError(`${error.message}; use another --device, or auto`);
  }
}

function defaultRunDir(config: TrainConfig): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
  return path.resolve('runs', `${stamp}-${config.preset ?? config.model}`);
}

function buildModel(config: TrainConfig, classes: number): ResNet {
  const factory = config.model === 'resnet34' ? resnet34 : resnet18;
  return factory({ numClasses: classes, stem: config.stem, zeroInitResidual: config.zeroInitResidual });
}

/** Two parameter groups: weight decay for conv/linear weights, none for BatchNorm and biases. */
function parameterGroups(model: Module, config: TrainConfig): { params: Tensor[]; weightDecay: number }[] {
  if (config.decayNormAndBias) return [{ params: model.parameters(), weightDecay: config.weightDecay }];
  const decay: Tensor[] = [];
  const noDecay: Tensor[] = [];
  for (const [name, p] of model.namedParameters()) (p.ndim <= 1 || name.endsWith('.bias') ? noDecay : decay).push(p);
  return [
    { params: decay, weightDecay: config.weightDecay },
    { params: noDecay, weightDecay: 0 },
  ];
}

function buildOptimizer(model: Module, config: TrainConfig): Optimizer {
  const groups = parameterGroups(model, config);
  switch (config.optimizer) {
    case 'sgd':
      return new SGD(groups, { lr: config.lr, momentum: config.momentum, nesterov: config.nesterov });
    case 'adam':
      return new Adam(groups, { lr: config.lr });
    case 'adamw':
      return new AdamW(groups, { lr: config.lr });
  }
}

function buildSchedule(optimizer: Optimizer, config: TrainConfig, stepsPerEpoch: number): Schedule {
  const totalSteps = config.epochs * stepsPerEpoch;
  switch (config.schedule) {
    case 'onecycle':
      return new OneCycleLR(optimizer, {
        maxLr: config.lr,
        totalSteps,
        pctStart: config.pctStart,
        divFactor: config.divFactor,
        finalDivFactor: config.finalDivFactor,
        cycleMomentum: config.optimizer === 'sgd' && config.momentum > 0,
      });
    case 'cosine':
      return cosineWithWarmup(optimizer, { warmupSteps: Math.round(config.warmupEpochs * stepsPerEpoch), totalSteps });
    case 'step':
      return new StepLR(optimizer, { stepSize: config.stepEpochs, gamma: config.gamma });
    case 'plateau':
      return new ReduceLROnPlateau(optimizer, {
        mode: config.plateau.monitor === 'valLoss' ? 'min' : 'max',
        factor: config.plateau.factor,
        patience: config.plateau.patience,
        threshold: config.plateau.threshold,
        cooldown: config.plateau.cooldown,
        minLr: config.plateau.minLr,
      });
    case 'constant':
      return null;
  }
}

const stepsEveryBatch = (config: TrainConfig): boolean => config.schedule === 'onecycle' || config.schedule === 'cosine';

/** Keeps an exponential moving average of the weights in a second model (evaluated instead of the raw one). */
class WeightAverage {
  #updates = 0;
  constructor(
    readonly model: ResNet,
    private readonly source: ResNet,
    private readonly decay: number,
    private readonly warmupSteps: number,
  ) {
    this.copyAll();
  }

  copyAll(): void {
    noGrad(() =>
      scope(() => {
        const source = this.source.stateDict();
        this.model.stateDict().forEach((t, name) => t.copy_(source.get(name)!));
      }),
    );
  }

  update(): void {
    this.#updates += 1;
    // Early on the average would be dominated by the random init: ramp the decay up.
    const decay = Math.min(this.decay, (1 + this.#updates) / (this.warmupSteps / 10 + this.#updates + 1));
    noGrad(() =>
      scope(() => {
        const target = this.model.namedParameters();
        const source = new Map(this.source.namedParameters());
        for (const [name, t] of target) t.mul_(decay).add_(source.get(name)!, 1 - decay);
        const sourceBuffers = new Map(this.source.namedBuffers());
        for (const [name, b] of this.model.namedBuffers()) b.copy_(sourceBuffers.get(name)!);
      }),
    );
  }

  get updates(): number {
    return this.#updates;
  }

  set updates(value: number) {
    this.#updates = value;
  }
}

/** Trains a ResNet on an image data set; see TrainConfig for every option. */
export async function train(options: TrainOptions = {}): Promise<TrainResult> {
  const started = Date.now();
  const { resume, callbacks: userCallbacks = [], progress = true, signal, handleSigint = true, dataset, ...overrides } = options;

  // ---- configuration, possibly from a checkpoint ---------------------------
  let resumed: ReturnType<typeof loadCheckpoint> | null = null;
  let config: TrainConfig;
  let runDir: string;
  if (resume !== undefined) {
    const file = fs.existsSync(resume) && fs.statSync(resume).isDirectory() ? path.join(resume, 'last.safetensors') : resume;
    if (!fs.existsSync(file)) throw new ConfigError(`cannot resume: ${file} does not exist`);
    resumed = loadCheckpoint(file);
    const allowed = new Set(['epochs', 'device', 'threads', 'plots', 'logEverySteps']);
    const changed = Object.keys(overrides).filter((k) => (overrides as Record<string, unknown>)[k] !== undefined && !allowed.has(k) && k !== 'preset');
    if (changed.length > 0) throw new ConfigError(`when resuming, only ${[...allowed].join(', ')} may change; got ${changed.join(', ')}`);
    config = resolveConfig({ ...resumed.meta.config, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) } as Partial<TrainConfig>);
    runDir = path.dirname(path.resolve(file));
  } else {
    config = resolveConfig(overrides);
    runDir = path.resolve(config.runDir ?? defaultRunDir(config));
  }
  fs.mkdirSync(runDir, { recursive: true });
  removeStaleTempFiles(runDir); // half-written checkpoints of a run that was killed
  writeTextAtomic(path.join(runDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);

  // ---- device and threads ----------------------------------------------------
  const device = resolveDevice(config);
  if (config.threads !== undefined) setNumThreads(config.threads);
  const { autocastDevice, channelsLast, memoryFormat } = resolvePrecision(config, device);

  // ---- data ------------------------------------------------------------------
  const data = dataset ?? (await loadDataset({ data: config.data, cacheDir: config.cacheDir, targetSize: config.targetSize }));
  const classNames = data.classNames;
  const split = config.valFraction > 0 ? stratifiedSplit(data.train, config.valFraction, config.seed) : { train: data.train, val: null };
  const stats = resumed?.meta.data ?? { ...channelStats(split.train) };
  const dataInfo: DataInfo = {
    classNames,
    mean: stats.mean,
    std: stats.std,
    height: data.train.height,
    width: data.train.width,
    source: data.source ?? 'custom',
  };
  const trainLoader = new DeviceLoader(split.train, {
    batchSize: config.batchSize,
    device,
    shuffle: true,
    dropLast: true,
    seed: config.seed,
    mean: dataInfo.mean,
    std: dataInfo.std,
    augment: config.augment,
    memoryFormat,
  });
  const evalLoader = (set: ImageSet) =>
    new DeviceLoader(set, { batchSize: config.evalBatchSize, device, shuffle: false, dropLast: false, seed: config.seed, mean: dataInfo.mean, std: dataInfo.std, memoryFormat });
  const valLoader = split.val === null ? null : evalLoader(split.val);
  const batchesPerEpoch = trainLoader.numBatches;
  if (batchesPerEpoch === 0) {
    throw new ConfigError(`batchSize ${config.batchSize} is larger than the ${split.train.count} training images: no full batch to train on`);
  }

  // ---- model, optimizer, schedule ---------------------------------------------
  manualSeed(config.seed);
  const model = buildModel(config, classNames.length).to(device);
  if (channelsLast) model.to('channelsLast');
  const optimizer = buildOptimizer(model, config);
  const schedule = buildSchedule(optimizer, config, batchesPerEpoch);
  const ema = config.ema === null ? null : new WeightAverage(buildModel(config, classNames.length).to(device), model, config.ema.decay, config.ema.warmupSteps);
  if (ema !== null && channelsLast) ema.model.to('channelsLast');
  const evalModel = (): ResNet => ema?.model ?? model;

  const history: EpochLogs[] = [];
  let startEpoch = 0;
  let startBatch = 0;
  let globalStep = 0;
  let partial: PartialEpoch | null = null;
  let best: CheckpointMeta['best'] = null;
  const early = config.earlyStopping === null ? null : new EarlyStopping(config.earlyStopping);
  if (resumed !== null) {
    if (resumed.meta.data.classNames.join('\n') !== classNames.join('\n')) {
      throw new ConfigError(`cannot resume: the checkpoint was trained on classes [${resumed.meta.data.classNames.join(', ')}] but the data has [${classNames.join(', ')}]`);
    }
    model.loadStateDict(resumed.model);
    if (ema !== null && resumed.ema !== null) ema.model.loadStateDict(resumed.ema);
    if (resumed.optimizer !== null) optimizer.loadStateDict(resumed.optimizer);
    if (schedule !== null && resumed.meta.schedule !== null) schedule.loadStateDict(resumed.meta.schedule as never);
    if (resumed.rngState !== null) setRngState(resumed.rngState);
    history.push(...resumed.meta.history);
    startEpoch = resumed.meta.epoch;
    startBatch = resumed.meta.batch;
    globalStep = resumed.meta.globalStep;
    partial = resumed.meta.partial;
    best = resumed.meta.best;
    if (early !== null && resumed.meta.earlyStopping !== null) early.state = resumed.meta.earlyStopping;
    if (ema !== null) ema.updates = globalStep;
    for (const map of [resumed.model, resumed.ema ?? new Map<string, Tensor>()]) map.forEach((t) => t.dispose());
  }

  // ---- callbacks ---------------------------------------------------------------
  const builtIn: Callback[] = [];
  if (progress !== false) builtIn.push(new ProgressReporter(progress === true ? {} : progress));
  builtIn.push(new MetricsLogger(config.logEverySteps));
  if (config.plots) builtIn.push(new CurvesPlotter());
  const callbacks = new CallbackList([...builtIn, ...(early === null ? [] : [early]), ...userCallbacks]);
  const context: TrainContext = { config, runDir, model, optimizer, history, epochs: config.epochs, batchesPerEpoch, stopTraining: false };

  const lastFile = path.join(runDir, 'last.safetensors');
  const bestFile = path.join(runDir, 'best.safetensors');
  const files = new Set<string>([path.join(runDir, 'config.json'), path.join(runDir, 'metrics.jsonl')]);
  const checkpoint = (file: string, epoch: number, batch: number, partialEpoch: PartialEpoch | null): void => {
    scope(() => {
      const meta: CheckpointMeta = {
        format: CHECKPOINT_FORMAT,
        version: CHECKPOINT_VERSION,
        config,
        epoch,
        batch,
        globalStep,
        history: [...history],
        optimizerKind: optimizer.kind,
        optimizerGroups: [],
        schedule: schedule === null ? null : schedule.stateDict(),
        earlyStopping: early?.state ?? null,
        best,
        data: dataInfo,
        partial: partialEpoch,
        savedAt: new Date().toISOString(),
        torch: buildInfo().torch,
      };
      const optimizerState = optimizer.stateDict();
      meta.optimizerGroups = optimizerState.groups;
      saveCheckpoint(file, { meta, model: model.stateDict(), ema: ema === null ? null : ema.model.stateDict(), optimizer: optimizerState, rngState: getRngState() });
    });
    files.add(file);
  };

  // ---- interruption ------------------------------------------------------------
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130); // a second Ctrl-C: leave now
    interrupted = true;
  };
  if (handleSigint) process.on('SIGINT', onSigint);
  signal?.addEventListener('abort', () => (interrupted = true), { once: true });

  let stopped: StopReason = 'completed';
  let message = '';
  const lossSum = keep(zeros([], { device }));
  const correct = keep(zeros([], { dtype: 'int64', device }));
  try {
    await callbacks.trainBegin(context);
    for (let epoch = startEpoch; epoch < config.epochs && !context.stopTraining; epoch++) {
      model.train();
      const imageSize = imageSizeForEpoch(epoch + 1, [trainLoader.height, trainLoader.width], config.progressiveResize);
      await callbacks.epochBegin(epoch + 1, context);
      const firstBatch = epoch === startEpoch ? startBatch : 0;
      noGrad(() => {
        lossSum.fill_(partial?.lossSum ?? 0);
        correct.fill_(partial?.correct ?? 0);
      });
      let seen = firstBatch > 0 ? partial?.seen ?? 0 : 0;
      const carriedSeconds = firstBatch > 0 ? partial?.seconds ?? 0 : 0;
      partial = null;
      const epochStart = Date.now();
      const readMetrics = () => ({ loss: lossSum.item() / Math.max(seen, 1), accuracy: correct.item() / Math.max(seen, 1) });
      let batchIndex = firstBatch;
      while (batchIndex < batchesPerEpoch) {
        scope(() => {
          // Random access by (epoch, index): the same batch whether or not the run was resumed.
          const batch = trainLoader.batch(epoch, batchIndex);
          const images = resizeBatch(batch.images, imageSize);
          const step = () => {
            const logits = model.forward(images);
            return { logits, loss: crossEntropy(logits.float(), batch.labels, { labelSmoothing: config.labelSmoothing }) };
          };
          const { logits, loss } = autocastDevice === undefined ? step() : autocast(autocastDevice, step);
          optimizer.zeroGrad();
          loss.backward();
          if (config.gradClip !== null) clipGradNorm(model.parameters(), config.gradClip);
          optimizer.step();
          if (schedule !== null && stepsEveryBatch(config)) (schedule as OneCycleLR).step();
          ema?.update();
          noGrad(() => {
            const n = batch.labels.shape[0]!;
            lossSum.add_(loss.detach().mul(n));
            correct.add_(logits.argmax(1).eq(batch.labels).sum());
          });
        });
        batchIndex += 1;
        globalStep += 1;
        seen += config.batchSize;
        const elapsed = carriedSeconds + (Date.now() - epochStart) / 1000;
        const logs: BatchLogs = {
          epoch: epoch + 1,
          batch: batchIndex,
          batches: batchesPerEpoch,
          images: seen,
          lr: optimizer.getLr(0),
          elapsed,
          metrics: readMetrics,
        };
        callbacks.batchEnd(logs, context);
        // A NaN spreads to every weight: stop before it reaches a checkpoint.
        if ((batchIndex % 25 === 0 || batchIndex === batchesPerEpoch) && !Number.isFinite(lossSum.item())) {
          stopped = 'non-finite-loss';
          message = `The loss became ${lossSum.item()} in epoch ${epoch + 1} (step ${batchIndex}); training stopped. ${
            fs.existsSync(lastFile) ? `The last good checkpoint is ${lastFile}.` : 'No checkpoint was written.'
          } Try a lower lr (now ${config.lr}) or gradClip.`;
          context.stopTraining = true;
          break;
        }
        await new Promise((resolve) => setImmediate(resolve)); // let Ctrl-C and timers in
        if (interrupted) {
          checkpoint(lastFile, epoch, batchIndex, { lossSum: lossSum.item(), correct: correct.item(), seen, seconds: elapsed });
          stopped = 'interrupted';
          message = `Interrupted in epoch ${epoch + 1} at step ${batchIndex}/${batchesPerEpoch}; saved ${lastFile}. Resume with: npx torchts train --resume ${runDir}`;
          context.stopTraining = true;
          break;
        }
      }
      if (stopped !== 'completed') break;

      const trainSeconds = carriedSeconds + (Date.now() - epochStart) / 1000;
      const { loss: trainLoss, accuracy: trainAccuracy } = readMetrics();
      const logs: EpochLogs = {
        epoch: epoch + 1,
        trainLoss,
        trainAccuracy,
        lr: optimizer.getLr(0),
        seconds: trainSeconds,
        totalSeconds: trainSeconds,
        imagesPerSecond: seen / Math.max(trainSeconds, 1e-9),
      };
      if (config.progressiveResize !== null) logs.imageSize = imageSize;
      if (valLoader !== null) {
        const validation = evaluate(evalModel(), valLoader.batches(0), { classNames, autocastDevice });
        logs.valLoss = validation.loss;
        logs.valAccuracy = validation.accuracy;
      }
      logs.totalSeconds = carriedSeconds + (Date.now() - epochStart) / 1000;
      if (schedule instanceof ReduceLROnPlateau) schedule.step(config.plateau.monitor === 'valLoss' ? logs.valLoss! : logs.valAccuracy!);
      else if (schedule instanceof StepLR) schedule.step();
      history.push(logs);
      // "Best" follows early stopping's metric when there is one, so restoring the best weights restores its epoch.
      const monitor = config.earlyStopping?.monitor ?? 'valAccuracy';
      const value = monitor === 'valLoss' ? logs.valLoss : logs.valAccuracy;
      const improved =
        value !== undefined && Number.isFinite(value) && (best === null || (monitor === 'valLoss' ? value < best.value : value > best.value));
      await callbacks.epochEnd(logs, context);
      if (early !== null && context.stopTraining) stopped = 'early-stopping';
      if (improved) {
        best = { monitor, value: value!, epoch: epoch + 1 };
        checkpoint(bestFile, epoch + 1, 0, null);
      }
      checkpoint(lastFile, epoch + 1, 0, null);
    }

    if (stopped === 'early-stopping' && config.earlyStopping?.restoreBest && fs.existsSync(bestFile)) {
      const bestWeights = loadCheckpoint(bestFile);
      model.loadStateDict(bestWeights.model);
      if (ema !== null && bestWeights.ema !== null) ema.model.loadStateDict(bestWeights.ema);
      bestWeights.model.forEach((t) => t.dispose());
      bestWeights.ema?.forEach((t) => t.dispose());
      message = `${context.stopReason ?? 'Stopped early'}; restored the weights of epoch ${best?.epoch}.`;
    } else if (stopped === 'early-stopping') {
      message = context.stopReason ?? 'Stopped early.';
    }

    let test: EvaluationResult | null = null;
    if (stopped === 'completed' || stopped === 'early-stopping') {
      const testLoader = evalLoader(data.test);
      test = evaluate(evalModel(), testLoader.batches(0), { classNames, tta: config.tta, ttaShift: config.ttaShift, ttaShiftDirections: config.ttaShiftDirections, autocastDevice });
      testLoader.dispose();
      const report = formatEvaluation(test, 'Test');
      writeTextAtomic(path.join(runDir, 'test-report.txt'), `${report}\n`);
      writeTextAtomic(path.join(runDir, 'test-results.json'), `${JSON.stringify(test, null, 2)}\n`);
      files.add(path.join(runDir, 'test-report.txt')).add(path.join(runDir, 'test-results.json'));
      if (progress !== false) process.stdout.write(`\n${report}\n`);
      if (stopped === 'completed') message = `Finished ${config.epochs} epochs in ${((Date.now() - started) / 1000).toFixed(0)} s; test accuracy ${(100 * test.accuracy).toFixed(2)}%.`;
    }
    if (message && progress !== false) process.stdout.write(`${message}\n`);
    await callbacks.trainEnd(context);
    if (config.plots) files.add(path.join(runDir, 'curves.svg')).add(path.join(runDir, 'curves.png'));
    return {
      runDir,
      config,
      history,
      test,
      stopped,
      message,
      checkpoints: { last: lastFile, best: fs.existsSync(bestFile) ? bestFile : null },
      files: [...files].filter((f) => fs.existsSync(f)),
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    if (handleSigint) process.off('SIGINT', onSigint);
    lossSum.dispose();
    correct.dispose();
    trainLoader.dispose();
    valLoader?.dispose();
    model.dispose();
    ema?.model.dispose();
    optimizer.dispose();
    // The allocator keeps freed step buffers for reuse; a program that goes
    // on after train() should get that memory back.
    trimMemory();
  }
}
