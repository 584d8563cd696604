// What the user sees while training: on a terminal, a Keras-style progress
// bar per epoch (step, images/s, loss, accuracy, lr, ETA); in a log or CI,
// one line per epoch, and within a long epoch a plain step line every minute
// (an epoch of the seed's batch-16 recipe takes minutes on a CPU).
import { SingleBar } from 'cli-progress';
import type { BatchLogs, Callback, EpochLogs, TrainContext } from './callbacks';

export interface ProgressOptions {
  /** Write to this stream (default process.stdout). */
  stream?: NodeJS.WriteStream;
  /** Force the bar on or off (default: on when the stream is a TTY). */
  bar?: boolean;
  /** Without the bar: a step line at most this often within an epoch, in seconds (default 60; 0: none). */
  lineEverySeconds?: number;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** 'resnet18 (imagenet stem)'; the stem option applies to the torchvision-style ResNets only. */
export function describeModel(model: string, stem: string): string {
  return model === 'resnet18' || model === 'resnet34' ? `${model} (${stem} stem)` : model;
}

/** 'Epoch  3/20', padded so that the lines of a run align. */
function epochLabel(epoch: number, epochs: number): string {
  return `Epoch ${String(epoch).padStart(String(epochs).length)}/${epochs}`;
}

/** Images per second of the epoch so far. */
function stepRate(logs: BatchLogs): number {
  return Math.round(logs.images / Math.max(logs.elapsed, 1e-9));
}

export function formatEpochLine(logs: EpochLogs, epochs: number): string {
  const parts = [
    epochLabel(logs.epoch, epochs),
    `${formatDuration(logs.totalSeconds)}`,
    `${Math.round(logs.imagesPerSecond)} img/s`,
    ...(logs.imageSize === undefined ? [] : [`${logs.imageSize[0]}x${logs.imageSize[1]}`]),
    `loss ${logs.trainLoss.toFixed(4)}`,
    `accuracy ${logs.trainAccuracy.toFixed(4)}`,
  ];
  if (logs.valLoss !== undefined) parts.push(`val_loss ${logs.valLoss.toFixed(4)}`, `val_accuracy ${logs.valAccuracy!.toFixed(4)}`);
  parts.push(`lr ${logs.lr.toExponential(2)}`);
  return parts.join(' - ');
}

/** A step within an epoch, for logs without a progress bar. */
export function formatStepLine(logs: BatchLogs, epochs: number): string {
  const { loss, accuracy } = logs.metrics();
  const eta = (logs.elapsed / logs.batch) * (logs.batches - logs.batch);
  return [
    `${epochLabel(logs.epoch, epochs)} step ${logs.batch}/${logs.batches}`,
    formatDuration(logs.elapsed),
    `${stepRate(logs)} img/s`,
    `loss ${loss.toFixed(4)}`,
    `accuracy ${accuracy.toFixed(4)}`,
    `lr ${logs.lr.toExponential(2)}`,
    `ETA ${formatDuration(eta)}`,
  ].join(' - ');
}

export class ProgressReporter implements Callback {
  readonly #stream: NodeJS.WriteStream;
  readonly #useBar: boolean;
  readonly #lineEverySeconds: number;
  #bar: SingleBar | null = null;
  #lastRefresh = 0;
  #lastLine = 0;
  #epochs = 0;

  constructor(options: ProgressOptions = {}) {
    this.#stream = options.stream ?? process.stdout;
    this.#useBar = options.bar ?? Boolean(this.#stream.isTTY);
    this.#lineEverySeconds = options.lineEverySeconds ?? 60;
  }

  onTrainBegin(context: TrainContext): void {
    this.#epochs = context.epochs;
    const c = context.config;
    this.#stream.write(
      `Training ${describeModel(c.model, c.stem)} for ${context.epochs} epochs of ${context.batchesPerEpoch} steps (batch ${c.batchSize}); run folder ${context.runDir}\n`,
    );
  }

  onEpochBegin(epoch: number, context: TrainContext): void {
    this.#lastLine = 0;
    if (!this.#useBar) return;
    this.#bar = new SingleBar(
      {
        format: `Epoch ${epoch}/${context.epochs} {bar} {value}/{total} | {ips} img/s | loss {loss} | acc {acc} | lr {lr} | ETA {eta_formatted}`,
        stream: this.#stream,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
      },
      undefined,
    );
    this.#bar.start(context.batchesPerEpoch, 0, { ips: '-', loss: '-', acc: '-', lr: '-' });
    this.#lastRefresh = 0;
  }

  onBatchEnd(logs: BatchLogs): void {
    if (this.#bar === null) {
      this.#writeStepLine(logs);
      return;
    }
    // Reading the running loss waits for the device: at most twice a second.
    if (logs.elapsed - this.#lastRefresh < 0.5 && logs.batch !== logs.batches) {
      this.#bar.update(logs.batch);
      return;
    }
    this.#lastRefresh = logs.elapsed;
    const { loss, accuracy } = logs.metrics();
    this.#bar.update(logs.batch, {
      ips: stepRate(logs),
      loss: loss.toFixed(4),
      acc: accuracy.toFixed(4),
      lr: logs.lr.toExponential(2),
    });
  }

  #writeStepLine(logs: BatchLogs): void {
    if (this.#lineEverySeconds <= 0 || logs.batch === logs.batches) return;
    if (logs.elapsed - this.#lastLine < this.#lineEverySeconds) return;
    this.#lastLine = logs.elapsed;
    this.#stream.write(`${formatStepLine(logs, this.#epochs)}\n`);
  }

  onEpochEnd(logs: EpochLogs, context: TrainContext): void {
    if (this.#bar !== null) {
      this.#bar.stop();
      this.#bar = null;
    }
    this.#stream.write(`${formatEpochLine(logs, context.epochs)}\n`);
  }

  onTrainEnd(context: TrainContext): void {
    if (this.#bar !== null) this.#bar.stop();
    if (context.stopReason) this.#stream.write(`${context.stopReason}\n`);
  }
}
