// Evaluation: loss, accuracy, per-class accuracy and the confusion matrix,
// optionally averaging the logits of each image and its horizontal flip.
import { inferenceMode } from '../autograd';
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
}

export interface Batch {
  images: Tensor;
  labels: Tensor;
}

export interface EvaluateOptions {
  classNames: string[];
  /** Average the logits of each image and its mirror image. */
  tta?: boolean;
  /** bfloat16 autocast on this device type. */
  autocastDevice?: 'cuda' | 'cpu';
}

/** The model's logits for a batch (mirror-averaged with tta). */
export function predictLogits(model: Module, images: Tensor, options: { tta?: boolean; autocastDevice?: 'cuda' | 'cpu' } = {}): Tensor {
  const run = (): Tensor => {
    const logits = model.forward(images).float();
    if (!options.tta) return logits;
    return logits.add(model.forward(images.flip(3)).float()).mul(0.5);
  };
  return options.autocastDevice === undefined ? run() : autocast(options.autocastDevice, run);
}

/** Evaluates `model` (in eval mode, restoring its mode afterwards) over every batch once. */
export function evaluate(model: Module, batches: Iterable<Batch>, options: EvaluateOptions): EvaluationResult {
  const classes = options.classNames.length;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let lossSum = 0;
  let count = 0;
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
  };
}

/** A printable report: accuracy, per-class accuracy and the confusion matrix. */
export function formatEvaluation(result: EvaluationResult, title = 'Test'): string {
  const names = result.classNames;
  const width = Math.max(6, ...names.map((n) => n.length)) + 1;
  const cell = Math.max(5, String(Math.max(...result.confusion.flat(), 0)).length + 1);
  const lines: string[] = [];
  lines.push(`${title}: accuracy ${(100 * result.accuracy).toFixed(2)}% (${result.correct}/${result.count}), loss ${result.loss.toFixed(4)}${result.tta ? ', flip TTA' : ''}`);
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
