// A trace -> an ONNX graph: each traced call is handed to the mapping for
// its ATen op (aten-ops.ts) or its native leaf module (module-ops.ts), which
// emits nodes. Values are named by the handles that carried them; tensors
// the trace did not produce become initializers, named after the model's
// parameters and buffers where they are one.
import type { DType } from '../dtype';
import type { TensorHandle } from '../native';
import type { Module } from '../nn/module';
import { GraphBuilder, OnnxExportError } from './graph';
import type { TensorInfo, Trace, TracedModule, TracedOp } from './trace';

export interface ConvertOptions {
  opset: number;
  /** Dim 0 of the input and output is symbolic ('batch'). */
  dynamicBatch: boolean;
}

/** What a mapping sees of the conversion. */
export class Context {
  private readonly names = new Map<TensorHandle, string>();
  private readonly stateNames = new Map<TensorHandle, string>();
  private readonly modulePaths = new Map<Module, string>();

  constructor(
    readonly graph: GraphBuilder,
    readonly trace: Trace,
    readonly options: ConvertOptions,
    model: Module,
    inputName: string,
  ) {
    for (const [path, module] of model.namedModules()) this.modulePaths.set(module, path);
    for (const [name, tensor] of [...model.namedParameters(), ...model.namedBuffers()]) this.stateNames.set(tensor.handle, name);
    const input = graph.fresh(inputName, true);
    graph.markInput(input);
    this.names.set(trace.input, input);
  }

  /** The traced batch size (dim 0 of the input). */
  get batch(): number {
    return this.info(this.trace.input).shape[0] ?? 1;
  }

  info(handle: TensorHandle): TensorInfo {
    const info = this.trace.info.get(handle);
    if (info === undefined) throw new OnnxExportError(`internal: no shape recorded for a traced tensor`);
    return info;
  }

  /** The value name of a traced tensor; a tensor read but not produced becomes an initializer. */
  value(handle: TensorHandle): string {
    const known = this.names.get(handle);
    if (known !== undefined) return known;
    const captured = this.trace.captured.get(handle);
    if (captured === undefined) throw new OnnxExportError('internal: a traced tensor has no producer and was not captured');
    const stateName = this.stateNames.get(handle);
    const name = this.graph.initializer(stateName ?? 'constant', captured.dtype, captured.shape, captured.bytes, stateName !== undefined);
    this.names.set(handle, name);
    return name;
  }

  /** Marks `handle` as now holding `name` (an op's output, or an in-place op's new value). */
  define(handle: TensorHandle, name: string): void {
    this.names.set(handle, name);
  }

  /** An initializer for one of a module's own parameters or buffers ('weight'), named by its path. */
  moduleTensor(module: Module, member: string): string | null {
    const entry = [...module.namedParameters(false), ...module.namedBuffers(false)].find(([name]) => name === member);
    if (entry === undefined) return null;
    const tensor = entry[1];
    const known = this.names.get(tensor.handle);
    if (known !== undefined) return known;
    const path = this.modulePaths.get(module);
    const name = this.graph.initializer(path ? `${path}.${member}` : member, tensor.dtype, tensor.shape, tensor.bytes(), true);
    this.names.set(tensor.handle, name);
    return name;
  }

  modulePath(module: Module): string {
    return this.modulePaths.get(module) || module.typeName;
  }

  /**
   * A Reshape of `input` to a traced shape: with a dynamic batch, when the
   * input is computed from the graph input and both lead with the traced
   * batch size, dim 0 is copied from the input at run time (ONNX's 0).
   */
  reshape(input: string, inputShape: readonly number[], shape: readonly number[]): string {
    const dims = [...shape];
    const carriesBatch = this.graph.dependsOnInput(input) && inputShape[0] === this.batch;
    if (this.options.dynamicBatch && carriesBatch && dims.length > 0 && dims[0] === this.batch) dims[0] = 0;
    return this.graph.op('Reshape', [input, this.graph.int64s(dims, 'shape')]);
  }
}

/** Arguments of a traced op call, with the schema's defaults applied. */
export class OpCall {
  constructor(
    readonly event: TracedOp,
    private readonly context: Context,
  ) {}

  get name(): string {
    return this.event.schema.qualifiedName;
  }

  arg(index: number): unknown {
    const value = this.event.args[index];
    return value === undefined ? this.event.schema.arguments[index]?.defaultValue : value;
  }

  handle(index: number): TensorHandle {
    const value = this.arg(index);
    if (typeof value !== 'number') throw new OnnxExportError(`${this.name}: argument ${this.argumentName(index)} is not a tensor`);
    return value as TensorHandle;
  }

  tensor(index: number): string {
    return this.context.value(this.handle(index));
  }

  optionalTensor(index: number): string | null {
    const value = this.arg(index);
    return value === null || value === undefined ? null : this.tensor(index);
  }

  tensors(index: number): string[] {
    const value = this.arg(index);
    if (!Array.isArray(value)) throw new OnnxExportError(`${this.name}: argument ${this.argumentName(index)} is not a tensor list`);
    return value.map((handle) => this.context.value(handle as TensorHandle));
  }

  shape(index: number): number[] {
    return this.context.info(this.handle(index)).shape;
  }

  dtype(index: number): DType {
    return this.context.info(this.handle(index)).dtype;
  }

  outputShape(output = 0): number[] {
    const handle = this.event.outputs[output];
    if (handle === undefined) throw new OnnxExportError(`${this.name}: no output ${output}`);
    return this.context.info(handle).shape;
  }

  number(index: number): number {
    const value = this.arg(index);
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (typeof value !== 'number') throw new OnnxExportError(`${this.name}: argument ${this.argumentName(index)} is ${String(value)}, not a number`);
    return value;
  }

  optionalNumber(index: number): number | null {
    const value = this.arg(index);
    return value === null || value === undefined ? null : this.number(index);
  }

  bool(index: number): boolean {
    return Boolean(this.arg(index));
  }

  /** An int list argument; a single number stands for `length` copies, as ATen's int[2] accepts. */
  ints(index: number, length = 1): number[] {
    const value = this.arg(index);
    if (typeof value === 'number') return Array.from({ length }, () => value);
    if (Array.isArray(value)) return value.map(Number);
    if (value === null || value === undefined) return [];
    throw new OnnxExportError(`${this.name}: argument ${this.argumentName(index)} is not an int list`);
  }

  string(index: number): string {
    return String(this.arg(index));
  }

  private argumentName(index: number): string {
    return this.event.schema.arguments[index]?.name ?? String(index);
  }
}

export type OpMapping = (call: OpCall, context: Context) => string[];
export type ModuleMapping = (module: Module, input: string, inputInfo: TensorInfo, context: Context) => string;

function convertOp(event: TracedOp, position: number, context: Context, mappings: ReadonlyMap<string, OpMapping>): void {
  const name = event.schema.qualifiedName;
  const mapping = mappings.get(name);
  if (mapping === undefined) {
    throw new OnnxExportError(
      `cannot export ${name}: torchts has no ONNX mapping for it (traced call ${position + 1} of the forward). ` +
        `Ops with a mapping: ${[...mappings.keys()].sort().join(', ')}`,
    );
  }
  const outputs = mapping(new OpCall(event, context), context);
  event.outputs.forEach((handle, index) => {
    const output = outputs[index];
    if (output !== undefined) context.define(handle, output);
  });
}

function convertModule(event: TracedModule, context: Context, mappings: ReadonlyMap<string, ModuleMapping>): void {
  const typeName = event.module.typeName;
  const mapping = mappings.get(typeName);
  if (mapping === undefined) {
    throw new OnnxExportError(`cannot export ${context.modulePath(event.module)} (${typeName}): no ONNX mapping for this layer`);
  }
  context.define(event.output, mapping(event.module, context.value(event.input), context.info(event.input), context));
}

export function convertTrace(
  context: Context,
  opMappings: ReadonlyMap<string, OpMapping>,
  moduleMappings: ReadonlyMap<string, ModuleMapping>,
): string {
  context.trace.events.forEach((event, position) => {
    if (event.kind === 'op') convertOp(event, position, context, opMappings);
    else convertModule(event, context, moduleMappings);
  });
  return context.value(context.trace.output.handle);
}
