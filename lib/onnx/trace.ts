// Tracing a forward pass: every generic op call and every native leaf
// module's forward, in order, with the shapes and dtypes of the tensors they
// saw. Tensors an op reads that no traced call produced (parameters,
// constants made inside forward) are captured when first read, since they
// may be freed before the trace is converted.
import { noGrad } from '../autograd';
import { dtypeName, type DType } from '../dtype';
import { native, type TensorHandle } from '../native';
import { observeCalls, type CallObserver } from '../ops/op';
import type { Module } from '../nn/module';
import { Tensor } from '../tensor';
import { ArgumentTypeError } from '../errors';
import { parseSchema, type OpSchema } from './schema';

export interface TracedOp {
  kind: 'op';
  schema: OpSchema;
  /** Positional arguments in schema order; tensors as handles. */
  args: unknown[];
  /** Output handles (an in-place op's output is its mutated argument). */
  outputs: TensorHandle[];
}

export interface TracedModule {
  kind: 'module';
  module: Module;
  input: TensorHandle;
  output: TensorHandle;
}

export type TraceEvent = TracedOp | TracedModule;

export interface TensorInfo {
  shape: number[];
  dtype: DType;
}

/** A tensor read by the trace that it did not produce, with its value at the time. */
export interface Captured extends TensorInfo {
  bytes: Uint8Array;
}

export interface Trace {
  events: TraceEvent[];
  input: TensorHandle;
  /** The forward's result (the caller disposes it). */
  output: Tensor;
  info: Map<TensorHandle, TensorInfo>;
  captured: Map<TensorHandle, Captured>;
}

const schemas = new Map<number, OpSchema>();

function schemaOf(id: number): OpSchema {
  let schema = schemas.get(id);
  if (schema === undefined) {
    schema = parseSchema(native.opSchema(id));
    schemas.set(id, schema);
  }
  return schema;
}

function outputHandles(result: unknown): TensorHandle[] {
  if (typeof result === 'number') return [result as TensorHandle];
  if (Array.isArray(result)) return result.filter((item): item is TensorHandle => typeof item === 'number');
  return [];
}

class Recorder implements CallObserver {
  readonly events: TraceEvent[] = [];
  readonly info = new Map<TensorHandle, TensorInfo>();
  readonly captured = new Map<TensorHandle, Captured>();
  private readonly produced = new Set<TensorHandle>();

  constructor(readonly input: TensorHandle) {
    this.produced.add(input);
    this.note(input);
  }

  beforeOp(id: number, args: readonly unknown[]): void {
    const schema = schemaOf(id);
    schema.arguments.forEach((argument, index) => {
      const value = args[index];
      if (argument.kind === 'tensor' && typeof value === 'number') this.read(value as TensorHandle);
      if (argument.kind === 'tensors' && Array.isArray(value)) {
        for (const item of value) if (typeof item === 'number') this.read(item as TensorHandle);
      }
    });
  }

  op(id: number, args: readonly unknown[], result: unknown): void {
    const schema = schemaOf(id);
    const readsTensors = schema.arguments.some((argument, index) => argument.kind !== 'value' && args[index] !== null && args[index] !== undefined);
    if (!readsTensors) {
      // A creation op (zeros, arange, randn...): its result is a constant of the graph, as in PyTorch's tracer.
      for (const handle of outputHandles(result)) this.read(handle);
      return;
    }
    const mutated = schema.mutatedArgument >= 0 ? (args[schema.mutatedArgument] as TensorHandle) : null;
    const outputs = mutated !== null ? [mutated] : outputHandles(result);
    for (const handle of outputs) this.write(handle);
    this.events.push({ kind: 'op', schema, args: [...args], outputs });
  }

  module(module: object, input: TensorHandle, output: TensorHandle): void {
    this.read(input);
    this.write(output);
    this.events.push({ kind: 'module', module: module as Module, input, output });
  }

  private note(handle: TensorHandle): TensorInfo {
    const info = { shape: native.shape(handle), dtype: dtypeName(native.dtype(handle)) };
    this.info.set(handle, info);
    return info;
  }

  private read(handle: TensorHandle): void {
    if (this.produced.has(handle) || this.captured.has(handle)) return;
    const info = this.note(handle);
    this.captured.set(handle, { ...info, bytes: new Uint8Array(native.toArrayBuffer(handle)) });
  }

  private write(handle: TensorHandle): void {
    this.produced.add(handle);
    this.note(handle);
  }
}

/**
 * Runs `model.forward(input)` without gradients, recording it. The model's
 * own mode (train/eval) is the caller's business.
 */
export function traceForward(model: Module, input: Tensor): Trace {
  const recorder = new Recorder(input.handle);
  const previous = observeCalls(recorder);
  let output: unknown;
  try {
    output = noGrad(() => model.forward(input));
  } finally {
    observeCalls(previous);
  }
  if (!(output instanceof Tensor)) {
    throw new ArgumentTypeError(`export: ${model.typeName}.forward must return one Tensor to export, got ${output === null ? 'null' : typeof output}`);
  }
  return { events: recorder.events, input: input.handle, output, info: recorder.info, captured: recorder.captured };
}
