// Named ATen operators, resolved once to an integer id and called with
// positional arguments in schema order. Kept free of any dependency on the
// Tensor class: op modules create their Op objects while lib/tensor.ts is
// still loading (the two import each other).
import { native, type TensorHandle } from '../native';

/** One ATen operator overload, resolved lazily on first call. */
export class Op {
  private id = -1;

  constructor(
    readonly name: string,
    readonly overload = '',
  ) {}

  get handle(): number {
    if (this.id < 0) this.id = native.resolveOp(this.name, this.overload);
    return this.id;
  }

  /** The operator's schema, as libtorch prints it. */
  schema(): string {
    return native.opSchema(this.handle);
  }
}

/** `op('aten::add.Tensor')` -> the `add` operator's `Tensor` overload. */
export function op(qualified: string): Op {
  const separator = qualified.indexOf('.', qualified.indexOf('::') + 2);
  return separator < 0 ? new Op(qualified) : new Op(qualified.slice(0, separator), qualified.slice(separator + 1));
}

/**
 * Sees every generic op call and every native leaf module's forward while
 * set (tracing for ONNX export). Handles are those of the call itself.
 */
export interface CallObserver {
  /** Before the call: the arguments as they are read (an in-place op has not changed them yet). */
  beforeOp(id: number, args: readonly unknown[]): void;
  op(id: number, args: readonly unknown[], result: unknown): void;
  module(module: object, input: TensorHandle, output: TensorHandle): void;
}

let observer: CallObserver | null = null;

/** Calls an op by id. Rebound while an observer is set, so untraced calls pay nothing. */
export let callOp: (id: number, ...args: unknown[]) => unknown = native.callOp;

/** Sets (or with null clears) the call observer; returns the previous one. */
export function observeCalls(next: CallObserver | null): CallObserver | null {
  const previous = observer;
  observer = next;
  callOp =
    next === null
      ? native.callOp
      : (id: number, ...args: unknown[]): unknown => {
          next.beforeOp(id, args);
          const result = native.callOp(id, ...args);
          next.op(id, args, result);
          return result;
        };
  return previous;
}

export function callObserver(): CallObserver | null {
  return observer;
}
