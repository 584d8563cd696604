// Evaluation: loss, accuracy, per-class accuracy and the confusion matrix,
// optionally averaging the logits of several views of each image (test-time
// augmentation): its mirror image, and copies shifted diagonally by a few
// pixels (reflect-padded, as in training's crop augmentation).
import { inferenceMode } from '../autograd';
import { pad } from '../ops/shape';
import { scope } from '../memory';
import type { Module } from '../nn/module';
import { crossEntropy } from '../ops/nn';
import { autocast } from '../runtime';
import type { Tensor } from '../tensor';

export interface EvaluationResult {
  loss: number;
  accuracy: number;
  correct: number;
  count: number;
  classNames: string[];
  /** Accuracy of each class (NaN for classes absent from the data). */
  perClass: number[];
  /** confusion[true][predicted] = count. */
  confusion: number[][];
  tta: boolean;
  /** Pixels of the shifted views averaged in (0: none). */
  ttaShift: number;
  /** 4: the diagonal shifts; 8: also the horizontal and vertical ones. */
  ttaShiftDirections: TtaShiftDirections;
  /** 'top<k>' accuracies asked for with topK, and the caller's metrics, each averaged over all images. */
  metrics: Record<string, number>;
}

/** A metric of one batch: its mean over the batch's images (the result is averaged weighted by batch size). */
export type MetricFunction = (logits: Tensor, labels: Tensor) => number;

/** Which shifted test-time views: 4 diagonal, or all 8 neighbours on a 3x3 grid. */
export type TtaShiftDirections = 4 | 8;

export interface Batch {
  images: Tensor;
  labels: Tensor;
}

export interface EvaluateOptions {
  classNames: string[];
  /** Average the logits of each image and its mirror image. */
  tta?: boolean;
  /**
   * Also average views shifted by this many pixels in the four diagonal
   * directions (each with its mirror image when `tta`); 0 (default): none.
   */
  ttaShift?: number;
  /** 8: shift in the horizontal and vertical directions too (default 4: diagonal only). */
  ttaShiftDirections?: TtaShiftDirections;
  /** bfloat16 autocast on this device type. */
  autocastDevice?: 'cuda' | 'cpu';
  /** Top-k accuracies to report as metrics 'top<k>' (e.g. [5]). */
  topK?: readonly number[];
  /** Your own metrics, by name. */
  metrics?: Readonly<Record<string, MetricFunction>>;
}

/** The fraction of images whose label is among the k largest logits (k capped at the class count). */
export function topKAccuracy(logits: Tensor, labels: Tensor, k: number): number {
  return scope(() => {
    const { indices } = logits.topk(Math.min(k, logits.shape[1]!), { dim: 1 });
    return indices.eq(labels.unsqueeze(1)).any(1).float().mean().item();
  });
}

/** Every metric function an evaluation computes: top-k first, then the caller's. */
function metricFunctions(options: EvaluateOptions): [string, MetricFunction][] {
  const topK = (options.topK ?? []).map((k): [string, MetricFunction] => [`top${k}`, (logits, labels) => topKAccuracy(logits, labels, k)]);
  return [...topK, ...Object.entries(options.metrics ?? {})];
}

const DIAGONALS = [
  [1, 1],
  [-1, -1],
  [1, -1],
  [-1, 1],
] as const;
const AXES = [
  [1, 0],
  [-1, 0],
  [0, 1],
  [0, -1],
] as const;

function shiftDirections(count: TtaShiftDirections): readonly (readonly [number, number])[] {
  return count === 8 ? [...DIAGONALS, ...AXES] : DIAGONALS;
}

/** `images` [N, C, H, W] moved by (dy, dx) pixels, with reflected borders. */
function shifted(images: Tensor, dy: number, dx: number, by: number): Tensor {
  const [, , height, width] = images.shape as [number, number, number, number];
  return pad(images, [by, by, by, by], 'reflect')
    .narrow(2, by + dy, height)
    .narrow(3, by + dx, width);
}

/** The model's logits for a batch, averaged over the test-time views the options ask for. */
export function predictLogits(
  model: Module,
  images: Tensor,
  options: { tta?: boolean; ttaShift?: number; ttaShiftDirections?: TtaShiftDirections; autocastDevice?: 'cuda' | 'cpu' } = {},
): Tensor {
  const shift = options.ttaShift ?? 0;
  const views = (x: Tensor): Tensor[] => (options.tta ? [x, x.flip(3)] : [x]);
  const run = (): Tensor => {
    const inputs = views(images);
    if (shift > 0) for (const [dy, dx] of shiftDirections(options.ttaShiftDirections ?? 4)) inputs.push(...views(shifted(images, dy * shift, dx * shift, shift)));
    let sum = model.forward(inputs[0]!).float();
    for (const input of inputs.slice(1)) sum = sum.add(model.forward(input).float());
    return inputs.length === 1 ? sum : sum.div(inputs.length);
  };
  return options.autocastDevice === undefined ? run() : autocast(options.autocastDevice, run);
}

/** Describes the views averaged, for reports ('' when there is one view). */
export function describeTta(tta: boolean, ttaShift: number, directions: TtaShiftDirections = 4): string {
  if (!tta && ttaShift === 0) return '';
  const shifts = directions === 8 ? `8 shifts (diagonal, horizontal, vertical) of ${ttaShift} px` : `4 diagonal shifts of ${ttaShift} px`;
  const parts = [...(tta ? ['flip'] : []), ...(ttaShift > 0 ? [shifts] : [])];
  return `TTA: ${parts.join(' + ')}`;
}

/** Evaluates `model` (in eval mode, restoring its mode afterwards) over every batch once. */
export function evaluate(model: Module, batches: Iterable<Batch>, options: EvaluateOptions): EvaluationResult {
  const classes = options.classNames.length;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let lossSum = 0;
  let count = 0;
  const metrics = metricFunctions(options);
  const metricSums = new Array<number>(metrics.length).fill(0);
  const wasTraining = model.training;
  model.eval();
  try {
    inferenceMode(() => {
      for (const batch of batches) {
        scope(() => {
          const logits = predictLogits(model, batch.images, options);
          const n = batch.labels.shape[0]!;
          lossSum += crossEntropy(logits, batch.labels, { reduction: 'sum' }).item();
          const predicted = logits.argmax(1).dataSync() as BigInt64Array;
          const truth = batch.labels.dataSync() as BigInt64Array;
          for (let i = 0; i < n; i++) confusion[Number(truth[i])]![Number(predicted[i])]! += 1;
          metrics.forEach(([, metric], m) => (metricSums[m]! += n * metric(logits, batch.labels)));
          count += n;
        });
        batch.images.dispose();
        batch.labels.dispose();
      }
    });
  } finally {
    model.train(wasTraining);
  }
  const correct = confusion.reduce((sum, row, i) => sum + row[i]!, 0);
  const perClass = confusion.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? NaN : row[i]! / total;
  });
  return {
    loss: count === 0 ? NaN : lossSum / count,
    accuracy: count === 0 ? NaN : correct / count,
    correct,
    count,
    classNames: options.classNames,
    perClass,
    confusion,
    tta: Boolean(options.tta),
    ttaShift: options.ttaShift ?? 0,
    ttaShiftDirections: options.ttaShiftDirections ?? 4,
    metrics: Object.fromEntries(metrics.map(([name], m) => [name, count === 0 ? NaN : metricSums[m]! / count])),
  };
}

/** A printable report: accuracy, per-class accuracy and the confusion matrix. */
export function formatEvaluation(result: EvaluationResult, title = 'Test'): string {
  const names = result.classNames;
  const width = Math.max(6, ...names.map((n) => n.length)) + 1;
  const cell = Math.max(5, String(Math.max(...result.confusion.flat(), 0)).length + 1);
  const lines: string[] = [];
  const views = describeTta(result.tta, result.ttaShift, result.ttaShiftDirections);
  lines.push(`${title}: accuracy ${(100 * result.accuracy).toFixed(2)}% (${result.correct}/${result.count}), loss ${result.loss.toFixed(4)}${views === '' ? '' : `, ${views}`}`);
  const metrics = Object.entries(result.metrics ?? {});
  if (metrics.length > 0) lines.push(metrics.map(([name, value]) => `${name} ${value.toFixed(4)}`).join(', '));
  lines.push('');
  lines.push('Per-class accuracy:');
  names.forEach((name, i) => lines.push(`  ${name.padEnd(width)} ${Number.isNaN(result.perClass[i]!) ? '   n/a' : `${(100 * result.perClass[i]!).toFixed(2).padStart(6)}%`}`));
  lines.push('');
  lines.push('Confusion matrix (rows: true class, columns: predicted):');
  const abbreviations = names.map((n) => n.slice(0, cell - 1));
  lines.push(`  ${''.padEnd(width)}${abbreviations.map((a) => a.padStart(cell)).join('')}`);
  result.confusion.forEach((row, i) => lines.push(`  ${names[i]!.padEnd(width)}${row.map((v) => String(v).padStart(cell)).join('')}`));
  return lines.join('\n');
}
