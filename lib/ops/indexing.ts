// Indexing: gather/scatter, masks, advanced indexing, one-hot.
import { Tensor } from '../tensor';
import { handleOf, isScalar, wrap } from './registry';
import { callOp, op } from './op';

const INDEX_SELECT = op('aten::index_select');
const GATHER = op('aten::gather');
const SCATTER_SRC = op('aten::scatter.src');
const SCATTER_VALUE = op('aten::scatter.value');
const SCATTER_ADD = op('aten::scatter_add');
const INDEX = op('aten::index.Tensor');
const INDEX_PUT_ = op('aten::index_put_');
const MASKED_FILL_S = op('aten::masked_fill.Scalar');
const MASKED_FILL_T = op('aten::masked_fill.Tensor');
const MASKED_FILL_S_ = op('aten::masked_fill_.Scalar');
const MASKED_SELECT = op('aten::masked_select');
const NONZERO = op('aten::nonzero');
const ONE_HOT = op('aten::one_hot');

/** Rows (or slices along `dim`) picked by an int64 index vector. */
export const indexSelect = (a: Tensor, dim: number, index: Tensor): Tensor =>
  wrap(callOp(INDEX_SELECT.handle, handleOf(a, 'indexSelect(self)'), dim, handleOf(index, 'indexSelect(index)')));

/** out[i][j] = a[index[i][j]][j] (dim 0), and so on: torch.gather. */
export const gather = (a: Tensor, dim: number, index: Tensor): Tensor =>
  wrap(callOp(GATHER.handle, handleOf(a, 'gather(self)'), dim, handleOf(index, 'gather(index)')));

/** A copy of `a` with values written at `index` along `dim` (out of place). */
export function scatter(a: Tensor, dim: number, index: Tensor, source: Tensor | number): Tensor {
  const self = handleOf(a, 'scatter(self)');
  const idx = handleOf(index, 'scatter(index)');
  if (isScalar(source)) return wrap(callOp(SCATTER_VALUE.handle, self, dim, idx, source));
  return wrap(callOp(SCATTER_SRC.handle, self, dim, idx, handleOf(source, 'scatter(src)')));
}

export const scatterAdd = (a: Tensor, dim: number, index: Tensor, source: Tensor): Tensor =>
  wrap(callOp(SCATTER_ADD.handle, handleOf(a, 'scatterAdd(self)'), dim, handleOf(index, 'scatterAdd(index)'), handleOf(source, 'scatterAdd(src)')));

/**
 * Advanced indexing, `a[i0, i1, ...]` with index tensors (int64 or bool);
 * null skips a dim (Python's `:`).
 */
export function index(a: Tensor, indices: readonly (Tensor | null)[]): Tensor {
  const handles = indices.map((t, i) => (t === null ? null : handleOf(t, `index(indices[${i}])`)));
  return wrap(callOp(INDEX.handle, handleOf(a, 'index(self)'), handles));
}

/** In place `a[indices] = values` (or += with accumulate). */
export function indexPut_(a: Tensor, indices: readonly (Tensor | null)[], values: Tensor, accumulate = false): Tensor {
  const handles = indices.map((t, i) => (t === null ? null : handleOf(t, `indexPut_(indices[${i}])`)));
  callOp(INDEX_PUT_.handle, handleOf(a, 'indexPut_(self)'), handles, handleOf(values, 'indexPut_(values)'), accumulate);
  return a;
}

/** A copy of `a` with `value` wherever `mask` is true. */
export function maskedFill(a: Tensor, mask: Tensor, value: number | boolean | Tensor): Tensor {
  const self = handleOf(a, 'maskedFill(self)');
  const m = handleOf(mask, 'maskedFill(mask)');
  if (value instanceof Tensor) return wrap(callOp(MASKED_FILL_T.handle, self, m, value.handle));
  return wrap(callOp(MASKED_FILL_S.handle, self, m, value));
}

export function maskedFill_(a: Tensor, mask: Tensor, value: number | boolean): Tensor {
  callOp(MASKED_FILL_S_.handle, handleOf(a, 'maskedFill_(self)'), handleOf(mask, 'maskedFill_(mask)'), value);
  return a;
}

export const maskedSelect = (a: Tensor, mask: Tensor): Tensor =>
  wrap(callOp(MASKED_SELECT.handle, handleOf(a, 'maskedSelect(self)'), handleOf(mask, 'maskedSelect(mask)')));

/** Indices of non-zero elements, one row per element: shape [count, ndim]. */
export const nonzero = (a: Tensor): Tensor => wrap(callOp(NONZERO.handle, handleOf(a, 'nonzero(self)')));

/** int64 class indices -> int64 one-hot rows (numClasses inferred when -1). */
export const oneHot = (labels: Tensor, numClasses = -1): Tensor =>
  wrap(callOp(ONE_HOT.handle, handleOf(labels, 'oneHot(labels)'), numClasses));
