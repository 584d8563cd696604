// train() and the Trainer behind it: a loop whose stages are separate and
// small. setup (Trainer.create): the run, device, data, model, optimizer,
// schedule and callbacks; the step (trainStep): forward, loss, backward,
// optimizer, schedule; the epoch (trainEpoch) and its end (endEpoch):
// validation, checkpoint, early stopping; finish: best weights, test, report.
// Every step runs in a memory scope; checkpoints are atomic and resumable to
// the exact batch; Ctrl-C saves and returns. Callbacks see every stage.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { noGrad } from '../autograd';
import { writeTextAtomic } from '../io/atomic';
import { checkDevice, DeviceUnavailableError, type Device } from '../device';
import { keep, scope } from '../memory';
import type { Module } from '../nn/module';
import { crossEntropy } from '../ops/nn';
import { manualSeed, setRngState } from '../ops/random';
import { zeros } from '../ops/creation';
import { clipGradNorm } from '../optim/clip';
import type { Optimizer } from '../optim/optimizer';
import { OneCycleLR, ReduceLROnPlateau, StepLR } from '../optim/schedulers';
import { autocast, cuda, setNumThreads, trimMemory } from '../runtime';
import type { Tensor } from '../tensor';
import { CallbackList, type BatchLogs, type Callback, type EpochLogs, type TrainContext } from './callbacks';
import { loadCheckpoint, type CheckpointContents, type PartialEpoch } from './checkpoint';
import { ConfigError, type PresetName, type StreamConfig, type TrainConfig } from './config';
import { EarlyStopping } from './early-stopping';
import { evaluate, formatEvaluation, type EvaluationResult, type MetricFunction } from './evaluate';
import { fineTuneGroups, freezeParameters, loadInitialWeights } from './fine-tune';
import { MetricsLogger } from './metrics-log';
import { modelSource, recordedModelName, type ModelSpec } from './models';
import { buildOptimizer, buildSchedule, stepsEveryBatch, type Schedule } from './optimization';
import { CurvesPlotter } from './plots';
import { imageSizeForEpoch, resizeBatch } from './progressive';
import { ProgressReporter, type ProgressOptions } from './progress';
import { resolvePrecision, type Precision } from './precision';
import { openRun, releaseCheckpoint, writeRunConfig } from './run';
import { RunCheckpoints, type RunPosition, type RunState } from './run-checkpoints';
import { prepareData, type GivenDataset, type RunData } from './run-data';
import { WeightAverage } from './weight-average';
import { DistributedRun, type DistributedOption } from './distributed-run';
import { tensor } from '../ops/creation';

export type StopReason = 'completed' | 'early-stopping' | 'callback' | 'interrupted' | 'non-finite-loss';

/** The training loss: mean over the batch, from float32 logits and int64 class labels. */
export type LossFunction = (logits: Tensor, labels: Tensor) => Tensor;

export interface TrainOptions extends Omit<Partial<TrainConfig>, 'model' | 'stream'> {
  preset?: PresetName;
  /** Streaming of large image folders; options left out keep their defaults (DEFAULTS.stream). */
  stream?: Partial<StreamConfig>;
  /**
   * What to train: a registered name ('resnet18', 'resnet34', or one given to
   * registerModel), a function (numClasses) => Module, or a Module (trained
   * in place; it stays yours after train(), the others are freed). Runs of a
   * function or a Module record 'custom:<ClassName>'; resume, eval and
   * predict them by passing the same model again.
   */
  model?: ModelSpec;
  /** A run folder or checkpoint file to continue from (its config is reused; `epochs` may be raised for step, plateau and constant schedules). */
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
  dataset?: GivenDataset;
  /** Replaces cross-entropy (labelSmoothing applies to the built-in loss only). */
  loss?: LossFunction;
  /** Metrics computed on the validation split each epoch (EpochLogs.valMetrics) and on the test split (EvaluationResult.metrics). */
  metrics?: Record<string, MetricFunction>;
  /**
   * Data-parallel training on several processes (c10d/Gloo): true reads
   * torchrun's environment (set by `npx torchts run` / `train
   * --nproc-per-node`), or pass initProcessGroup's options. batchSize is per
   * process (the global batch is batchSize x world size); rank 0 alone
   * writes the run folder, validates, tests and prints.
   */
  distributed?: DistributedOption;
}

export interface TrainResult {
  runDir: string;
  config: TrainConfig;
  history: EpochLogs[];
  test: EvaluationResult | null;
  stopped: StopReason;
  message: string;
  checkpoints: { last: string; best: string | null };
  /** What setup did that changes the model (weights loaded, a new head, frozen layers), as printed. */
  notes: string[];
  files: string[];
  seconds: number;
}

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

/** The options of train() that are not TrainConfig options. */
const RUN_OPTIONS: ReadonlySet<string> = new Set(['resume', 'model', 'callbacks', 'progress', 'signal', 'handleSigint', 'dataset', 'loss', 'metrics', 'distributed']);

function configOverrides(options: TrainOptions): Partial<TrainConfig> & { preset?: PresetName } {
  // Partial stream options are completed by resolveConfig.
  return Object.fromEntries(Object.entries(options).filter(([key]) => !RUN_OPTIONS.has(key))) as Partial<TrainConfig>;
}

/** The model, its EMA copy and what trains them. */
interface Models {
  model: Module;
  /** False for a Module the caller passed in: it stays theirs (trained in place) after train(). */
  ownsModel: boolean;
  ema: WeightAverage | null;
  optimizer: Optimizer;
  schedule: Schedule;
}

/** Builds the model (fine-tuned from config.weights on a fresh run), then the optimizer, schedule and EMA copy. */
function buildModels(spec: ModelSpec, config: TrainConfig, classes: number, batchesPerEpoch: number, precision: Precision, device: Device, fresh: boolean, log: (line: string) => void): Models {
  const source = modelSource(spec, config);
  manualSeed(config.seed);
  const model = source.create(classes).to(device);
  const disposeAll: Module[] = source.canCopy ? [model] : [];
  try {
    if (precision.channelsLast) model.to('channelsLast');
    if (fresh && config.weights !== undefined) log(loadInitialWeights(model, config.weights));
    if (config.freeze.length > 0) log(`froze ${freezeParameters(model, config.freeze)} parameters under ${config.freeze.join(', ')}`);
    const optimizer = buildOptimizer(model, config, fineTuneGroups(model, config));
    const schedule = buildSchedule(optimizer, config, batchesPerEpoch);
    let ema: WeightAverage | null = null;
    if (config.ema !== null) {
      if (!source.canCopy) throw new ConfigError(`ema needs a second copy of the model: pass model as a function, train({ model: (numClasses) => new ${model.typeName}(...) })`);
      const copy = source.create(classes).to(device);
      disposeAll.push(copy);
      if (precision.channelsLast) copy.to('channelsLast');
      ema = new WeightAverage(copy, model, config.ema.decay, config.ema.warmupSteps);
    }
    return { model, ownsModel: source.canCopy, ema, optimizer, schedule };
  } catch (error) {
    disposeAll.forEach((m) => m.dispose());
    throw error;
  }
}

/** Runs one training job; see train(). */
export class Trainer {
  readonly history: EpochLogs[] = [];
  /** Setup's lines for the log (see TrainResult.notes). */
  readonly notes: string[] = [];
  readonly context: TrainContext;
  readonly checkpoints: RunCheckpoints;
  #position: RunPosition = { epoch: 0, batch: 0, globalStep: 0, partial: null, best: null };
  #stopped: StopReason = 'completed';
  #message = '';
  #interrupted = false;
  #checkedClasses = false;
  /** The epoch's running loss sum and correct count, on the device (read only when needed: reading waits for it). */
  readonly #lossSum: Tensor;
  readonly #correct: Tensor;
  /** Seconds into the current epoch, counting the part done before a resume. */
  #epochSeconds: () => number = () => 0;
  readonly #callbacks: CallbackList;
  readonly #early: EarlyStopping | null;
  readonly #onSigint = () => {
    if (this.#interrupted) process.exit(130); // a second Ctrl-C: leave now
    this.#interrupted = true;
  };

  private constructor(
    private readonly options: TrainOptions,
    readonly config: TrainConfig,
    readonly runDir: string,
    readonly device: Device,
    private readonly precision: Precision,
    private readonly data: RunData,
    private readonly models: Models,
    private readonly dist: DistributedRun | null,
  ) {
    this.#lossSum = keep(zeros([], { device }));
    this.#correct = keep(zeros([], { dtype: 'int64', device }));
    this.checkpoints = new RunCheckpoints(runDir);
    this.#early = config.earlyStopping === null ? null : new EarlyStopping(config.earlyStopping);
    const { progress = true, callbacks = [] } = options;
    const builtIn: Callback[] = [];
    if (progress !== false) builtIn.push(new ProgressReporter(progress === true ? {} : progress));
    if (this.isMain) builtIn.push(new MetricsLogger(config.logEverySteps));
    if (config.plots && this.isMain) builtIn.push(new CurvesPlotter());
    this.#callbacks = new CallbackList([...builtIn, ...(this.#early === null ? [] : [this.#early]), ...callbacks]);
    const { model, optimizer } = models;
    this.context = { config, runDir, model, optimizer, history: this.history, epochs: config.epochs, batchesPerEpoch: data.train.numBatches, stopTraining: false };
  }

  /** Setup: the run folder and config, device, data, model, optimizer, schedule; a resumed run's state. */
  static async create(options: TrainOptions = {}): Promise<Trainer> {
    const dist = DistributedRun.open(options.distributed);
    try {
      return await Trainer.createOn(dist === null || dist.isMain ? options : { ...options, progress: false }, dist);
    } catch (error) {
      dist?.close();
      throw error;
    }
  }

  private static async createOn(options: TrainOptions, dist: DistributedRun | null): Promise<Trainer> {
    const { resume, model: spec, progress = true, dataset } = options;
    // A function or Module is recorded as custom:<ClassName> once built (recordModelName).
    const named = typeof spec === 'string' ? { model: spec } : spec === undefined ? {} : { model: 'custom' };
    const run = openSharedRun(resume, { ...configOverrides(options), ...named }, dist);
    const config = run.config;
    const notes: string[] = [];
    const log = (line: string) => {
      notes.push(line);
      if (progress !== false) process.stdout.write(`${line}\n`);
    };
    let data: RunData | null = null;
    try {
      const device = resolveDevice(config);
      const threads = config.threads ?? dist?.defaultThreads();
      if (threads !== undefined) setNumThreads(threads);
      const precision = resolvePrecision(config, device);
      data = await prepareSharedData(dist, () => prepareData(config, dataset, run.resumed?.meta.data, device, precision.memoryFormat, dist?.shard));
      const models = buildModels(spec ?? config.model, config, data.info.classNames.length, data.train.numBatches, precision, device, run.resumed === null, log);
      const trainer = new Trainer(options, config, run.runDir, device, precision, data, models, dist);
      trainer.notes.push(...notes);
      try {
        trainer.recordModelName(spec, run.resumed);
        if (run.resumed !== null) trainer.restore(run.resumed);
        dist?.wrap(models.model);
      } catch (error) {
        trainer.dispose();
        throw error;
      }
      return trainer;
    } catch (error) {
      data?.dispose();
      throw error;
    } finally {
      if (run.resumed !== null) releaseCheckpoint(run.resumed);
    }
  }

  private get state(): RunState {
    const { model, ema, optimizer, schedule } = this.models;
    return { config: this.config, data: this.data.info, model, ema: ema?.model ?? null, optimizer, schedule, early: this.#early, history: this.history, worldSize: this.worldSize };
  }

  /** False on distributed ranks other than 0, which write, validate and print nothing. */
  get isMain(): boolean {
    return this.dist?.isMain ?? true;
  }

  get worldSize(): number {
    return this.dist?.worldSize ?? 1;
  }

  /** config.model: the registered name, or custom:<ClassName> (checked against the run being resumed). */
  private recordModelName(spec: ModelSpec | undefined, resumed: CheckpointContents | null): void {
    const name = spec === undefined ? this.config.model : recordedModelName(spec, this.models.model);
    if (resumed !== null && name !== resumed.meta.config.model) {
      throw new ConfigError(`cannot resume: the run trained model '${resumed.meta.config.model}', this is '${name}'`);
    }
    if (name !== this.config.model) {
      this.config.model = name;
      if (this.isMain) writeRunConfig(this);
    }
  }

  /** Puts a resumed run's weights, optimizer, schedule, RNG and progress back. */
  private restore(resumed: CheckpointContents): void {
    const classNames = this.data.info.classNames;
    if (resumed.meta.data.classNames.join('\n') !== classNames.join('\n')) {
      throw new ConfigError(`cannot resume: the checkpoint was trained on classes [${resumed.meta.data.classNames.join(', ')}] but the data has [${classNames.join(', ')}]`);
    }
    const trainedOn = resumed.meta.worldSize ?? 1;
    if (trainedOn !== this.worldSize) {
      throw new ConfigError(`cannot resume: the run was trained on ${trainedOn} process(es), this is ${this.worldSize} (its schedule counts the steps of ${trainedOn}); resume with --nproc-per-node ${trainedOn}`);
    }
    const { model, ema, optimizer, schedule } = this.models;
    model.loadStateDict(resumed.model);
    if (ema !== null && resumed.ema !== null) ema.model.loadStateDict(resumed.ema);
    if (resumed.optimizer !== null) optimizer.loadStateDict(resumed.optimizer);
    if (schedule !== null && resumed.meta.schedule !== null) schedule.loadStateDict(resumed.meta.schedule as never);
    if (resumed.rngState !== null) setRngState(resumed.rngState);
    this.history.push(...resumed.meta.history);
    const { epoch, batch, globalStep, partial, best } = resumed.meta;
    this.#position = { epoch, batch, globalStep, partial, best };
    if (this.#early !== null && resumed.meta.earlyStopping !== null) this.#early.state = resumed.meta.earlyStopping;
    if (ema !== null) ema.updates = globalStep;
  }

  /** Trains to the end (or a stop), evaluates on the test split and reports. */
  async fit(): Promise<TrainResult> {
    const started = Date.now();
    const { handleSigint = true, signal } = this.options;
    if (handleSigint) process.on('SIGINT', this.#onSigint);
    signal?.addEventListener('abort', () => (this.#interrupted = true), { once: true });
    try {
      await this.#callbacks.trainBegin(this.context);
      for (let epoch = this.#position.epoch; epoch < this.config.epochs && !this.context.stopTraining; epoch++) {
        const logs = await this.trainEpoch(epoch);
        if (logs === null) break;
        await this.endEpoch(logs);
      }
      return await this.finish(started);
    } finally {
      if (handleSigint) process.off('SIGINT', this.#onSigint);
    }
  }

  /** One step on batch `index` of `epoch`: forward, loss, backward, optimizer, schedule, EMA; adds to the epoch's running sums. */
  private trainStep(epoch: number, index: number, imageSize: [number, number]): void {
    const { model, optimizer, schedule, ema } = this.models;
    scope(() => {
      // Inside the scope: the batch is freed with the step's other tensors.
      const batch = this.data.train.batch(epoch, index);
      const images = resizeBatch(batch.images, imageSize);
      const network = this.dist?.ddp ?? model;
      const forward = () => {
        const logits = network.forward(images);
        this.checkClassCount(logits);
        return { logits, loss: this.loss(logits.float(), batch.labels) };
      };
      const { autocastDevice } = this.precision;
      const { logits, loss } = autocastDevice === undefined ? forward() : autocast(autocastDevice, forward);
      optimizer.zeroGrad();
      loss.backward();
      this.dist?.ddp?.syncGradients();
      if (this.config.gradClip !== null) clipGradNorm(model.parameters(), this.config.gradClip);
      optimizer.step();
      if (schedule !== null && stepsEveryBatch(this.config)) (schedule as OneCycleLR).step();
      ema?.update();
      noGrad(() => {
        const n = batch.labels.shape[0]!;
        this.#lossSum.add_(loss.detach().mul(n));
        this.#correct.add_(logits.argmax(1).eq(batch.labels).sum());
      });
    });
  }

  private loss(logits: Tensor, labels: Tensor): Tensor {
    if (this.options.loss !== undefined) return this.options.loss(logits, labels);
    return crossEntropy(logits, labels, { labelSmoothing: this.config.labelSmoothing });
  }

  /** A model whose output width is not the class count fails with the two numbers, once, on the first step. */
  private checkClassCount(logits: Tensor): void {
    if (this.#checkedClasses) return;
    const classes = this.data.info.classNames.length;
    if (logits.ndim !== 2 || logits.shape[1] !== classes) {
      throw new ConfigError(`the model's output has shape [${logits.shape.join(', ')}]; the data has ${classes} classes, so it must be [batch, ${classes}]`);
    }
    this.#checkedClasses = true;
  }

  /** The training steps of one epoch; null when the run stopped inside it (Ctrl-C, non-finite loss). */
  private async trainEpoch(epoch: number): Promise<EpochLogs | null> {
    const loader = this.data.train;
    const batches = loader.numBatches;
    this.models.model.train();
    const imageSize = imageSizeForEpoch(epoch + 1, [loader.height, loader.width], this.config.progressiveResize, this.config.epochs);
    await this.#callbacks.epochBegin(epoch + 1, this.context);
    const firstBatch = epoch === this.#position.epoch ? this.#position.batch : 0;
    // A resumed epoch's sums so far are every rank's together: rank 0 carries them.
    const partial = firstBatch > 0 && this.isMain ? this.#position.partial : null;
    noGrad(() => {
      this.#lossSum.fill_(partial?.lossSum ?? 0);
      this.#correct.fill_(partial?.correct ?? 0);
    });
    let seen = partial?.seen ?? 0;
    const carriedSeconds = partial?.seconds ?? 0;
    this.#position.partial = null;
    const epochStart = Date.now();
    const elapsed = () => carriedSeconds + (Date.now() - epochStart) / 1000;
    this.#epochSeconds = elapsed;
    const metrics = () => ({ loss: this.#lossSum.item() / Math.max(seen, 1), accuracy: this.#correct.item() / Math.max(seen, 1) });
    const sums = (): PartialEpoch => {
      seen = this.sumOverRanks(seen);
      return { lossSum: this.#lossSum.item(), correct: this.#correct.item(), seen, seconds: elapsed() };
    };
    for (let batchIndex = firstBatch; batchIndex < batches; ) {
      // Random access by (epoch, index): the same batch whether or not the run was resumed.
      this.trainStep(epoch, batchIndex, imageSize);
      batchIndex += 1;
      this.#position.globalStep += 1;
      seen += this.config.batchSize;
      const logs: BatchLogs = { epoch: epoch + 1, batch: batchIndex, batches, images: seen, lr: this.models.optimizer.getLr(0), elapsed: elapsed(), metrics };
      this.#callbacks.batchEnd(logs, this.context);
      const checkLoss = batchIndex % 25 === 0 || batchIndex === batches;
      const lossIsFinite = !checkLoss || Number.isFinite(this.#lossSum.item());
      await new Promise((resolve) => setImmediate(resolve)); // let Ctrl-C and timers in
      const [interrupted, nonFinite] = this.dist === null ? [this.#interrupted, !lossIsFinite] : this.dist.agree([this.#interrupted, !lossIsFinite]);
      if (nonFinite) {
        this.stopForNonFiniteLoss(epoch, batchIndex);
        return null;
      }
      if (interrupted) {
        this.saveInterrupted(epoch, batchIndex, batches, sums());
        return null;
      }
    }
    const seconds = elapsed();
    seen = this.sumOverRanks(seen);
    const { loss: trainLoss, accuracy: trainAccuracy } = metrics();
    const logs: EpochLogs = { epoch: epoch + 1, trainLoss, trainAccuracy, lr: this.models.optimizer.getLr(0), seconds, totalSeconds: seconds, imagesPerSecond: seen / Math.max(seconds, 1e-9) };
    if (this.config.progressiveResize !== null) logs.imageSize = imageSize;
    return logs;
  }

  /**
   * Distributed: the epoch's loss sum and correct count become every rank's
   * together (in place); returns the images seen by all ranks.
   */
  private sumOverRanks(seen: number): number {
    if (this.dist === null) return seen;
    return scope(() => {
      const count = tensor([seen], [1], { dtype: 'float64' });
      this.dist!.sum([this.#lossSum, this.#correct, count]);
      return count.item();
    });
  }

  /** A NaN spreads to every weight: stop before it reaches a checkpoint (checked every 25 steps and at the epoch's end). */
  private stopForNonFiniteLoss(epoch: number, batchIndex: number): void {
    const lossSum = this.#lossSum.item();
    const last = this.checkpoints.last;
    this.#stopped = 'non-finite-loss';
    this.#message = `The loss became ${lossSum} in epoch ${epoch + 1} (step ${batchIndex}); training stopped. ${
      fs.existsSync(last) ? `The last good checkpoint is ${last}.` : 'No checkpoint was written.'
    } Try a lower lr (now ${this.config.lr}) or gradClip.`;
    this.context.stopTraining = true;
  }

  /** Ctrl-C or the abort signal: save where the run is, to resume from this batch. */
  private saveInterrupted(epoch: number, batchIndex: number, batches: number, sums: PartialEpoch): void {
    if (this.isMain) this.checkpoints.save(this.checkpoints.last, this.state, { ...this.#position, epoch, batch: batchIndex, partial: sums });
    this.#stopped = 'interrupted';
    this.#message = `Interrupted in epoch ${epoch + 1} at step ${batchIndex}/${batches}; saved ${this.checkpoints.last}. Resume with: npx torchts train --resume ${this.runDir}`;
    this.context.stopTraining = true;
  }

  /** Epoch end: validation, the per-epoch schedule, callbacks (early stopping), best and last checkpoints. */
  private async endEpoch(logs: EpochLogs): Promise<void> {
    const { schedule } = this.models;
    if (this.data.val !== null) this.validate(logs);
    logs.totalSeconds = this.#epochSeconds();
    if (schedule instanceof ReduceLROnPlateau) schedule.step(this.config.plateau.monitor === 'valLoss' ? logs.valLoss! : logs.valAccuracy!);
    else if (schedule instanceof StepLR) schedule.step();
    this.history.push(logs);
    const improved = this.improvesBest(logs);
    await this.#callbacks.epochEnd(logs, this.context);
    if (this.context.stopTraining) this.#stopped = this.#early?.triggered ? 'early-stopping' : 'callback';
    this.#position = { ...this.#position, epoch: logs.epoch, batch: 0, partial: null };
    if (improved !== null) {
      this.#position.best = improved;
      if (this.isMain) this.checkpoints.save(this.checkpoints.best, this.state, this.#position);
    }
    if (this.isMain) this.checkpoints.save(this.checkpoints.last, this.state, this.#position);
  }

  /** Validation loss and accuracy (and metrics) into `logs`; distributed, rank 0 evaluates and every rank gets its numbers, so all decide alike. */
  private validate(logs: EpochLogs): void {
    if (this.isMain) {
      const validation = evaluate(this.evalModel, this.data.val!.batches(0), { ...this.metricOptions, autocastDevice: this.precision.autocastDevice });
      logs.valLoss = validation.loss;
      logs.valAccuracy = validation.accuracy;
      if (Object.keys(validation.metrics).length > 0) logs.valMetrics = validation.metrics;
    }
    if (this.dist !== null) [logs.valLoss, logs.valAccuracy] = this.dist.fromMain([logs.valLoss ?? Number.NaN, logs.valAccuracy ?? Number.NaN]);
  }

  /**
   * "Best" follows bestMonitor, else early stopping's validation metric when
   * it watches one (so restoring the best weights restores its epoch), else valAccuracy.
   */
  private improvesBest(logs: EpochLogs): RunPosition['best'] {
    const watched = this.config.earlyStopping?.monitor;
    const monitor = this.config.bestMonitor ?? (watched === 'valLoss' || watched === 'valAccuracy' ? watched : 'valAccuracy');
    const value = monitor === 'valLoss' ? logs.valLoss : logs.valAccuracy;
    if (value === undefined || !Number.isFinite(value)) return null;
    const best = this.#position.best;
    const better = best === null || (monitor === 'valLoss' ? value < best.value : value > best.value);
    return better ? { monitor, value, epoch: logs.epoch } : null;
  }

  /** Class names and the metrics every evaluation computes. */
  private get metricOptions(): { classNames: string[]; topK: number[]; metrics: Record<string, MetricFunction> } {
    return { classNames: this.data.info.classNames, topK: this.config.topK, metrics: this.options.metrics ?? {} };
  }

  private get evalModel(): Module {
    return this.models.ema?.model ?? this.models.model;
  }

  /** Finish: the best weights back (early stopping), test evaluation, reports, the result. */
  private async finish(started: number): Promise<TrainResult> {
    if (this.#stopped === 'early-stopping') this.#message = this.restoreBest();
    const tested = this.isMain && this.config.testWeights === 'best' && this.#stopped !== 'interrupted' && this.#stopped !== 'non-finite-loss' ? this.loadBestForTest() : '';
    let test: EvaluationResult | null = null;
    // Distributed: rank 0 tests and reports for the run.
    if (this.isMain && (this.#stopped === 'completed' || this.#stopped === 'early-stopping' || this.#stopped === 'callback')) {
      // The other ranks are done: the test may have this machine's cores.
      if (this.dist !== null && this.config.threads === undefined) setNumThreads(os.availableParallelism());
      test = this.testEvaluation();
      const accuracy = test === null ? 'no test split (the data has none; testFraction holds one out)' : `test accuracy ${(100 * test.accuracy).toFixed(2)}%${tested}`;
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      if (this.#stopped === 'completed') this.#message = `Finished ${this.config.epochs} epochs in ${seconds} s; ${accuracy}.`;
      else if (this.#stopped === 'callback') this.#message = `Stopped by a callback after epoch ${this.#position.epoch} of ${this.config.epochs}${this.context.stopReason ? ` (${this.context.stopReason})` : ''}; ${accuracy}.`;
    }
    if (this.#message && this.options.progress !== false) process.stdout.write(`${this.#message}\n`);
    await this.#callbacks.trainEnd(this.context);
    const files = [path.join(this.runDir, 'config.json'), path.join(this.runDir, 'metrics.jsonl'), ...this.checkpoints.files()];
    if (test !== null) files.push(path.join(this.runDir, 'test-report.txt'), path.join(this.runDir, 'test-results.json'));
    if (this.config.plots) files.push(path.join(this.runDir, 'curves.svg'), path.join(this.runDir, 'curves.png'));
    return {
      runDir: this.runDir,
      config: this.config,
      history: this.history,
      test,
      stopped: this.#stopped,
      message: this.#message,
      checkpoints: { last: this.checkpoints.last, best: this.checkpoints.bestIfAny() },
      notes: this.notes,
      files: [...new Set(files)].filter((f) => fs.existsSync(f)),
      seconds: (Date.now() - started) / 1000,
    };
  }

  /** The model's (and its moving average's) weights from a checkpoint of this run. */
  private loadModelWeights(file: string): void {
    const saved = loadCheckpoint(file);
    try {
      this.models.model.loadStateDict(saved.model);
      if (this.models.ema !== null && saved.ema !== null) this.models.ema.model.loadStateDict(saved.ema);
    } finally {
      releaseCheckpoint(saved);
    }
  }

  /** testWeights 'best': the best validation epoch's weights for the test, as the seed tested. */
  private loadBestForTest(): string {
    const bestFile = this.checkpoints.bestIfAny();
    if (bestFile === null) return '';
    this.loadModelWeights(bestFile);
    return ` with the weights of epoch ${this.#position.best?.epoch} (best ${this.#position.best?.monitor} ${this.#position.best?.value.toFixed(4)})`;
  }

  private restoreBest(): string {
    const reason = this.context.stopReason ?? 'Stopped early';
    const bestFile = this.checkpoints.bestIfAny();
    if (!this.config.earlyStopping?.restoreBest || bestFile === null) return `${reason}.`;
    this.loadModelWeights(bestFile);
    return `${reason}; restored the weights of epoch ${this.#position.best?.epoch}.`;
  }

  private testEvaluation(): EvaluationResult | null {
    const { tta, ttaShift, ttaShiftDirections } = this.config;
    if (this.data.testLoader === null) return null;
    const loader = this.data.testLoader();
    try {
      const test = evaluate(this.evalModel, loader.batches(0), { ...this.metricOptions, tta, ttaShift, ttaShiftDirections, autocastDevice: this.precision.autocastDevice });
      const report = formatEvaluation(test, 'Test');
      writeTextAtomic(path.join(this.runDir, 'test-report.txt'), `${report}\n`);
      writeTextAtomic(path.join(this.runDir, 'test-results.json'), `${JSON.stringify(test, null, 2)}\n`);
      if (this.options.progress !== false) process.stdout.write(`\n${report}\n`);
      return test;
    } finally {
      loader.dispose();
    }
  }

  /** Frees the loaders, models and optimizer, and gives the allocator's idle memory back. */
  dispose(): void {
    this.#lossSum.dispose();
    this.#correct.dispose();
    this.data.dispose();
    if (this.models.ownsModel) this.models.model.dispose();
    this.models.ema?.model.dispose();
    this.models.optimizer.dispose();
    this.dist?.close();
    // The allocator keeps freed step buffers for reuse; a program that goes
    // on after train() should get that memory back.
    trimMemory();
  }
}

/** Rank 0 opens the run (its folder, config.json) and tells the others where it is; they read it and write nothing. */
function openSharedRun(resume: string | undefined, overrides: Partial<TrainConfig> & { preset?: PresetName }, dist: DistributedRun | null) {
  if (dist === null) return openRun(resume, overrides);
  if (dist.isMain) {
    const run = openRun(resume, overrides);
    dist.share('runDir', run.runDir);
    return run;
  }
  const runDir = dist.share('runDir', undefined);
  return openRun(resume, resume === undefined ? { ...overrides, runDir } : overrides, { writes: false });
}

/** Rank 0 loads (and on a first run decodes and caches) the data before the others, which then read its cache. */
async function prepareSharedData(dist: DistributedRun | null, prepare: () => Promise<RunData>): Promise<RunData> {
  if (dist === null) return prepare();
  if (dist.isMain) {
    const data = await prepare();
    dist.barrier();
    return data;
  }
  dist.barrier();
  return prepare();
}

/** Trains a model on labelled images; see TrainOptions and TrainConfig for every option. */
export async function train(options: TrainOptions = {}): Promise<TrainResult> {
  const trainer = await Trainer.create(options);
  try {
    return await trainer.fit();
  } finally {
    trainer.dispose();
  }
}
