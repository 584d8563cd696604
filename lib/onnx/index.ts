// ONNX export: trace one forward pass of any model built from torchts
// modules and ops, map each traced call to ONNX nodes, write a ModelProto.
//
//   tt.onnx.export(model, tt.randn([1, 3, 224, 224]), 'model.onnx', { dynamicBatch: true })
//
// Like torch.onnx.export, the model is exported in eval mode (BatchNorm
// uses its running statistics, Dropout is the identity); a model in
// training mode is switched to eval for the trace and switched back after.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isFloating } from '../dtype';
import { ArgumentRangeError, ArgumentTypeError } from '../errors';
import { writeAll, writeFileAtomic } from '../io/atomic';
import { Module } from '../nn/module';
import { Tensor } from '../tensor';
import { ATEN_MAPPINGS } from './aten-ops';
import { Context, convertTrace } from './convert';
import { GraphBuilder, OnnxExportError, type GraphValue } from './graph';
import { MODULE_MAPPINGS } from './module-ops';
import { traceForward } from './trace';

export { OnnxExportError } from './graph';

export const DEFAULT_OPSET = 17;
export const SUPPORTED_OPSETS = { min: 13, max: 20 } as const;

export interface ExportOptions {
  /** ONNX opset (13-20); 17 by default. */
  opset?: number;
  /** Make dim 0 (the batch) of the input and output symbolic, so any batch size runs. */
  dynamicBatch?: boolean;
  /** The graph input's name (one input): ['input'] by default. */
  inputNames?: string[];
  /** The graph output's name (one output): ['output'] by default. */
  outputNames?: string[];
  /** String key/values stored in the model's metadata_props. */
  metadata?: Record<string, string>;
}

export interface ExportResult {
  file: string;
  bytes: number;
  nodeCount: number;
  /** Node count per ONNX op type. */
  opTypes: Record<string, number>;
  opset: number;
}

/** The IR version that goes with an opset (onnx's own versioning table). */
function irVersionFor(opset: number): number {
  if (opset <= 17) return 8;
  if (opset <= 19) return 9;
  return 10;
}

function singleName(names: string[] | undefined, fallback: string, what: string): string {
  if (names === undefined) return fallback;
  if (!Array.isArray(names) || names.length !== 1 || typeof names[0] !== 'string' || names[0] === '') {
    throw new ArgumentTypeError(`export: ${what} must be an array of one non-empty name (models with one input and one output are exported), got ${JSON.stringify(names)}`);
  }
  return names[0];
}

function checkArguments(model: unknown, input: unknown, file: unknown, options: ExportOptions): number {
  if (!(model instanceof Module)) throw new ArgumentTypeError(`export: model must be a torchts Module, got ${model === null ? 'null' : typeof model}`);
  for (const [name, module] of model.namedModules()) {
    if (module.isDisposed) throw new OnnxExportError(`cannot export ${name === '' ? model.typeName : `${name} (${module.typeName})`}: it was disposed`);
  }
  if (!(input instanceof Tensor)) throw new ArgumentTypeError(`export: exampleInput must be a Tensor, got ${input === null ? 'null' : typeof input}`);
  if (input.isDisposed) throw new OnnxExportError('cannot export: exampleInput was disposed');
  if (!isFloating(input.dtype) && input.dtype !== 'uint8') throw new ArgumentTypeError(`export: exampleInput must be a floating or uint8 tensor, got ${input.dtype}`);
  if (typeof file !== 'string' || file === '') throw new ArgumentTypeError(`export: file must be a non-empty path, got ${JSON.stringify(file)}`);
  const folder = path.dirname(path.resolve(file));
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) throw new OnnxExportError(`cannot write ${file}: the folder ${folder} does not exist`);
  const opset = options.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < SUPPORTED_OPSETS.min || opset > SUPPORTED_OPSETS.max) {
    throw new ArgumentRangeError(`export: opset must be an integer from ${SUPPORTED_OPSETS.min} to ${SUPPORTED_OPSETS.max}, got ${opset}`);
  }
  return opset;
}

/** Runs `fn` with every module in eval mode, then restores each module's own mode. */
function inEvalMode<T>(model: Module, fn: () => T): T {
  const modes = model.modules().map((module) => [module, module.training] as const);
  model.eval();
  try {
    return fn();
  } finally {
    for (const [module, training] of modes) if (module.training !== training) module.train(training);
  }
}

function graphValue(name: string, tensor: { dtype: GraphValue['dtype']; shape: number[] }, dynamicBatch: boolean): GraphValue {
  return { name, dtype: tensor.dtype, dims: tensor.shape.map((dim, index) => (dynamicBatch && index === 0 ? 'batch' : dim)) };
}

function countTypes(types: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of types) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

/**
 * Exports `model` to an ONNX file by tracing `model.forward(exampleInput)`.
 * The file is written atomically: on any error nothing is left at `file`.
 */
function exportModel(model: Module, exampleInput: Tensor, file: string, options: ExportOptions = {}): ExportResult {
  const opset = checkArguments(model, exampleInput, file, options);
  const dynamicBatch = options.dynamicBatch ?? false;
  const inputName = singleName(options.inputNames, 'input', 'inputNames');
  const outputName = singleName(options.outputNames, 'output', 'outputNames');
  return inEvalMode(model, () => {
    const trace = traceForward(model, exampleInput);
    try {
      const graph = new GraphBuilder();
      const context = new Context(graph, trace, { opset, dynamicBatch }, model, inputName);
      const finalName = graph.exposeAs(convertTrace(context, ATEN_MAPPINGS, MODULE_MAPPINGS), outputName);
      const bytes = graph.encode({
        inputs: [graphValue(context.value(trace.input), { dtype: exampleInput.dtype, shape: exampleInput.shape }, dynamicBatch)],
        outputs: [graphValue(finalName, { dtype: trace.output.dtype, shape: trace.output.shape }, dynamicBatch)],
        opset,
        irVersion: irVersionFor(opset),
        graphName: model.typeName,
        metadata: options.metadata ?? {},
      });
      writeFileAtomic(file, (fd) => writeAll(fd, bytes));
      return { file, bytes: bytes.length, nodeCount: graph.nodeCount, opTypes: countTypes(graph.opTypes()), opset };
    } finally {
      trace.output.dispose();
    }
  });
}

export { exportModel as export, exportModel };
