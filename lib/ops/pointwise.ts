// Elementwise ops: arithmetic, comparisons, logic, unary math, and their
// in-place forms. Binary ops broadcast and accept a number for either side
// where ATen has the overload.
import { Tensor } from '../tensor';
import { handleOf, isScalar, optionalHandle, wrap } from './registry';
import { callOp, op, type Op } from './op';
import { ArgumentTypeError } from '../errors';

export type TensorOrScalar = Tensor | number | boolean;

function binary(tensorOp: Op, scalarOp: Op, name: string, a: Tensor, b: TensorOrScalar, ...extra: unknown[]): Tensor {
  const self = handleOf(a, `${name}(self)`);
  if (b instanceof Tensor) return wrap(callOp(tensorOp.handle, self, b.handle, ...extra));
  if (isScalar(b)) return wrap(callOp(scalarOp.handle, self, b, ...extra));
  throw new ArgumentTypeError(`${name}(other) must be a Tensor or a number, got ${b === null ? 'null' : typeof b}`);
}

function binaryInPlace(tensorOp: Op, scalarOp: Op, name: string, a: Tensor, b: TensorOrScalar, ...extra: unknown[]): Tensor {
  const self = handleOf(a, `${name}(self)`);
  if (b instanceof Tensor) callOp(tensorOp.handle, self, b.handle, ...extra);
  else if (isScalar(b)) callOp(scalarOp.handle, self, b, ...extra);
  else throw new ArgumentTypeError(`${name}(other) must be a Tensor or a number, got ${b === null ? 'null' : typeof b}`);
  return a;
}

function pair(name: string): [Op, Op] {
  return [op(`aten::${name}.Tensor`), op(`aten::${name}.Scalar`)];
}

const [ADD_T, ADD_S] = pair('add');
const [SUB_T, SUB_S] = pair('sub');
const [MUL_T, MUL_S] = pair('mul');
const [DIV_T, DIV_S] = pair('div');
const DIV_T_MODE = op('aten::div.Tensor_mode');
const DIV_S_MODE = op('aten::div.Scalar_mode');
const [ADD_T_, ADD_S_] = pair('add_');
const [SUB_T_, SUB_S_] = pair('sub_');
const [MUL_T_, MUL_S_] = pair('mul_');
const [DIV_T_, DIV_S_] = pair('div_');
const [REM_T, REM_S] = pair('remainder');
const FLOOR_DIV_T = op('aten::floor_divide');
const FLOOR_DIV_S = op('aten::floor_divide.Scalar');
const POW_TT = op('aten::pow.Tensor_Tensor');
const POW_TS = op('aten::pow.Tensor_Scalar');
const POW_ST = op('aten::pow.Scalar');
const [EQ_T, EQ_S] = pair('eq');
const [NE_T, NE_S] = pair('ne');
const [LT_T, LT_S] = pair('lt');
const [LE_T, LE_S] = pair('le');
const [GT_T, GT_S] = pair('gt');
const [GE_T, GE_S] = pair('ge');
const MAXIMUM = op('aten::maximum');
const MINIMUM = op('aten::minimum');
const LOGICAL_AND = op('aten::logical_and');
const LOGICAL_OR = op('aten::logical_or');
const LOGICAL_XOR = op('aten::logical_xor');
const CLAMP = op('aten::clamp');
const CLAMP_T = op('aten::clamp.Tensor');
const CLAMP_ = op('aten::clamp_');
const WHERE = op('aten::where.self');
const WHERE_SO = op('aten::where.ScalarOther');
const WHERE_SS = op('aten::where.ScalarSelf');
const WHERE_SC = op('aten::where.Scalar');
const LERP_S = op('aten::lerp.Scalar');
const LERP_T = op('aten::lerp.Tensor');
const ADDCMUL = op('aten::addcmul');
const ADDCDIV = op('aten::addcdiv');
const FILL_S = op('aten::fill_.Scalar');
const ZERO_ = op('aten::zero_');
const COPY_ = op('aten::copy_');
const ROUND_DECIMALS = op('aten::round.decimals');
const NAN_TO_NUM = op('aten::nan_to_num');

export const add = (a: Tensor, b: TensorOrScalar, alpha?: number): Tensor => binary(ADD_T, ADD_S, 'add', a, b, alpha);
export const sub = (a: Tensor, b: TensorOrScalar, alpha?: number): Tensor => binary(SUB_T, SUB_S, 'sub', a, b, alpha);
export const mul = (a: Tensor, b: TensorOrScalar): Tensor => binary(MUL_T, MUL_S, 'mul', a, b);

export type RoundingMode = 'trunc' | 'floor';

export function div(a: Tensor, b: TensorOrScalar, roundingMode?: RoundingMode): Tensor {
  if (roundingMode === undefined) return binary(DIV_T, DIV_S, 'div', a, b);
  return binary(DIV_T_MODE, DIV_S_MODE, 'div', a, b, roundingMode);
}

export const add_ = (a: Tensor, b: TensorOrScalar, alpha?: number): Tensor => binaryInPlace(ADD_T_, ADD_S_, 'add_', a, b, alpha);
export const sub_ = (a: Tensor, b: TensorOrScalar, alpha?: number): Tensor => binaryInPlace(SUB_T_, SUB_S_, 'sub_', a, b, alpha);
export const mul_ = (a: Tensor, b: TensorOrScalar): Tensor => binaryInPlace(MUL_T_, MUL_S_, 'mul_', a, b);
export const div_ = (a: Tensor, b: TensorOrScalar): Tensor => binaryInPlace(DIV_T_, DIV_S_, 'div_', a, b);
export const remainder = (a: Tensor, b: TensorOrScalar): Tensor => binary(REM_T, REM_S, 'remainder', a, b);
export const floorDivide = (a: Tensor, b: TensorOrScalar): Tensor => binary(FLOOR_DIV_T, FLOOR_DIV_S, 'floorDivide', a, b);

/** a ** b; either side may be a number. */
export function pow(a: Tensor | number, b: TensorOrScalar): Tensor {
  if (typeof a === 'number') return wrap(callOp(POW_ST.handle, a, handleOf(b, 'pow(exponent)')));
  return binary(POW_TT, POW_TS, 'pow', a, b);
}

export const eq = (a: Tensor, b: TensorOrScalar): Tensor => binary(EQ_T, EQ_S, 'eq', a, b);
export const ne = (a: Tensor, b: TensorOrScalar): Tensor => binary(NE_T, NE_S, 'ne', a, b);
export const lt = (a: Tensor, b: TensorOrScalar): Tensor => binary(LT_T, LT_S, 'lt', a, b);
export const le = (a: Tensor, b: TensorOrScalar): Tensor => binary(LE_T, LE_S, 'le', a, b);
export const gt = (a: Tensor, b: TensorOrScalar): Tensor => binary(GT_T, GT_S, 'gt', a, b);
export const ge = (a: Tensor, b: TensorOrScalar): Tensor => binary(GE_T, GE_S, 'ge', a, b);

export const maximum = (a: Tensor, b: Tensor): Tensor =>
  wrap(callOp(MAXIMUM.handle, handleOf(a, 'maximum(a)'), handleOf(b, 'maximum(b)')));
export const minimum = (a: Tensor, b: Tensor): Tensor =>
  wrap(callOp(MINIMUM.handle, handleOf(a, 'minimum(a)'), handleOf(b, 'minimum(b)')));
export const logicalAnd = (a: Tensor, b: Tensor): Tensor =>
  wrap(callOp(LOGICAL_AND.handle, handleOf(a, 'logicalAnd(a)'), handleOf(b, 'logicalAnd(b)')));
export const logicalOr = (a: Tensor, b: Tensor): Tensor =>
  wrap(callOp(LOGICAL_OR.handle, handleOf(a, 'logicalOr(a)'), handleOf(b, 'logicalOr(b)')));
export const logicalXor = (a: Tensor, b: Tensor): Tensor =>
  wrap(callOp(LOGICAL_XOR.handle, handleOf(a, 'logicalXor(a)'), handleOf(b, 'logicalXor(b)')));

/** Clamps into [min, max]; either bound may be omitted (null/undefined), a number or a Tensor. */
export function clamp(a: Tensor, min?: number | Tensor | null, max?: number | Tensor | null): Tensor {
  if (min instanceof Tensor || max instanceof Tensor) {
    return wrap(callOp(CLAMP_T.handle, handleOf(a, 'clamp(self)'), optionalHandle(min, 'clamp(min)'), optionalHandle(max, 'clamp(max)')));
  }
  if (min == null && max == null) throw new ArgumentTypeError('clamp(): give at least one of min and max');
  return wrap(callOp(CLAMP.handle, handleOf(a, 'clamp(self)'), min ?? null, max ?? null));
}

export function clamp_(a: Tensor, min?: number | null, max?: number | null): Tensor {
  if (min == null && max == null) throw new ArgumentTypeError('clamp_(): give at least one of min and max');
  callOp(CLAMP_.handle, handleOf(a, 'clamp_(self)'), min ?? null, max ?? null);
  return a;
}

/** Elementwise `condition ? a : b`; a and b may be numbers. */
export function where(condition: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const cond = handleOf(condition, 'where(condition)');
  if (a instanceof Tensor && b instanceof Tensor) return wrap(callOp(WHERE.handle, cond, a.handle, b.handle));
  if (a instanceof Tensor) return wrap(callOp(WHERE_SO.handle, cond, a.handle, b));
  if (b instanceof Tensor) return wrap(callOp(WHERE_SS.handle, cond, a, b.handle));
  return wrap(callOp(WHERE_SC.handle, cond, a, b));
}

/** a + weight * (b - a). */
export function lerp(a: Tensor, b: Tensor, weight: number | Tensor): Tensor {
  const self = handleOf(a, 'lerp(self)');
  const end = handleOf(b, 'lerp(end)');
  return weight instanceof Tensor ? wrap(callOp(LERP_T.handle, self, end, weight.handle)) : wrap(callOp(LERP_S.handle, self, end, weight));
}

/** a + value * b * c. */
export const addcmul = (a: Tensor, b: Tensor, c: Tensor, value = 1): Tensor =>
  wrap(callOp(ADDCMUL.handle, handleOf(a, 'addcmul(self)'), handleOf(b, 'addcmul(tensor1)'), handleOf(c, 'addcmul(tensor2)'), value));
/** a + value * b / c. */
export const addcdiv = (a: Tensor, b: Tensor, c: Tensor, value = 1): Tensor =>
  wrap(callOp(ADDCDIV.handle, handleOf(a, 'addcdiv(self)'), handleOf(b, 'addcdiv(tensor1)'), handleOf(c, 'addcdiv(tensor2)'), value));

export function fill_(a: Tensor, value: number | boolean): Tensor {
  callOp(FILL_S.handle, handleOf(a, 'fill_(self)'), value);
  return a;
}

export function zero_(a: Tensor): Tensor {
  callOp(ZERO_.handle, handleOf(a, 'zero_(self)'));
  return a;
}

/** Copies `source` into `target` in place (broadcasting, converting dtype and device). */
export function copy_(target: Tensor, source: Tensor): Tensor {
  callOp(COPY_.handle, handleOf(target, 'copy_(self)'), handleOf(source, 'copy_(src)'));
  return target;
}

export function round(a: Tensor, decimals = 0): Tensor {
  if (decimals === 0) return unaryOps.round(a);
  return wrap(callOp(ROUND_DECIMALS.handle, handleOf(a, 'round(self)'), decimals));
}

export function nanToNum(a: Tensor, nan = 0, posinf?: number, neginf?: number): Tensor {
  return wrap(callOp(NAN_TO_NUM.handle, handleOf(a, 'nanToNum(self)'), nan, posinf ?? null, neginf ?? null));
}

// Unary ops: one schema shape (Tensor self) -> Tensor, generated from names.
const UNARY = [
  'neg', 'abs', 'exp', 'log', 'log2', 'log10', 'log1p', 'expm1', 'sqrt', 'rsqrt', 'square', 'sigmoid', 'tanh', 'relu',
  'floor', 'ceil', 'round', 'trunc', 'frac', 'sign', 'reciprocal', 'sin', 'cos', 'tan', 'erf', 'isnan', 'isinf',
  'isfinite', 'logical_not', 'bitwise_not', 'silu',
] as const;
export type UnaryName = (typeof UNARY)[number];

const UNARY_IN_PLACE = ['neg_', 'abs_', 'exp_', 'log_', 'sqrt_', 'sigmoid_', 'tanh_', 'relu_', 'floor_', 'ceil_', 'round_', 'reciprocal_'] as const;
export type UnaryInPlaceName = (typeof UNARY_IN_PLACE)[number];

function makeUnary(name: string): (a: Tensor) => Tensor {
  const operator = op(`aten::${name}`);
  return (a: Tensor) => wrap(callOp(operator.handle, handleOf(a, `${name}(self)`)));
}

function makeUnaryInPlace(name: string): (a: Tensor) => Tensor {
  const operator = op(`aten::${name}`);
  return (a: Tensor) => {
    callOp(operator.handle, handleOf(a, `${name}(self)`));
    return a;
  };
}

export const unaryOps = Object.fromEntries(UNARY.map((name) => [name, makeUnary(name)])) as Record<UnaryName, (a: Tensor) => Tensor>;
export const unaryInPlaceOps = Object.fromEntries(UNARY_IN_PLACE.map((name) => [name, makeUnaryInPlace(name)])) as Record<
  UnaryInPlaceName,
  (a: Tensor) => Tensor
>;

export const { neg, abs, exp, log, log2, log10, log1p, expm1, sqrt, rsqrt, square, sigmoid, tanh, relu, floor, ceil, trunc, frac, sign, reciprocal, sin, cos, tan, erf, isnan, isinf, isfinite, silu } = unaryOps;
export const logicalNot = unaryOps.logical_not;
export const bitwiseNot = unaryOps.bitwise_not;
export const { relu_, exp_, sqrt_, neg_, abs_, sigmoid_, tanh_ } = unaryInPlaceOps;
