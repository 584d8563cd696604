// Forward and backward parity of ops against PyTorch, computed at test time
// by test/reference/ops.py from the same inputs.
//
// Tolerances: both sides run the same libtorch CPU kernels, so most results
// are bit-identical; we allow rtol 1e-5 / atol 1e-6 in float32 (reduction
// order can differ with thread scheduling) and 1e-10 / 1e-12 in float64.
// Integer and boolean results must match exactly.
import t from 'tap';
import * as tt from '../lib';
import type { DType } from '../lib';
import { compareTensors, type Tolerance } from './helpers/compare';
import { runReference } from './helpers/python';

type InputKind = 'randn' | 'positive' | 'index' | 'bool' | 'int';
interface InputSpec {
  shape: number[];
  kind?: InputKind;
  /** Exclusive upper bound for index/int inputs. */
  high?: number;
  dtype?: DType;
}
type Kw = Record<string, unknown>;
type TsOp = (xs: tt.Tensor[], kw: Kw) => tt.Tensor;

const F = tt.F;
const num = (kw: Kw, key: string): number => kw[key] as number;
const nums = (kw: Kw, key: string): number[] => kw[key] as number[];

// The torchts side of every op in test/reference/ops.py.
const OPS: Record<string, TsOp> = {
  neg: ([a]) => a!.neg(),
  abs: ([a]) => a!.abs(),
  exp: ([a]) => a!.exp(),
  log: ([a]) => a!.log(),
  log1p: ([a]) => a!.log1p(),
  sqrt: ([a]) => a!.sqrt(),
  rsqrt: ([a]) => a!.rsqrt(),
  square: ([a]) => a!.square(),
  sigmoid: ([a]) => a!.sigmoid(),
  tanh: ([a]) => a!.tanh(),
  relu: ([a]) => a!.relu(),
  sin: ([a]) => a!.sin(),
  cos: ([a]) => a!.cos(),
  erf: ([a]) => tt.erf(a!),
  reciprocal: ([a]) => a!.reciprocal(),
  floor: ([a]) => a!.floor(),
  round: ([a]) => a!.round(),
  sign: ([a]) => a!.sign(),
  clamp: ([a], kw) => a!.clamp(num(kw, 'min'), num(kw, 'max')),
  pow_scalar: ([a], kw) => a!.pow(num(kw, 'exponent')),
  pow_tensor: ([a, b]) => a!.pow(b!),
  add: ([a, b], kw) => a!.add(b!, kw.alpha as number | undefined),
  add_scalar: ([a], kw) => a!.add(num(kw, 'value')),
  sub: ([a, b]) => a!.sub(b!),
  mul: ([a, b]) => a!.mul(b!),
  mul_scalar: ([a], kw) => a!.mul(num(kw, 'value')),
  div: ([a, b]) => a!.div(b!),
  div_floor: ([a, b]) => a!.div(b!, 'floor'),
  remainder: ([a, b]) => a!.remainder(b!),
  maximum: ([a, b]) => a!.maximum(b!),
  minimum: ([a, b]) => a!.minimum(b!),
  where: ([c, a, b]) => tt.where(c!, a!, b!),
  lerp: ([a, b], kw) => a!.lerp(b!, num(kw, 'weight')),
  eq: ([a, b]) => a!.eq(b!),
  lt_scalar: ([a], kw) => a!.lt(num(kw, 'value')),
  ge: ([a, b]) => a!.ge(b!),
  logical_and: ([a, b]) => a!.logicalAnd(b!),
  logical_not: ([a]) => a!.logicalNot(),
  masked_fill: ([a, m], kw) => a!.maskedFill(m!, num(kw, 'value')),
  add_inplace: ([a, b]) => a!.clone().add_(b!),
  mul_inplace: ([a], kw) => a!.clone().mul_(num(kw, 'value')),
  matmul: ([a, b]) => a!.matmul(b!),
  mm: ([a, b]) => a!.mm(b!),
  bmm: ([a, b]) => tt.bmm(a!, b!),
  linear: ([x, w, b]) => F.linear(x!, w!, b!),
  conv2d: ([x, w, b], kw) =>
    F.conv2d(x!, w!, b!, { stride: num(kw, 'stride'), padding: num(kw, 'padding'), dilation: num(kw, 'dilation'), groups: num(kw, 'groups') }),
  batch_norm_train: ([x, w, b]) => {
    const channels = x!.shape[1]!;
    const dtype = x!.dtype;
    return F.batchNorm(x!, tt.zeros([channels], { dtype }), tt.ones([channels], { dtype }), { weight: w!, bias: b!, training: true, momentum: 0.1, eps: 1e-5 });
  },
  batch_norm_eval: ([x, rm, rv, w, b]) => F.batchNorm(x!, rm!, rv!, { weight: w!, bias: b!, training: false, eps: 1e-5 }),
  max_pool2d: ([x], kw) => F.maxPool2d(x!, num(kw, 'kernel'), { stride: num(kw, 'stride'), padding: num(kw, 'padding') }),
  avg_pool2d: ([x], kw) => F.avgPool2d(x!, num(kw, 'kernel'), { stride: num(kw, 'stride'), padding: num(kw, 'padding') }),
  adaptive_avg_pool2d: ([x], kw) => F.adaptiveAvgPool2d(x!, nums(kw, 'size') as [number, number]),
  log_softmax: ([x], kw) => F.logSoftmax(x!, num(kw, 'dim')),
  softmax: ([x], kw) => F.softmax(x!, num(kw, 'dim')),
  cross_entropy: ([x, target], kw) => F.crossEntropy(x!, target!, { labelSmoothing: num(kw, 'label_smoothing') }),
  cross_entropy_sum: ([x, target]) => F.crossEntropy(x!, target!, { reduction: 'sum' }),
  nll_loss: ([x, target]) => F.nllLoss(x!, target!),
  mse_loss: ([a, b]) => F.mseLoss(a!, b!),
  dropout_eval: ([x], kw) => F.dropout(x!, num(kw, 'p'), false),
  gelu: ([x]) => F.gelu(x!),
  leaky_relu: ([x], kw) => F.leakyRelu(x!, num(kw, 'slope')),
  affine_grid_sample: ([x, theta]) => F.gridSample(x!, F.affineGrid(theta!, x!.shape as [number, number, number, number], false)),
  interpolate_bilinear: ([x], kw) => F.interpolate(x!, { size: nums(kw, 'size') as [number, number], mode: 'bilinear' }),
  sum_all: ([a]) => a!.sum(),
  sum_dim: ([a], kw) => a!.sum(nums(kw, 'dim'), { keepdim: kw.keepdim as boolean }),
  mean_dim: ([a], kw) => a!.mean(num(kw, 'dim')),
  var: ([a], kw) => a!.var(num(kw, 'dim'), { correction: num(kw, 'correction') }),
  std: ([a], kw) => a!.std(num(kw, 'dim')),
  prod: ([a], kw) => a!.prod(num(kw, 'dim')),
  max_dim: ([a], kw) => a!.max(num(kw, 'dim')).values,
  amax: ([a], kw) => a!.amax(num(kw, 'dim')),
  logsumexp: ([a], kw) => a!.logsumexp(num(kw, 'dim')),
  norm: ([a]) => a!.norm(),
  cumsum: ([a], kw) => a!.cumsum(num(kw, 'dim')),
  argmax: ([a], kw) => a!.argmax(num(kw, 'dim')),
  topk_values: ([a], kw) => a!.topk(num(kw, 'k')).values,
  sort_values: ([a], kw) => a!.sort(num(kw, 'dim')).values,
  sort_indices: ([a]) => a!.sort().indices,
  reshape: ([a], kw) => a!.reshape(nums(kw, 'shape')),
  permute: ([a], kw) => a!.permute(nums(kw, 'dims')),
  transpose: ([a], kw) => a!.transpose(num(kw, 'd0'), num(kw, 'd1')),
  flatten: ([a], kw) => a!.flatten(num(kw, 'start')),
  unsqueeze: ([a], kw) => a!.unsqueeze(num(kw, 'dim')),
  squeeze: ([a]) => a!.squeeze(),
  expand: ([a], kw) => a!.expand(nums(kw, 'shape')),
  repeat: ([a], kw) => a!.repeat(nums(kw, 'repeats')),
  cat: ([a, b], kw) => tt.cat([a!, b!], num(kw, 'dim')),
  stack: ([a, b], kw) => tt.stack([a!, b!], num(kw, 'dim')),
  split_last: ([a], kw) => a!.split(num(kw, 'size'), num(kw, 'dim')).at(-1)!,
  narrow: ([a], kw) => a!.narrow(num(kw, 'dim'), num(kw, 'start'), num(kw, 'length')),
  select: ([a], kw) => a!.select(num(kw, 'dim'), num(kw, 'index')),
  flip: ([a], kw) => a!.flip(nums(kw, 'dims')),
  roll: ([a], kw) => a!.roll(num(kw, 'shifts'), num(kw, 'dims')),
  pad_constant: ([a], kw) => a!.pad(nums(kw, 'pad'), 'constant', num(kw, 'value')),
  pad_reflect: ([a], kw) => a!.pad(nums(kw, 'pad'), 'reflect'),
  index_select: ([a, index], kw) => a!.indexSelect(num(kw, 'dim'), index!),
  gather: ([a, index], kw) => a!.gather(num(kw, 'dim'), index!),
  scatter: ([a, index, src], kw) => a!.scatter(num(kw, 'dim'), index!, src!),
  index_tensor: ([a, index]) => a!.index([index!]),
  one_hot: ([a], kw) => tt.oneHot(a!, num(kw, 'classes')),
};

interface Case {
  id: string;
  op: string;
  inputs: InputSpec[];
  kw?: Kw;
  dtype?: DType;
  /** Float inputs that are not differentiable (e.g. BatchNorm running stats). */
  constants?: number[];
}

const r = (...shape: number[]): InputSpec => ({ shape });
const pos = (...shape: number[]): InputSpec => ({ shape, kind: 'positive' });
const idx = (high: number, ...shape: number[]): InputSpec => ({ shape, kind: 'index', high });
const mask = (...shape: number[]): InputSpec => ({ shape, kind: 'bool' });
const int = (high: number, dtype: DType, ...shape: number[]): InputSpec => ({ shape, kind: 'int', high, dtype });

const BASE_CASES: Case[] = [
  ...['neg', 'abs', 'exp', 'sigmoid', 'tanh', 'relu', 'square', 'sin', 'cos', 'erf', 'floor', 'round', 'sign'].map((op) => ({ id: op, op, inputs: [r(3, 4)] })),
  ...['log', 'log1p', 'sqrt', 'rsqrt', 'reciprocal'].map((op) => ({ id: op, op, inputs: [pos(3, 4)] })),
  { id: 'clamp', op: 'clamp', inputs: [r(3, 4)], kw: { min: -0.5, max: 0.7 } },
  { id: 'pow_scalar', op: 'pow_scalar', inputs: [pos(3, 4)], kw: { exponent: 2.5 } },
  { id: 'pow_tensor', op: 'pow_tensor', inputs: [pos(3, 4), r(4)] },
  { id: 'add_broadcast', op: 'add', inputs: [r(3, 4), r(4)], kw: { alpha: 2 } },
  { id: 'add_scalar', op: 'add_scalar', inputs: [r(2, 3)], kw: { value: 1.5 } },
  { id: 'sub_broadcast', op: 'sub', inputs: [r(2, 3, 4), r(3, 1)] },
  { id: 'mul_outer_broadcast', op: 'mul', inputs: [r(3, 1), r(1, 4)] },
  { id: 'mul_scalar', op: 'mul_scalar', inputs: [r(5)], kw: { value: -0.25 } },
  { id: 'div', op: 'div', inputs: [r(3, 4), pos(3, 4)] },
  { id: 'div_floor', op: 'div_floor', inputs: [r(3, 4), pos(4)] },
  { id: 'remainder', op: 'remainder', inputs: [r(3, 4), pos(3, 4)] },
  { id: 'maximum', op: 'maximum', inputs: [r(3, 4), r(3, 4)] },
  { id: 'minimum', op: 'minimum', inputs: [r(3, 4), r(1, 4)] },
  { id: 'where', op: 'where', inputs: [mask(3, 4), r(3, 4), r(4)] },
  { id: 'lerp', op: 'lerp', inputs: [r(3, 4), r(3, 4)], kw: { weight: 0.3 } },
  { id: 'eq', op: 'eq', inputs: [idx(3, 4, 5), idx(3, 5)] },
  { id: 'lt_scalar', op: 'lt_scalar', inputs: [r(3, 4)], kw: { value: 0.1 } },
  { id: 'ge', op: 'ge', inputs: [r(3, 4), r(3, 4)] },
  { id: 'logical_and', op: 'logical_and', inputs: [mask(3, 4), mask(3, 4)] },
  { id: 'logical_not', op: 'logical_not', inputs: [mask(6)] },
  { id: 'masked_fill', op: 'masked_fill', inputs: [r(3, 4), mask(3, 4)], kw: { value: -2 } },
  { id: 'add_inplace', op: 'add_inplace', inputs: [r(3, 4), r(4)] },
  { id: 'mul_inplace', op: 'mul_inplace', inputs: [r(3, 4)], kw: { value: 3 } },
  { id: 'matmul_batched', op: 'matmul', inputs: [r(2, 3, 4), r(4, 5)] },
  { id: 'mm', op: 'mm', inputs: [r(3, 4), r(4, 2)] },
  { id: 'bmm', op: 'bmm', inputs: [r(2, 3, 4), r(2, 4, 5)] },
  { id: 'linear', op: 'linear', inputs: [r(5, 4), r(3, 4), r(3)] },
  { id: 'conv2d', op: 'conv2d', inputs: [r(2, 4, 7, 7), r(6, 2, 3, 3), r(6)], kw: { stride: 2, padding: 1, dilation: 1, groups: 2 } },
  { id: 'conv2d_dilated', op: 'conv2d', inputs: [r(1, 3, 8, 8), r(4, 3, 3, 3), r(4)], kw: { stride: 1, padding: 2, dilation: 2, groups: 1 } },
  { id: 'batch_norm_train', op: 'batch_norm_train', inputs: [r(4, 3, 5, 5), r(3), r(3)] },
  { id: 'batch_norm_eval', op: 'batch_norm_eval', inputs: [r(4, 3, 5, 5), r(3), pos(3), r(3), r(3)], constants: [1, 2] },
  { id: 'max_pool2d', op: 'max_pool2d', inputs: [r(2, 3, 9, 9)], kw: { kernel: 3, stride: 2, padding: 1 } },
  { id: 'avg_pool2d', op: 'avg_pool2d', inputs: [r(2, 3, 8, 8)], kw: { kernel: 2, stride: 2, padding: 0 } },
  { id: 'adaptive_avg_pool2d', op: 'adaptive_avg_pool2d', inputs: [r(2, 3, 7, 5)], kw: { size: [1, 1] } },
  { id: 'log_softmax', op: 'log_softmax', inputs: [r(4, 10)], kw: { dim: 1 } },
  { id: 'softmax', op: 'softmax', inputs: [r(4, 10)], kw: { dim: -1 } },
  { id: 'cross_entropy', op: 'cross_entropy', inputs: [r(8, 10), idx(10, 8)], kw: { label_smoothing: 0 } },
  { id: 'cross_entropy_smoothed', op: 'cross_entropy', inputs: [r(8, 10), idx(10, 8)], kw: { label_smoothing: 0.1 } },
  { id: 'cross_entropy_sum', op: 'cross_entropy_sum', inputs: [r(8, 10), idx(10, 8)] },
  { id: 'nll_loss', op: 'nll_loss', inputs: [r(8, 10), idx(10, 8)] },
  { id: 'mse_loss', op: 'mse_loss', inputs: [r(4, 5), r(4, 5)] },
  { id: 'dropout_eval', op: 'dropout_eval', inputs: [r(4, 5)], kw: { p: 0.5 } },
  { id: 'gelu', op: 'gelu', inputs: [r(3, 4)] },
  { id: 'leaky_relu', op: 'leaky_relu', inputs: [r(3, 4)], kw: { slope: 0.2 } },
  { id: 'affine_grid_sample', op: 'affine_grid_sample', inputs: [r(2, 3, 6, 6), r(2, 2, 3)] },
  { id: 'interpolate_bilinear', op: 'interpolate_bilinear', inputs: [r(1, 2, 4, 4)], kw: { size: [7, 5] } },
  { id: 'sum_all', op: 'sum_all', inputs: [r(3, 4)] },
  { id: 'sum_dim', op: 'sum_dim', inputs: [r(2, 3, 4)], kw: { dim: [0, 2], keepdim: true } },
  { id: 'mean_dim', op: 'mean_dim', inputs: [r(2, 3, 4)], kw: { dim: 1 } },
  { id: 'var', op: 'var', inputs: [r(3, 6)], kw: { dim: 1, correction: 1 } },
  { id: 'var_population', op: 'var', inputs: [r(3, 6)], kw: { dim: 0, correction: 0 } },
  { id: 'std', op: 'std', inputs: [r(3, 6)], kw: { dim: 1 } },
  { id: 'prod', op: 'prod', inputs: [r(3, 4)], kw: { dim: 1 } },
  { id: 'max_dim', op: 'max_dim', inputs: [r(3, 5)], kw: { dim: 1 } },
  { id: 'amax', op: 'amax', inputs: [r(3, 5)], kw: { dim: 0 } },
  { id: 'logsumexp', op: 'logsumexp', inputs: [r(3, 5)], kw: { dim: 1 } },
  { id: 'norm', op: 'norm', inputs: [r(3, 5)] },
  { id: 'cumsum', op: 'cumsum', inputs: [r(3, 5)], kw: { dim: 1 } },
  { id: 'argmax', op: 'argmax', inputs: [r(4, 7)], kw: { dim: 1 } },
  { id: 'topk_values', op: 'topk_values', inputs: [r(4, 7)], kw: { k: 3 } },
  { id: 'sort_values', op: 'sort_values', inputs: [r(4, 7)], kw: { dim: 0 } },
  { id: 'sort_indices', op: 'sort_indices', inputs: [r(4, 7)] },
  { id: 'reshape', op: 'reshape', inputs: [r(2, 3, 4)], kw: { shape: [4, -1] } },
  { id: 'permute', op: 'permute', inputs: [r(2, 3, 4)], kw: { dims: [2, 0, 1] } },
  { id: 'transpose', op: 'transpose', inputs: [r(2, 3, 4)], kw: { d0: 0, d1: 2 } },
  { id: 'flatten', op: 'flatten', inputs: [r(2, 3, 4)], kw: { start: 1 } },
  { id: 'unsqueeze', op: 'unsqueeze', inputs: [r(3, 4)], kw: { dim: 1 } },
  { id: 'squeeze', op: 'squeeze', inputs: [r(3, 1, 4, 1)] },
  { id: 'expand', op: 'expand', inputs: [r(3, 1)], kw: { shape: [3, 4] } },
  { id: 'repeat', op: 'repeat', inputs: [r(2, 3)], kw: { repeats: [2, 1, 2] } },
  { id: 'cat', op: 'cat', inputs: [r(2, 3), r(4, 3)], kw: { dim: 0 } },
  { id: 'stack', op: 'stack', inputs: [r(2, 3), r(2, 3)], kw: { dim: 1 } },
  { id: 'split_last', op: 'split_last', inputs: [r(7, 3)], kw: { size: 3, dim: 0 } },
  { id: 'narrow', op: 'narrow', inputs: [r(5, 6)], kw: { dim: 1, start: 2, length: 3 } },
  { id: 'select', op: 'select', inputs: [r(5, 6)], kw: { dim: 0, index: -2 } },
  { id: 'flip', op: 'flip', inputs: [r(2, 3, 4)], kw: { dims: [0, 2] } },
  { id: 'roll', op: 'roll', inputs: [r(3, 5)], kw: { shifts: 2, dims: 1 } },
  { id: 'pad_constant', op: 'pad_constant', inputs: [r(2, 3, 4)], kw: { pad: [1, 2, 0, 1], value: 0.5 } },
  { id: 'pad_reflect', op: 'pad_reflect', inputs: [r(1, 2, 5, 5)], kw: { pad: [2, 2, 1, 1] } },
  { id: 'index_select', op: 'index_select', inputs: [r(5, 4), idx(5, 7)], kw: { dim: 0 } },
  { id: 'gather', op: 'gather', inputs: [r(3, 5), idx(5, 3, 4)], kw: { dim: 1 } },
  { id: 'scatter', op: 'scatter', inputs: [r(3, 5), idx(5, 3, 2), r(3, 2)], kw: { dim: 1 } },
  { id: 'index_tensor', op: 'index_tensor', inputs: [r(6, 3), idx(6, 4)] },
  { id: 'one_hot', op: 'one_hot', inputs: [idx(5, 7)], kw: { classes: 5 } },
];

// Integer dtypes: exact results.
const INT_CASES: Case[] = [
  { id: 'int64_add_broadcast', op: 'add', inputs: [int(100, 'int64', 3, 4), int(100, 'int64', 4)] },
  { id: 'int32_mul', op: 'mul', inputs: [int(50, 'int32', 3, 4), int(50, 'int32', 3, 4)] },
  { id: 'int64_div_floor', op: 'div_floor', inputs: [int(100, 'int64', 5), { shape: [5], kind: 'int', high: 9, dtype: 'int64' }] },
  { id: 'uint8_max_dim', op: 'max_dim', inputs: [int(255, 'uint8', 3, 4)], kw: { dim: 1 } },
  { id: 'int64_sum_dim', op: 'sum_dim', inputs: [int(1000, 'int64', 3, 4)], kw: { dim: [1], keepdim: false } },
  { id: 'int32_flip', op: 'flip', inputs: [int(50, 'int32', 3, 4)], kw: { dims: [1] } },
];

// The float cases again in float64, for a second floating dtype.
const FLOAT64_OPS = new Set(['exp', 'log', 'sigmoid', 'tanh', 'add_broadcast', 'div', 'matmul_batched', 'conv2d', 'batch_norm_train', 'log_softmax', 'cross_entropy_smoothed', 'var', 'sum_dim', 'max_pool2d', 'affine_grid_sample', 'gather', 'cat', 'pad_reflect']);

const CASES: Case[] = [
  ...BASE_CASES.map((c) => ({ ...c, dtype: 'float32' as DType })),
  ...BASE_CASES.filter((c) => FLOAT64_OPS.has(c.id)).map((c) => ({ ...c, id: `${c.id}_f64`, dtype: 'float64' as DType })),
  ...INT_CASES,
];

const FLOAT_TOL: Record<string, Tolerance> = { float32: { rtol: 1e-5, atol: 1e-6 }, float64: { rtol: 1e-10, atol: 1e-12 } };
const EXACT: Tolerance = { rtol: 0, atol: 0 };

function makeInput(spec: InputSpec, floatDtype: DType): tt.Tensor {
  switch (spec.kind ?? 'randn') {
    case 'positive':
      return tt.rand(spec.shape, { dtype: floatDtype }).add(0.5);
    case 'index':
      return tt.randint(0, spec.high!, spec.shape);
    case 'bool':
      return tt.rand(spec.shape).gt(0.5);
    case 'int':
      return tt.randint(1, spec.high!, spec.shape, { dtype: spec.dtype! });
    default:
      return tt.randn(spec.shape, { dtype: floatDtype });
  }
}

t.test('ops match PyTorch forward and backward', (t) => {
  tt.manualSeed(1234);
  const sent = new Map<string, tt.Tensor>();
  const plans: { id: string; op: string; arity: number; kw: Kw; grad: boolean; gradInputs: number[] }[] = [];
  const ours = new Map<string, tt.Tensor>();

  for (const c of CASES) {
    const floatDtype = c.dtype ?? 'float32';
    const xs = c.inputs.map((spec) => makeInput(spec, floatDtype));
    xs.forEach((x, k) => sent.set(`${c.id}.in${k}`, x));
    const gradInputs = xs.map((x, k) => (x.isFloatingPoint() && !c.constants?.includes(k) ? k : -1)).filter((k) => k >= 0);
    // Differentiable when a float input leads to a float output.
    const probe = tt.noGrad(() => OPS[c.op]!(xs.map((x) => x.clone()), c.kw ?? {}));
    const grad = gradInputs.length > 0 && probe.isFloatingPoint() && !['floor', 'round', 'sign', 'argmax', 'sort_indices', 'eq', 'lt_scalar', 'ge', 'div_floor'].includes(c.op);
    probe.dispose();
    const leaves = xs.map((x, k) => {
      const leaf = x.clone();
      if (grad && gradInputs.includes(k)) leaf.requiresGrad = true;
      return leaf;
    });
    const out = OPS[c.op]!(leaves, c.kw ?? {});
    ours.set(`${c.id}.out`, out.detach());
    if (grad) {
      const gout = tt.randn(out.shape, { dtype: out.dtype });
      sent.set(`${c.id}.gout`, gout);
      out.mul(gout).sum().backward();
      for (const k of gradInputs) ours.set(`${c.id}.grad${k}`, leaves[k]!.grad!);
    }
    plans.push({ id: c.id, op: c.op, arity: xs.length, kw: c.kw ?? {}, grad, gradInputs: grad ? gradInputs : [] });
  }

  const expected = runReference('ops.py', sent, { cases: plans });
  let forward = 0;
  let backward = 0;
  const opsWithGrad = new Set<string>();
  for (const [name, value] of ours) {
    const reference = expected.get(name);
    if (reference === undefined) {
      t.fail(`reference produced no ${name}`);
      continue;
    }
    const dtype = reference.dtype;
    const tol = dtype === 'float32' || dtype === 'float64' ? FLOAT_TOL[dtype]! : EXACT;
    const result = compareTensors(value, reference, tol);
    t.ok(result.ok, `${name}: ${result.message}`);
    if (name.endsWith('.out')) forward++;
    else {
      backward++;
      opsWithGrad.add(plans.find((p) => name.startsWith(`${p.id}.`))!.op);
    }
  }
  const distinctOps = new Set(plans.map((p) => p.op));
  t.comment(`${distinctOps.size} distinct ops, ${forward} forward and ${backward} gradient comparisons; ${opsWithGrad.size} ops with backward parity`);
  t.ok(opsWithGrad.size >= 40, `at least 40 ops have forward+backward parity (${opsWithGrad.size})`);
  t.end();
});

t.test('dropout draws the same mask as PyTorch from the same seed', (t) => {
  tt.manualSeed(77);
  const x = tt.ones([64, 64]);
  const ours = F.dropout(x, 0.3, true);
  const expected = runReference('dropout.py', { x }, { seed: 77, p: 0.3 });
  const result = compareTensors(ours, expected.get('out')!, EXACT);
  t.ok(result.ok, `dropout mask: ${result.message}`);
  t.end();
});
