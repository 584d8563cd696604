// Named ATen operators, resolved once to an integer id and called with
// positional arguments in schema order. Kept free of any dependency on the
// Tensor class: op modules create their Op objects while lib/tensor.ts is
// still loading (the two import each other).
import { native } from '../native';

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

export const callOp = native.callOp;
