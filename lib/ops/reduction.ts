// Reductions, sorting and selection.
import { dtypeCode, type DType } from '../dtype';
import { Tensor } from '../tensor';
import { dims, handleOf, wrap, wrapAll } from './registry';
import { callOp, op } from './op';

export interface ReduceOptions {
  keepdim?: boolean;
  dtype?: DType;
}

const SUM_ALL = op('aten::sum');
const SUM_DIM = op('aten::sum.dim_IntList');
const MEAN_ALL = op('aten::mean');
const MEAN_DIM = op('aten::mean.dim');
const PROD_ALL = op('aten::prod');
const PROD_DIM = op('aten::prod.dim_int');
const VAR = op('aten::var.correction');
const STD = op('aten::std.correction');
const VAR_MEAN = op('aten::var_mean.correction');
const MAX_ALL = op('aten::max');
const MAX_DIM = op('aten::max.dim');
const MIN_ALL = op('aten::min');
const MIN_DIM = op('aten::min.dim');
const AMAX = op('aten::amax');
const AMIN = op('aten::amin');
const ARGMAX = op('aten::argmax');
const ARGMIN = op('aten::argmin');
const TOPK = op('aten::topk');
const SORT = op('aten::sort');
const ARGSORT = op('aten::argsort');
const ANY_ALL = op('aten::any');
const ANY_DIM = op('aten::any.dim');
const ALL_ALL = op('aten::all');
const ALL_DIM = op('aten::all.dim');
const LOGSUMEXP = op('aten::logsumexp');
const CUMSUM = op('aten::cumsum');
const NORM = op('aten::linalg_vector_norm');
const COUNT_NONZERO = op('aten::count_nonzero.dim_IntList');

const code = (dtype: DType | undefined): number | undefined => (dtype === undefined ? undefined : dtypeCode(dtype));

/** Sum of all elements, or over `dim` (a dim or list of dims). */
export function sum(a: Tensor, dim?: number | readonly number[], options: ReduceOptions = {}): Tensor {
  const self = handleOf(a, 'sum(self)');
  if (dim === undefined) return wrap(callOp(SUM_ALL.handle, self, code(options.dtype)));
  return wrap(callOp(SUM_DIM.handle, self, dims(dim), options.keepdim ?? false, code(options.dtype)));
}

export function mean(a: Tensor, dim?: number | readonly number[], options: ReduceOptions = {}): Tensor {
  const self = handleOf(a, 'mean(self)');
  if (dim === undefined) return wrap(callOp(MEAN_ALL.handle, self, code(options.dtype)));
  return wrap(callOp(MEAN_DIM.handle, self, dims(dim), options.keepdim ?? false, code(options.dtype)));
}

export function prod(a: Tensor, dim?: number, options: ReduceOptions = {}): Tensor {
  const self = handleOf(a, 'prod(self)');
  if (dim === undefined) return wrap(callOp(PROD_ALL.handle, self, code(options.dtype)));
  return wrap(callOp(PROD_DIM.handle, self, dim, options.keepdim ?? false, code(options.dtype)));
}

export interface VarianceOptions {
  /** Bessel's correction: 1 (default, unbiased) or 0 (population). */
  correction?: number;
  keepdim?: boolean;
}

export function variance(a: Tensor, dim?: number | readonly number[], options: VarianceOptions = {}): Tensor {
  return wrap(callOp(VAR.handle, handleOf(a, 'var(self)'), dims(dim) ?? null, options.correction ?? 1, options.keepdim ?? false));
}

export function std(a: Tensor, dim?: number | readonly number[], options: VarianceOptions = {}): Tensor {
  return wrap(callOp(STD.handle, handleOf(a, 'std(self)'), dims(dim) ?? null, options.correction ?? 1, options.keepdim ?? false));
}

/** [variance, mean] in one pass. */
export function varMean(a: Tensor, dim?: number | readonly number[], options: VarianceOptions = {}): [Tensor, Tensor] {
  const [v, m] = wrapAll(callOp(VAR_MEAN.handle, handleOf(a, 'varMean(self)'), dims(dim) ?? null, options.correction ?? 1, options.keepdim ?? false));
  return [v!, m!];
}

export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

function valuesIndices(result: unknown): ValuesIndices {
  const [values, indices] = wrapAll(result);
  return { values: values!, indices: indices! };
}

/** The maximum element; with `dim`, the maxima and their indices along it. */
export function max(a: Tensor): Tensor;
export function max(a: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(a: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  const self = handleOf(a, 'max(self)');
  if (dim === undefined) return wrap(callOp(MAX_ALL.handle, self));
  return valuesIndices(callOp(MAX_DIM.handle, self, dim, keepdim));
}

export function min(a: Tensor): Tensor;
export function min(a: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(a: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  const self = handleOf(a, 'min(self)');
  if (dim === undefined) return wrap(callOp(MIN_ALL.handle, self));
  return valuesIndices(callOp(MIN_DIM.handle, self, dim, keepdim));
}

export const amax = (a: Tensor, dim: number | readonly number[] = [], keepdim = false): Tensor =>
  wrap(callOp(AMAX.handle, handleOf(a, 'amax(self)'), dims(dim), keepdim));
export const amin = (a: Tensor, dim: number | readonly number[] = [], keepdim = false): Tensor =>
  wrap(callOp(AMIN.handle, handleOf(a, 'amin(self)'), dims(dim), keepdim));

export const argmax = (a: Tensor, dim?: number, keepdim = false): Tensor =>
  wrap(callOp(ARGMAX.handle, handleOf(a, 'argmax(self)'), dim ?? null, keepdim));
export const argmin = (a: Tensor, dim?: number, keepdim = false): Tensor =>
  wrap(callOp(ARGMIN.handle, handleOf(a, 'argmin(self)'), dim ?? null, keepdim));

export interface TopkOptions {
  dim?: number;
  largest?: boolean;
  sorted?: boolean;
}

export function topk(a: Tensor, k: number, options: TopkOptions = {}): ValuesIndices {
  return valuesIndices(callOp(TOPK.handle, handleOf(a, 'topk(self)'), k, options.dim ?? -1, options.largest ?? true, options.sorted ?? true));
}

export function sort(a: Tensor, dim = -1, descending = false): ValuesIndices {
  return valuesIndices(callOp(SORT.handle, handleOf(a, 'sort(self)'), dim, descending));
}

export const argsort = (a: Tensor, dim = -1, descending = false): Tensor =>
  wrap(callOp(ARGSORT.handle, handleOf(a, 'argsort(self)'), dim, descending));

export function any(a: Tensor, dim?: number, keepdim = false): Tensor {
  const self = handleOf(a, 'any(self)');
  return dim === undefined ? wrap(callOp(ANY_ALL.handle, self)) : wrap(callOp(ANY_DIM.handle, self, dim, keepdim));
}

export function all(a: Tensor, dim?: number, keepdim = false): Tensor {
  const self = handleOf(a, 'all(self)');
  return dim === undefined ? wrap(callOp(ALL_ALL.handle, self)) : wrap(callOp(ALL_DIM.handle, self, dim, keepdim));
}

export const logsumexp = (a: Tensor, dim: number | readonly number[], keepdim = false): Tensor =>
  wrap(callOp(LOGSUMEXP.handle, handleOf(a, 'logsumexp(self)'), dims(dim), keepdim));

export const cumsum = (a: Tensor, dim: number, dtype?: DType): Tensor =>
  wrap(callOp(CUMSUM.handle, handleOf(a, 'cumsum(self)'), dim, code(dtype)));

/** The vector p-norm over all elements or `dim`. */
export const norm = (a: Tensor, p = 2, dim?: number | readonly number[], keepdim = false): Tensor =>
  wrap(callOp(NORM.handle, handleOf(a, 'norm(self)'), p, dims(dim) ?? null, keepdim));

export const countNonzero = (a: Tensor, dim: number | readonly number[] = []): Tensor =>
  wrap(callOp(COUNT_NONZERO.handle, handleOf(a, 'countNonzero(self)'), dims(dim)));
