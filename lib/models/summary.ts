// A model summary like Keras' model.summary() / torchinfo: each layer's name,
// type, output shape and parameter count, totals, and a memory estimate.
import { noGrad } from '../autograd';
import type { DType } from '../dtype';
import { itemSize } from '../dtype';
import { scope } from '../memory';
import { zeros } from '../ops/creation';
import type { Device } from '../device';
import type { Module } from '../nn/module';
import type { Tensor } from '../tensor';

export interface SummaryRow {
  /** Dotted name ('layer1.0.conv1'). */
  name: string;
  type: string;
  depth: number;
  outputShape: number[] | null;
  /** Parameters of this module and its descendants. */
  params: number;
  isLeaf: boolean;
}

export interface ModelSummary {
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  inputBytes: number;
  /** Outputs of every leaf layer, kept for backward: 2 x their bytes (torchsummary's estimate). */
  forwardBackwardBytes: number;
  paramBytes: number;
  /** The printable table. */
  text: string;
}

const group = (n: number): string => n.toLocaleString('en-US');
const mb = (bytes: number): string => (bytes / 1024 ** 2).toFixed(2);

/**
 * Runs one forward pass of zeros of `inputShape` (with the batch dim, e.g.
 * [1, 3, 32, 32]) in eval mode without autograd, recording each module's
 * output shape, and restores the model's mode afterwards.
 */
export function summary(model: Module, inputShape: readonly number[], options: { dtype?: DType; device?: Device } = {}): ModelSummary {
  const dtype = options.dtype ?? 'float32';
  const modules = [...model.namedModules()];
  const shapes = new Map<Module, number[]>();
  const ownForwards: [Module, PropertyDescriptor | undefined][] = [];
  const wasTraining = model.training;
  // Record outputs by wrapping each module's forward on the instance, for
  // this one pass only.
  for (const [, module] of modules) {
    const original = module.forward;
    ownForwards.push([module, Object.getOwnPropertyDescriptor(module, 'forward')]);
    module.forward = function recordShape(this: Module, input: Tensor, ...rest: unknown[]): Tensor {
      const output = original.call(this, input, ...rest);
      shapes.set(module, output.shape);
      return output;
    };
  }
  try {
    model.eval();
    noGrad(() => scope(() => void model.forward(zeros(inputShape, { dtype, device: options.device }))));
  } finally {
    for (const [module, own] of ownForwards) {
      if (own === undefined) delete (module as { forward?: unknown }).forward;
      else Object.defineProperty(module, 'forward', own);
    }
    model.train(wasTraining);
  }
  const rows: SummaryRow[] = modules
    .filter(([name]) => name !== '')
    .map(([name, module]) => ({
      name,
      type: module.typeName,
      depth: name.split('.').length - 1,
      outputShape: shapes.get(module) ?? null,
      params: module.parameterCount(),
      isLeaf: module.children().length === 0,
    }));
  const parameters = model.parameters();
  const totalParams = parameters.reduce((sum, p) => sum + p.numel(), 0);
  const trainableParams = parameters.filter((p) => p.requiresGrad).reduce((sum, p) => sum + p.numel(), 0);
  const elementBytes = itemSize(dtype);
  const inputBytes = inputShape.reduce((a, b) => a * b, 1) * elementBytes;
  const leafOutputs = rows.filter((row) => row.isLeaf && row.outputShape !== null).reduce((sum, row) => sum + row.outputShape!.reduce((a, b) => a * b, 1), 0);
  const forwardBackwardBytes = 2 * leafOutputs * elementBytes;
  const paramBytes = parameters.reduce((sum, p) => sum + p.numel() * itemSize(p.dtype), 0);
  const result: ModelSummary = {
    rows,
    totalParams,
    trainableParams,
    nonTrainableParams: totalParams - trainableParams,
    inputBytes,
    forwardBackwardBytes,
    paramBytes,
    text: '',
  };
  result.text = formatSummary(model.typeName, result);
  return result;
}

function formatSummary(modelName: string, s: ModelSummary): string {
  const nameWidth = Math.max(34, ...s.rows.map((row) => row.depth * 2 + row.name.length + row.type.length + 3));
  const shapeWidth = 22;
  const paramWidth = 12;
  const width = nameWidth + shapeWidth + paramWidth;
  const line = (ch: string) => ch.repeat(width);
  const out: string[] = [];
  out.push(`Model: "${modelName}"`);
  out.push(line('='));
  out.push('Layer (type)'.padEnd(nameWidth) + 'Output Shape'.padEnd(shapeWidth) + 'Param #'.padStart(paramWidth));
  out.push(line('='));
  for (const row of s.rows) {
    const label = `${'  '.repeat(row.depth)}${row.name} (${row.type})`;
    const shape = row.outputShape === null ? '--' : `[${row.outputShape.join(', ')}]`;
    const params = row.isLeaf ? group(row.params) : row.params === 0 ? '--' : `(${group(row.params)})`;
    out.push(label.padEnd(nameWidth) + shape.padEnd(shapeWidth) + params.padStart(paramWidth));
  }
  out.push(line('='));
  out.push(`Total params: ${group(s.totalParams)}`);
  out.push(`Trainable params: ${group(s.trainableParams)}`);
  out.push(`Non-trainable params: ${group(s.nonTrainableParams)}`);
  out.push(line('-'));
  out.push(`Input size (MB): ${mb(s.inputBytes)}`);
  out.push(`Forward/backward pass size (MB): ${mb(s.forwardBackwardBytes)}`);
  out.push(`Params size (MB): ${mb(s.paramBytes)}`);
  out.push(`Estimated Total Size (MB): ${mb(s.inputBytes + s.forwardBackwardBytes + s.paramBytes)}`);
  out.push(line('-'));
  return out.join('\n');
}
