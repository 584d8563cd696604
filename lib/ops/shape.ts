// Shape and layout: views, joins, splits, flips and padding.
import { Tensor } from '../tensor';
import { dims, handleOf, handlesOf, wrap, wrapAll } from './registry';
import { callOp, op } from './op';
import { ArgumentTypeError } from '../errors';

const RESHAPE = op('aten::reshape');
const VIEW = op('aten::view');
const PERMUTE = op('aten::permute');
const TRANSPOSE = op('aten::transpose.int');
const FLATTEN = op('aten::flatten.using_ints');
const UNFLATTEN = op('aten::unflatten.int');
const SQUEEZE_ALL = op('aten::squeeze');
const SQUEEZE_DIMS = op('aten::squeeze.dims');
const UNSQUEEZE = op('aten::unsqueeze');
const EXPAND = op('aten::expand');
const REPEAT = op('aten::repeat');
const CAT = op('aten::cat');
const STACK = op('aten::stack');
const SPLIT = op('aten::split.Tensor');
const SPLIT_SIZES = op('aten::split_with_sizes');
const CHUNK = op('aten::chunk');
const UNBIND = op('aten::unbind.int');
const NARROW = op('aten::narrow');
const SELECT = op('aten::select.int');
const SLICE = op('aten::slice.Tensor');
const FLIP = op('aten::flip');
const ROLL = op('aten::roll');
const PAD = op('aten::pad');
const T = op('aten::t');

function checkSizes(shape: readonly number[], what: string): number[] {
  if (!Array.isArray(shape)) throw new ArgumentTypeError(`${what} must be an array of sizes`);
  for (const size of shape) {
    if (!Number.isInteger(size)) throw new ArgumentTypeError(`${what} must hold integers (-1 for one inferred size), got [${shape.join(', ')}]`);
  }
  return [...shape];
}

/** Same data, new shape (-1 infers one size); copies only when it must. */
export const reshape = (a: Tensor, shape: readonly number[]): Tensor =>
  wrap(callOp(RESHAPE.handle, handleOf(a, 'reshape(self)'), checkSizes(shape, 'reshape(shape)')));
/** Same data, new shape; never copies (errors when the strides do not allow it). */
export const view = (a: Tensor, shape: readonly number[]): Tensor =>
  wrap(callOp(VIEW.handle, handleOf(a, 'view(self)'), checkSizes(shape, 'view(shape)')));
export const permute = (a: Tensor, order: readonly number[]): Tensor =>
  wrap(callOp(PERMUTE.handle, handleOf(a, 'permute(self)'), checkSizes(order, 'permute(dims)')));
export const transpose = (a: Tensor, dim0: number, dim1: number): Tensor =>
  wrap(callOp(TRANSPOSE.handle, handleOf(a, 'transpose(self)'), dim0, dim1));
/** The transpose of a matrix (dims 0 and 1 of a tensor of at most 2 dims). */
export const t = (a: Tensor): Tensor => wrap(callOp(T.handle, handleOf(a, 't(self)')));
export const flatten = (a: Tensor, startDim = 0, endDim = -1): Tensor =>
  wrap(callOp(FLATTEN.handle, handleOf(a, 'flatten(self)'), startDim, endDim));
export const unflatten = (a: Tensor, dim: number, sizes: readonly number[]): Tensor =>
  wrap(callOp(UNFLATTEN.handle, handleOf(a, 'unflatten(self)'), dim, checkSizes(sizes, 'unflatten(sizes)')));

/** Removes size-1 dims (all, or the given ones). */
export function squeeze(a: Tensor, dim?: number | readonly number[]): Tensor {
  const self = handleOf(a, 'squeeze(self)');
  return dim === undefined ? wrap(callOp(SQUEEZE_ALL.handle, self)) : wrap(callOp(SQUEEZE_DIMS.handle, self, dims(dim)));
}

export const unsqueeze = (a: Tensor, dim: number): Tensor => wrap(callOp(UNSQUEEZE.handle, handleOf(a, 'unsqueeze(self)'), dim));
/** Broadcasts size-1 dims to `shape` without copying (-1 keeps a size). */
export const expand = (a: Tensor, shape: readonly number[]): Tensor =>
  wrap(callOp(EXPAND.handle, handleOf(a, 'expand(self)'), checkSizes(shape, 'expand(shape)')));
export const repeat = (a: Tensor, repeats: readonly number[]): Tensor =>
  wrap(callOp(REPEAT.handle, handleOf(a, 'repeat(self)'), checkSizes(repeats, 'repeat(repeats)')));

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new ArgumentTypeError('cat() needs a non-empty array of Tensors');
  return wrap(callOp(CAT.handle, handlesOf(tensors, 'cat(tensors)'), dim));
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new ArgumentTypeError('stack() needs a non-empty array of Tensors');
  return wrap(callOp(STACK.handle, handlesOf(tensors, 'stack(tensors)'), dim));
}

/** Splits into pieces of `size` (last may be smaller), or of the listed sizes. */
export function split(a: Tensor, size: number | readonly number[], dim = 0): Tensor[] {
  const self = handleOf(a, 'split(self)');
  if (typeof size === 'number') return wrapAll(callOp(SPLIT.handle, self, size, dim));
  return wrapAll(callOp(SPLIT_SIZES.handle, self, checkSizes(size, 'split(sizes)'), dim));
}

export const chunk = (a: Tensor, chunks: number, dim = 0): Tensor[] => wrapAll(callOp(CHUNK.handle, handleOf(a, 'chunk(self)'), chunks, dim));
export const unbind = (a: Tensor, dim = 0): Tensor[] => wrapAll(callOp(UNBIND.handle, handleOf(a, 'unbind(self)'), dim));
export const narrow = (a: Tensor, dim: number, start: number, length: number): Tensor =>
  wrap(callOp(NARROW.handle, handleOf(a, 'narrow(self)'), dim, start, length));
/** The slice at `index` along `dim` (that dim is removed). */
export const select = (a: Tensor, dim: number, index: number): Tensor => wrap(callOp(SELECT.handle, handleOf(a, 'select(self)'), dim, index));
/** Elements start..end (exclusive) by step along dim, as a view. */
export const slice = (a: Tensor, dim = 0, start?: number | null, end?: number | null, step = 1): Tensor =>
  wrap(callOp(SLICE.handle, handleOf(a, 'slice(self)'), dim, start ?? null, end ?? null, step));
export const flip = (a: Tensor, flipDims: number | readonly number[]): Tensor => wrap(callOp(FLIP.handle, handleOf(a, 'flip(self)'), dims(flipDims)));
export const roll = (a: Tensor, shifts: number | readonly number[], rollDims: number | readonly number[] = []): Tensor =>
  wrap(callOp(ROLL.handle, handleOf(a, 'roll(self)'), dims(shifts), dims(rollDims)));

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/**
 * Pads the last dims: `padding` lists (left, right) pairs starting from the
 * last dim, as torch.nn.functional.pad.
 */
export function pad(a: Tensor, padding: readonly number[], mode: PadMode = 'constant', value?: number): Tensor {
  if (padding.length % 2 !== 0) throw new ArgumentTypeError(`pad(): padding must hold (left, right) pairs, got ${padding.length} values`);
  return wrap(callOp(PAD.handle, handleOf(a, 'pad(self)'), checkSizes(padding, 'pad(padding)'), mode, mode === 'constant' ? value ?? null : null));
}
