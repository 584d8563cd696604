// Argument and result helpers of the generic op path: turning Tensors into
// handles (with errors that name the argument) and handles into Tensors.
import { native, type TensorHandle } from '../native';
import { Tensor } from '../tensor';
import { callOp, op } from './op';
import { ArgumentTypeError } from '../errors';

export { Op, op, callOp } from './op';

/** Wraps a returned handle. */
export function wrap(handle: unknown): Tensor {
  return Tensor.fromHandle(handle as TensorHandle);
}

/** Wraps a returned handle list. */
export function wrapAll(handles: unknown): Tensor[] {
  return (handles as TensorHandle[]).map((handle) => Tensor.fromHandle(handle));
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return `${typeof value} ${String(value)}`;
}

/** The handle of a Tensor argument, or a TypeError naming the argument. */
export function handleOf(value: unknown, what: string): TensorHandle {
  if (value instanceof Tensor) return value.handle;
  throw new ArgumentTypeError(`${what} must be a Tensor, got ${describe(value)}`);
}

/** Handles of an optional Tensor argument (null/undefined pass through as null). */
export function optionalHandle(value: unknown, what: string): TensorHandle | null {
  return value === null || value === undefined ? null : handleOf(value, what);
}

export function handlesOf(values: readonly unknown[], what: string): TensorHandle[] {
  if (!Array.isArray(values)) throw new ArgumentTypeError(`${what} must be an array of Tensors, got ${describe(values)}`);
  return values.map((value, index) => handleOf(value, `${what}[${index}]`));
}

/** A number or boolean scalar argument. */
export function isScalar(value: unknown): value is number | boolean {
  return typeof value === 'number' || typeof value === 'boolean';
}

/** Normalises a dim list argument: a number or an array of numbers. */
export function dims(value: number | readonly number[] | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'number' ? [value] : [...value];
}

/**
 * Calls any ATen operator by name, e.g. `callByName('aten::hardswish', t)` or
 * `callByName('aten::max.dim', t, 1, false)`. Tensors (also inside arrays) are
 * passed as tensors; returned tensors are wrapped.
 */
export function callByName(qualified: string, ...args: unknown[]): unknown {
  const operator = op(qualified);
  const lowered = args.map((arg) =>
    arg instanceof Tensor ? arg.handle : Array.isArray(arg) ? arg.map((x) => (x instanceof Tensor ? x.handle : x)) : arg,
  );
  const kinds = native.opReturns(operator.handle);
  const result = callOp(operator.handle, ...lowered);
  if (kinds.length === 1) return lift(result, kinds[0]!);
  return kinds.length === 0 ? undefined : kinds.map((kind, i) => lift((result as unknown[])[i], kind));
}

function lift(value: unknown, kind: 'tensor' | 'tensors' | 'value'): unknown {
  if (value === null || value === undefined) return value;
  if (kind === 'tensor') return Tensor.fromHandle(value as TensorHandle);
  if (kind === 'tensors') return (value as TensorHandle[]).map((h) => Tensor.fromHandle(h));
  return value;
}
