// The Tensor facade: a JS handle on a libtorch tensor.
//
// Methods mirror PyTorch's (camelCase), and each delegates to the functional
// op in lib/ops/, which calls the generic native op path. A Tensor owns one
// reference to its libtorch tensor until dispose() or the end of the scope()
// that created it; views and `.grad` lookups are separate handles.
import { inspect } from 'node:util';
import { checkDevice, type Device } from './device';
import {
  type DataTypeMap,
  type DType,
  dtypeCode,
  dtypeName,
  isDType,
  isFloating,
  isMemoryFormat,
  type MemoryFormat,
  memoryFormatCode,
  viewBytes,
} from './dtype';
import { formatTensor } from './format';
import { keep, track } from './memory';
import { native, type TensorHandle } from './native';
import * as indexing from './ops/indexing';
import * as linalg from './ops/linalg';
import * as nn from './ops/nn';
import * as pw from './ops/pointwise';
import type { RoundingMode, TensorOrScalar } from './ops/pointwise';
import * as red from './ops/reduction';
import type { ReduceOptions, TopkOptions, ValuesIndices, VarianceOptions } from './ops/reduction';
import { callOp, op } from './ops/op';
import * as shp from './ops/shape';
import type { PadMode } from './ops/shape';
import { ArgumentRangeError, ArgumentTypeError } from './errors';

export class TensorDisposedError extends Error {
  readonly code = 'ERR_TORCHTS_DISPOSED';
  constructor() {
    super('this Tensor was disposed (by dispose() or by the scope() that created it); keep() it to use it after its scope');
    this.name = 'TensorDisposedError';
  }
}

export interface ToOptions {
  dtype?: DType;
  device?: Device;
  memoryFormat?: MemoryFormat;
  /** Always return a new tensor, even when nothing changes. */
  copy?: boolean;
  /** Asynchronous host<->device copy where possible (pinned memory). */
  nonBlocking?: boolean;
}

export interface BackwardOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
}

/** A nested JS array of a tensor's values (what arraySync returns). */
export type NestedArray = number | boolean | bigint | NestedArray[];

const TO = op('aten::to.dtype_layout');
const CONTIGUOUS = op('aten::contiguous');
const CLONE = op('aten::clone');
const DETACH = op('aten::detach');
const DETACH_ = op('aten::detach_');

export class Tensor {
  #handle: TensorHandle | null;
  #gradCache: WeakRef<Tensor> | undefined;

  private constructor(handle: TensorHandle) {
    this.#handle = handle;
    track(this);
  }

  /** Wraps a native handle (internal: ops use it for their results). */
  static fromHandle(handle: TensorHandle | null): Tensor {
    if (handle === null || handle === undefined) throw new ArgumentTypeError('torchts: an op returned no tensor');
    return new Tensor(handle);
  }

  /** The native handle; throws if this tensor was disposed. */
  get handle(): TensorHandle {
    const handle = this.#handle;
    if (handle === null) throw new TensorDisposedError();
    return handle;
  }

  // ---- lifetime ----------------------------------------------------------

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  /** Releases this handle's reference now (idempotent). */
  dispose(): void {
    const handle = this.#handle;
    if (handle !== null) {
      this.#handle = null;
      native.dispose(handle);
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Keeps this tensor alive past the end of enclosing scopes. */
  keep(): this {
    return keep(this);
  }

  // ---- properties --------------------------------------------------------

  get shape(): number[] {
    return native.shape(this.handle);
  }

  /** Size of one dim (negative counts from the end), or the whole shape. */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number | number[] {
    const shape = this.shape;
    if (dim === undefined) return shape;
    const index = dim < 0 ? shape.length + dim : dim;
    if (index < 0 || index >= shape.length) throw new ArgumentRangeError(`dim ${dim} is out of range for a ${shape.length}-dim tensor`);
    return shape[index]!;
  }

  get ndim(): number {
    return native.dim(this.handle);
  }

  dim(): number {
    return native.dim(this.handle);
  }

  numel(): number {
    return native.numel(this.handle);
  }

  stride(): number[] {
    return native.strides(this.handle);
  }

  get dtype(): DType {
    return dtypeName(native.dtype(this.handle));
  }

  get device(): Device {
    return native.device(this.handle) as Device;
  }

  get isCuda(): boolean {
    return this.device !== 'cpu';
  }

  isContiguous(memoryFormat: MemoryFormat = 'contiguous'): boolean {
    return native.isContiguous(this.handle, memoryFormatCode(memoryFormat));
  }

  isFloatingPoint(): boolean {
    return isFloating(this.dtype);
  }

  // ---- autograd ----------------------------------------------------------

  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }

  set requiresGrad(value: boolean) {
    native.setRequiresGrad(this.handle, value);
  }

  /** Sets requiresGrad in place and returns this (PyTorch's requires_grad_). */
  requiresGrad_(value = true): this {
    native.setRequiresGrad(this.handle, value);
    return this;
  }

  /**
   * The accumulated gradient, or null. Repeated reads return the same Tensor
   * while it is the current gradient and not disposed (or freed by its
   * scope), so reading `.grad` in a loop holds one handle, not one per read.
   * The cache is a WeakRef: it keeps nothing alive.
   */
  get grad(): Tensor | null {
    const cached = this.#gradCache?.deref();
    if (cached !== undefined && !cached.isDisposed && native.gradIs(this.handle, cached.handle)) return cached;
    const handle = native.grad(this.handle);
    if (handle === null) {
      this.#gradCache = undefined;
      return null;
    }
    const grad = new Tensor(handle);
    this.#gradCache = new WeakRef(grad);
    return grad;
  }

  set grad(value: Tensor | null) {
    native.setGrad(this.handle, value === null ? null : value.handle);
  }

  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }

  /** The name of the autograd node that produced this tensor (e.g. AddBackward0), or null. */
  get gradFn(): string | null {
    const name = native.gradFn(this.handle);
    return name === null ? null : name.split('::').pop()!;
  }

  /** Computes gradients of this tensor (a scalar, or pass `gradient`) w.r.t. graph leaves. */
  backward(gradient?: Tensor | null, options: BackwardOptions = {}): void {
    native.backward([this.handle], gradient ? [gradient.handle] : undefined, options.retainGraph, options.createGraph);
  }

  /** Keeps `.grad` for this non-leaf tensor. */
  retainGrad(): this {
    native.retainGrad(this.handle);
    return this;
  }

  /** Clears the gradient: drops it (default, like PyTorch) or zeroes it in place. */
  zeroGrad(options: { setToNone?: boolean } = {}): void {
    if (options.setToNone ?? true) {
      native.setGrad(this.handle, null);
      return;
    }
    // Not disposed: it is the cached .grad others may hold.
    const grad = this.grad;
    if (grad !== null) pw.zero_(grad);
  }

  /** A new tensor sharing data, cut from the autograd graph. */
  detach(): Tensor {
    return new Tensor(callOp(DETACH.handle, this.handle) as TensorHandle);
  }

  detach_(): this {
    callOp(DETACH_.handle, this.handle);
    return this;
  }

  // ---- conversion --------------------------------------------------------

  /** Converts dtype, device and/or memory format: `to('float64')`, `to('cuda')`, `to({dtype, device})`. */
  to(target: DType | Device | MemoryFormat | ToOptions): Tensor {
    const options: ToOptions =
      typeof target === 'string'
        ? isDType(target)
          ? { dtype: target }
          : isMemoryFormat(target)
            ? { memoryFormat: target }
            : { device: checkDevice(target, 'to(device)') }
        : target;
    if (options === null || typeof options !== 'object') {
      throw new ArgumentTypeError(`to() takes a dtype, a device, a memory format or an options object, got ${String(target)}`);
    }
    return new Tensor(
      callOp(
        TO.handle,
        this.handle,
        options.dtype === undefined ? undefined : dtypeCode(options.dtype),
        undefined,
        options.device === undefined ? undefined : checkDevice(options.device),
        undefined,
        options.nonBlocking ?? false,
        options.copy ?? false,
        options.memoryFormat === undefined ? undefined : memoryFormatCode(options.memoryFormat),
      ) as TensorHandle,
    );
  }

  float(): Tensor {
    return this.to('float32');
  }
  double(): Tensor {
    return this.to('float64');
  }
  half(): Tensor {
    return this.to('float16');
  }
  bfloat16(): Tensor {
    return this.to('bfloat16');
  }
  long(): Tensor {
    return this.to('int64');
  }
  int(): Tensor {
    return this.to('int32');
  }
  bool(): Tensor {
    return this.to('bool');
  }
  byte(): Tensor {
    return this.to('uint8');
  }
  cpu(): Tensor {
    return this.to('cpu');
  }
  cuda(index?: number): Tensor {
    return this.to(index === undefined ? 'cuda' : `cuda:${index}`);
  }

  contiguous(memoryFormat: MemoryFormat = 'contiguous'): Tensor {
    return new Tensor(callOp(CONTIGUOUS.handle, this.handle, memoryFormatCode(memoryFormat)) as TensorHandle);
  }

  clone(memoryFormat?: MemoryFormat): Tensor {
    return new Tensor(callOp(CLONE.handle, this.handle, memoryFormat === undefined ? undefined : memoryFormatCode(memoryFormat)) as TensorHandle);
  }

  // ---- data out ----------------------------------------------------------

  /** A copy of the elements (row-major) in their natural TypedArray; 16-bit floats widen to Float32Array. */
  dataSync<D extends DType = DType>(): DataTypeMap[D] {
    const dtype = this.dtype;
    if (dtype === 'float16' || dtype === 'bfloat16') {
      const widened = this.to('float32');
      try {
        return new Float32Array(native.toArrayBuffer(widened.handle)) as DataTypeMap[D];
      } finally {
        widened.dispose();
      }
    }
    return viewBytes(native.toArrayBuffer(this.handle), dtype) as DataTypeMap[D];
  }

  /** The raw element bytes (row-major, contiguous), as safetensors stores them. */
  bytes(): Uint8Array {
    return new Uint8Array(native.toArrayBuffer(this.handle));
  }

  /** The elements as nested JS arrays (numbers; bigints for int64 beyond 2^53; booleans for bool). */
  arraySync(): NestedArray {
    const shape = this.shape;
    const data = this.dataSync();
    const isBool = this.dtype === 'bool';
    const convert = (value: number | bigint): number | bigint | boolean =>
      isBool ? value !== 0 : typeof value === 'bigint' && value >= Number.MIN_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER ? Number(value) : value;
    let offset = 0;
    const build = (dim: number): NestedArray => {
      if (dim === shape.length) return convert(data[offset++]!);
      const out: NestedArray[] = [];
      for (let i = 0; i < shape[dim]!; i++) out.push(build(dim + 1));
      return out;
    };
    return build(0);
  }

  /** The value of a one-element tensor. */
  item(): number;
  item<T extends number | boolean>(): T;
  item(): number | boolean {
    return native.item(this.handle);
  }

  toString(): string {
    if (this.#handle === null) return 'tensor(<disposed>)';
    const dtype = this.dtype;
    const source = this.detach();
    try {
      return formatTensor({
        shape: this.shape,
        dtype,
        device: this.device,
        values: source.dataSync(),
        requiresGrad: this.requiresGrad,
        gradFn: this.gradFn,
      });
    } finally {
      source.dispose();
    }
  }

  [inspect.custom](): string {
    return this.toString();
  }

  // ---- elementwise -------------------------------------------------------

  add(other: TensorOrScalar, alpha?: number): Tensor {
    return pw.add(this, other, alpha);
  }
  sub(other: TensorOrScalar, alpha?: number): Tensor {
    return pw.sub(this, other, alpha);
  }
  mul(other: TensorOrScalar): Tensor {
    return pw.mul(this, other);
  }
  div(other: TensorOrScalar, roundingMode?: RoundingMode): Tensor {
    return pw.div(this, other, roundingMode);
  }
  add_(other: TensorOrScalar, alpha?: number): this {
    pw.add_(this, other, alpha);
    return this;
  }
  sub_(other: TensorOrScalar, alpha?: number): this {
    pw.sub_(this, other, alpha);
    return this;
  }
  mul_(other: TensorOrScalar): this {
    pw.mul_(this, other);
    return this;
  }
  div_(other: TensorOrScalar): this {
    pw.div_(this, other);
    return this;
  }
  remainder(other: TensorOrScalar): Tensor {
    return pw.remainder(this, other);
  }
  floorDivide(other: TensorOrScalar): Tensor {
    return pw.floorDivide(this, other);
  }
  pow(exponent: TensorOrScalar): Tensor {
    return pw.pow(this, exponent);
  }
  neg(): Tensor {
    return pw.neg(this);
  }
  abs(): Tensor {
    return pw.abs(this);
  }
  exp(): Tensor {
    return pw.exp(this);
  }
  log(): Tensor {
    return pw.log(this);
  }
  log1p(): Tensor {
    return pw.log1p(this);
  }
  sqrt(): Tensor {
    return pw.sqrt(this);
  }
  rsqrt(): Tensor {
    return pw.rsqrt(this);
  }
  square(): Tensor {
    return pw.square(this);
  }
  sigmoid(): Tensor {
    return pw.sigmoid(this);
  }
  tanh(): Tensor {
    return pw.tanh(this);
  }
  relu(): Tensor {
    return pw.relu(this);
  }
  relu_(): this {
    pw.relu_(this);
    return this;
  }
  floor(): Tensor {
    return pw.floor(this);
  }
  ceil(): Tensor {
    return pw.ceil(this);
  }
  round(decimals = 0): Tensor {
    return pw.round(this, decimals);
  }
  sign(): Tensor {
    return pw.sign(this);
  }
  reciprocal(): Tensor {
    return pw.reciprocal(this);
  }
  sin(): Tensor {
    return pw.sin(this);
  }
  cos(): Tensor {
    return pw.cos(this);
  }
  clamp(min?: number | Tensor | null, max?: number | Tensor | null): Tensor {
    return pw.clamp(this, min, max);
  }
  clamp_(min?: number | null, max?: number | null): this {
    pw.clamp_(this, min, max);
    return this;
  }
  eq(other: TensorOrScalar): Tensor {
    return pw.eq(this, other);
  }
  ne(other: TensorOrScalar): Tensor {
    return pw.ne(this, other);
  }
  lt(other: TensorOrScalar): Tensor {
    return pw.lt(this, other);
  }
  le(other: TensorOrScalar): Tensor {
    return pw.le(this, other);
  }
  gt(other: TensorOrScalar): Tensor {
    return pw.gt(this, other);
  }
  ge(other: TensorOrScalar): Tensor {
    return pw.ge(this, other);
  }
  maximum(other: Tensor): Tensor {
    return pw.maximum(this, other);
  }
  minimum(other: Tensor): Tensor {
    return pw.minimum(this, other);
  }
  logicalNot(): Tensor {
    return pw.logicalNot(this);
  }
  logicalAnd(other: Tensor): Tensor {
    return pw.logicalAnd(this, other);
  }
  logicalOr(other: Tensor): Tensor {
    return pw.logicalOr(this, other);
  }
  isnan(): Tensor {
    return pw.isnan(this);
  }
  isfinite(): Tensor {
    return pw.isfinite(this);
  }
  lerp(end: Tensor, weight: number | Tensor): Tensor {
    return pw.lerp(this, end, weight);
  }
  fill_(value: number | boolean): this {
    pw.fill_(this, value);
    return this;
  }
  zero_(): this {
    pw.zero_(this);
    return this;
  }
  copy_(source: Tensor): this {
    pw.copy_(this, source);
    return this;
  }
  /** `where(condition, this, other)`: this where condition holds, else other. */
  where(condition: Tensor, other: TensorOrScalar): Tensor {
    return pw.where(condition, this, other);
  }
  maskedFill(mask: Tensor, value: number | boolean | Tensor): Tensor {
    return indexing.maskedFill(this, mask, value);
  }
  maskedFill_(mask: Tensor, value: number | boolean): this {
    indexing.maskedFill_(this, mask, value);
    return this;
  }

  // ---- reductions --------------------------------------------------------

  sum(dim?: number | readonly number[], options?: ReduceOptions): Tensor {
    return red.sum(this, dim, options);
  }
  mean(dim?: number | readonly number[], options?: ReduceOptions): Tensor {
    return red.mean(this, dim, options);
  }
  prod(dim?: number, options?: ReduceOptions): Tensor {
    return red.prod(this, dim, options);
  }
  var(dim?: number | readonly number[], options?: VarianceOptions): Tensor {
    return red.variance(this, dim, options);
  }
  std(dim?: number | readonly number[], options?: VarianceOptions): Tensor {
    return red.std(this, dim, options);
  }
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ValuesIndices;
  max(dim?: number, keepdim?: boolean): Tensor | ValuesIndices {
    return dim === undefined ? red.max(this) : red.max(this, dim, keepdim);
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): ValuesIndices;
  min(dim?: number, keepdim?: boolean): Tensor | ValuesIndices {
    return dim === undefined ? red.min(this) : red.min(this, dim, keepdim);
  }
  amax(dim?: number | readonly number[], keepdim?: boolean): Tensor {
    return red.amax(this, dim, keepdim);
  }
  argmax(dim?: number, keepdim?: boolean): Tensor {
    return red.argmax(this, dim, keepdim);
  }
  argmin(dim?: number, keepdim?: boolean): Tensor {
    return red.argmin(this, dim, keepdim);
  }
  topk(k: number, options?: TopkOptions): ValuesIndices {
    return red.topk(this, k, options);
  }
  sort(dim?: number, descending?: boolean): ValuesIndices {
    return red.sort(this, dim, descending);
  }
  argsort(dim?: number, descending?: boolean): Tensor {
    return red.argsort(this, dim, descending);
  }
  any(dim?: number, keepdim?: boolean): Tensor {
    return red.any(this, dim, keepdim);
  }
  all(dim?: number, keepdim?: boolean): Tensor {
    return red.all(this, dim, keepdim);
  }
  norm(p?: number, dim?: number | readonly number[], keepdim?: boolean): Tensor {
    return red.norm(this, p, dim, keepdim);
  }
  cumsum(dim: number, dtype?: DType): Tensor {
    return red.cumsum(this, dim, dtype);
  }
  logsumexp(dim: number | readonly number[], keepdim?: boolean): Tensor {
    return red.logsumexp(this, dim, keepdim);
  }

  // ---- shape -------------------------------------------------------------

  reshape(...shape: number[] | [readonly number[]]): Tensor {
    return shp.reshape(this, sizesArg(shape));
  }
  view(...shape: number[] | [readonly number[]]): Tensor {
    return shp.view(this, sizesArg(shape));
  }
  permute(...order: number[] | [readonly number[]]): Tensor {
    return shp.permute(this, sizesArg(order));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return shp.transpose(this, dim0, dim1);
  }
  /** Matrix transpose (2-D). */
  t(): Tensor {
    return shp.t(this);
  }
  flatten(startDim?: number, endDim?: number): Tensor {
    return shp.flatten(this, startDim, endDim);
  }
  squeeze(dim?: number | readonly number[]): Tensor {
    return shp.squeeze(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return shp.unsqueeze(this, dim);
  }
  expand(...shape: number[] | [readonly number[]]): Tensor {
    return shp.expand(this, sizesArg(shape));
  }
  expandAs(other: Tensor): Tensor {
    return shp.expand(this, other.shape);
  }
  repeat(...repeats: number[] | [readonly number[]]): Tensor {
    return shp.repeat(this, sizesArg(repeats));
  }
  split(size: number | readonly number[], dim?: number): Tensor[] {
    return shp.split(this, size, dim);
  }
  chunk(chunks: number, dim?: number): Tensor[] {
    return shp.chunk(this, chunks, dim);
  }
  unbind(dim?: number): Tensor[] {
    return shp.unbind(this, dim);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return shp.narrow(this, dim, start, length);
  }
  select(dim: number, index: number): Tensor {
    return shp.select(this, dim, index);
  }
  slice(dim?: number, start?: number | null, end?: number | null, step?: number): Tensor {
    return shp.slice(this, dim, start, end, step);
  }
  flip(dims: number | readonly number[]): Tensor {
    return shp.flip(this, dims);
  }
  roll(shifts: number | readonly number[], dims?: number | readonly number[]): Tensor {
    return shp.roll(this, shifts, dims);
  }
  pad(padding: readonly number[], mode?: PadMode, value?: number): Tensor {
    return shp.pad(this, padding, mode, value);
  }

  // ---- indexing ----------------------------------------------------------

  indexSelect(dim: number, index: Tensor): Tensor {
    return indexing.indexSelect(this, dim, index);
  }
  gather(dim: number, index: Tensor): Tensor {
    return indexing.gather(this, dim, index);
  }
  scatter(dim: number, index: Tensor, source: Tensor | number): Tensor {
    return indexing.scatter(this, dim, index, source);
  }
  scatterAdd(dim: number, index: Tensor, source: Tensor): Tensor {
    return indexing.scatterAdd(this, dim, index, source);
  }
  index(indices: readonly (Tensor | null)[]): Tensor {
    return indexing.index(this, indices);
  }
  maskedSelect(mask: Tensor): Tensor {
    return indexing.maskedSelect(this, mask);
  }

  // ---- linear algebra and nn ---------------------------------------------

  matmul(other: Tensor): Tensor {
    return linalg.matmul(this, other);
  }
  mm(other: Tensor): Tensor {
    return linalg.mm(this, other);
  }
  softmax(dim: number): Tensor {
    return nn.softmax(this, dim);
  }
  logSoftmax(dim: number): Tensor {
    return nn.logSoftmax(this, dim);
  }
}

/** Accepts `reshape(2, 3)` and `reshape([2, 3])`. */
function sizesArg(args: number[] | [readonly number[]]): readonly number[] {
  return args.length === 1 && Array.isArray(args[0]) ? args[0] : (args as number[]);
}
