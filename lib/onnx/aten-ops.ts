// ATen op -> ONNX nodes, one small function per op (the shape of
// torch.onnx's symbolic_opset tables). Keys are schema names with their
// overload; a traced op without a key here is an export error naming it.
import type { DType } from '../dtype';
import { OnnxExportError } from './graph';
import type { Context, OpCall, OpMapping } from './convert';

const normalise = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** A number argument as a rank-0 constant of the tensor's dtype. */
function scalarLike(context: Context, value: number, dtype: DType): string {
  return context.graph.scalar(value, dtype);
}

/** `other` of a binary op: a tensor, or a scalar as a constant of self's dtype. */
function otherOperand(call: OpCall, context: Context, index: number): string {
  return typeof call.arg(index) === 'number' && call.event.schema.arguments[index]?.kind === 'value'
    ? scalarLike(context, call.number(index), call.dtype(0))
    : call.tensor(index);
}

function binary(opType: string, withAlpha = false): OpMapping {
  return (call, context) => {
    let other = otherOperand(call, context, 1);
    if (withAlpha) {
      const alpha = call.number(2);
      if (alpha !== 1) other = context.graph.op('Mul', [other, scalarLike(context, alpha, call.dtype(0))]);
    }
    return [context.graph.op(opType, [call.tensor(0), other])];
  };
}

const unary =
  (opType: string): OpMapping =>
  (call, context) => [context.graph.op(opType, [call.tensor(0)])];

const identity: OpMapping = (call, context) => [context.graph.op('Identity', [call.tensor(0)])];

function reshapeTo(call: OpCall, context: Context): string[] {
  return [context.reshape(call.tensor(0), call.shape(0), call.outputShape())];
}

/** Reduce ops take axes as an attribute before opset 18 (ReduceSum: before 13) and as an input from then on. */
function reduce(opType: 'ReduceMean' | 'ReduceSum' | 'ReduceMax', call: OpCall, context: Context, axes: number[], keepdims: boolean): string {
  const inputAsAxes = opType === 'ReduceSum' ? context.options.opset >= 13 : context.options.opset >= 18;
  const rank = call.shape(0).length;
  const all = axes.length === 0 ? Array.from({ length: rank }, (_, i) => i) : axes.map((axis) => normalise(axis, rank));
  const keep = keepdims ? 1 : 0;
  if (inputAsAxes) return context.graph.op(opType, [call.tensor(0), context.graph.int64s(all, 'axes')], { keepdims: keep });
  return context.graph.op(opType, [call.tensor(0)], { axes: all, keepdims: keep });
}

function reduction(opType: 'ReduceMean' | 'ReduceSum' | 'ReduceMax'): OpMapping {
  return (call, context) => {
    if (call.event.schema.arguments.some((arg) => arg.name === 'dtype') && call.arg(3) !== null && call.arg(3) !== undefined) {
      throw new OnnxExportError(`${call.name} with a dtype argument is not supported in export`);
    }
    return [reduce(opType, call, context, call.ints(1), call.bool(2))];
  };
}

function softmax(opType: 'Softmax' | 'LogSoftmax'): OpMapping {
  return (call, context) => {
    if (call.arg(2) !== null && call.arg(2) !== undefined) throw new OnnxExportError(`${call.name} with a dtype argument is not supported in export`);
    return [context.graph.op(opType, [call.tensor(0)], { axis: normalise(call.number(1), call.shape(0).length) })];
  };
}

function conv2d(call: OpCall, context: Context): string[] {
  const weight = call.shape(1);
  const padding = call.ints(4, 2);
  const inputs = [call.tensor(0), call.tensor(1)];
  const bias = call.optionalTensor(2);
  if (bias !== null) inputs.push(bias);
  return [
    context.graph.op('Conv', inputs, {
      kernel_shape: weight.slice(2),
      strides: call.ints(3, 2),
      pads: [padding[0]!, padding[1]!, padding[0]!, padding[1]!],
      dilations: call.ints(5, 2),
      group: call.number(6),
    }),
  ];
}

/** Linear with weight [out, in]: Gemm on 2-D input, MatMul + Add otherwise. */
export function linear(context: Context, input: string, inputRank: number, weight: string, bias: string | null): string {
  if (inputRank === 2) return context.graph.op('Gemm', bias === null ? [input, weight] : [input, weight, bias], { transB: 1 });
  const product = context.graph.op('MatMul', [input, context.graph.op('Transpose', [weight], { perm: [1, 0] })]);
  return bias === null ? product : context.graph.op('Add', [product, bias]);
}

function pool2dAttributes(kernel: number[], stride: number[], padding: number[], ceilMode: boolean): Record<string, number | number[]> {
  return {
    kernel_shape: kernel,
    strides: stride.length === 0 ? kernel : stride,
    pads: [padding[0]!, padding[1]!, padding[0]!, padding[1]!],
    ceil_mode: ceilMode ? 1 : 0,
  };
}

export function maxPool2d(context: Context, input: string, kernel: number[], stride: number[], padding: number[], dilation: number[], ceilMode: boolean): string {
  return context.graph.op('MaxPool', [input], { ...pool2dAttributes(kernel, stride, padding, ceilMode), dilations: dilation });
}

export function avgPool2d(context: Context, input: string, kernel: number[], stride: number[], padding: number[], ceilMode: boolean, countIncludePad: boolean): string {
  return context.graph.op('AveragePool', [input], { ...pool2dAttributes(kernel, stride, padding, ceilMode), count_include_pad: countIncludePad ? 1 : 0 });
}

/** Adaptive average pooling: global when the output is 1x1, a plain AveragePool when the input divides evenly. */
export function adaptiveAvgPool2d(context: Context, input: string, inputShape: number[], outputSize: number[], where: string): string {
  const [height, width] = inputShape.slice(-2) as [number, number];
  const [outHeight, outWidth] = outputSize as [number, number];
  if (outHeight === 1 && outWidth === 1) return context.graph.op('GlobalAveragePool', [input]);
  if (height % outHeight !== 0 || width % outWidth !== 0) {
    throw new OnnxExportError(`${where}: adaptive average pooling from ${height}x${width} to ${outHeight}x${outWidth} does not divide evenly; ONNX has no adaptive pool`);
  }
  const kernel = [height / outHeight, width / outWidth];
  return context.graph.op('AveragePool', [input], { kernel_shape: kernel, strides: kernel });
}

export function batchNorm(context: Context, input: string, scale: string, bias: string, mean: string, variance: string, eps: number): string {
  return context.graph.op('BatchNormalization', [input, scale, bias, mean, variance], { epsilon: { float: eps } });
}

const PAD_MODES: Record<string, string> = { constant: 'constant', reflect: 'reflect', replicate: 'edge', circular: 'wrap' };

/** aten's pad list runs from the last dim backwards in (begin, end) pairs; ONNX's lists all begins, then all ends. */
export function pad(context: Context, input: string, rank: number, pads: number[], mode: string, value: number | null, dtype: DType): string {
  const onnxMode = PAD_MODES[mode];
  if (onnxMode === undefined || (mode === 'circular' && context.options.opset < 19)) {
    throw new OnnxExportError(`padding mode '${mode}' cannot be exported at opset ${context.options.opset}`);
  }
  const begins = new Array<number>(rank).fill(0);
  const ends = new Array<number>(rank).fill(0);
  for (let i = 0; i < pads.length / 2; i++) {
    begins[rank - 1 - i] = pads[2 * i]!;
    ends[rank - 1 - i] = pads[2 * i + 1]!;
  }
  const inputs = [input, context.graph.int64s([...begins, ...ends], 'pads')];
  if (onnxMode === 'constant') inputs.push(context.graph.scalar(value ?? 0, dtype));
  return context.graph.op('Pad', inputs, { mode: onnxMode });
}

function gelu(call: OpCall, context: Context): string[] {
  const g = context.graph;
  const x = call.tensor(0);
  const dtype = call.dtype(0);
  if (call.string(1) !== 'none') throw new OnnxExportError(`gelu with approximate='${call.string(1)}' is not supported in export`);
  if (context.options.opset >= 20) return [g.op('Gelu', [x])];
  // 0.5 * x * (1 + erf(x / sqrt(2)))
  const erf = g.op('Erf', [g.op('Div', [x, scalarLike(context, Math.SQRT2, dtype)])]);
  return [g.op('Mul', [g.op('Mul', [x, scalarLike(context, 0.5, dtype)]), g.op('Add', [erf, scalarLike(context, 1, dtype)])])];
}

function clip(call: OpCall, context: Context, min: number | null, max: number | null): string[] {
  const dtype = call.dtype(0);
  const inputs = [call.tensor(0), min === null ? '' : scalarLike(context, min, dtype)];
  if (max !== null) inputs.push(scalarLike(context, max, dtype));
  return [context.graph.op('Clip', inputs)];
}

function cast(call: OpCall, context: Context): string[] {
  const target = call.arg(1);
  const device = call.arg(3);
  if (device !== null && device !== undefined) throw new OnnxExportError(`${call.name}: moving tensors between devices inside forward cannot be exported`);
  const inDtype = call.dtype(0);
  const outDtype = call.event.outputs[0] === undefined ? inDtype : (context.info(call.event.outputs[0]).dtype as DType);
  if (target === null || target === undefined || outDtype === inDtype) return identity(call, context);
  return [context.graph.op('Cast', [call.tensor(0)], { to: onnxElementType(outDtype) })];
}

const ELEMENT: Partial<Record<DType, number>> = { float32: 1, uint8: 2, int8: 3, int16: 5, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11, bfloat16: 16 };
function onnxElementType(dtype: DType): number {
  const code = ELEMENT[dtype];
  if (code === undefined) throw new OnnxExportError(`cannot cast to ${dtype} in ONNX`);
  return code;
}

export const ATEN_MAPPINGS: ReadonlyMap<string, OpMapping> = new Map<string, OpMapping>([
  ...(['add', 'sub'] as const).flatMap((name): [string, OpMapping][] => {
    const opType = name === 'add' ? 'Add' : 'Sub';
    return [
      [`aten::${name}.Tensor`, binary(opType, true)],
      [`aten::${name}_.Tensor`, binary(opType, true)],
      [`aten::${name}.Scalar`, binary(opType, true)],
      [`aten::${name}_.Scalar`, binary(opType, true)],
    ];
  }),
  ...(['mul', 'div'] as const).flatMap((name): [string, OpMapping][] => {
    const opType = name === 'mul' ? 'Mul' : 'Div';
    return [`aten::${name}.Tensor`, `aten::${name}_.Tensor`, `aten::${name}.Scalar`, `aten::${name}_.Scalar`].map((key): [string, OpMapping] => [key, binary(opType)]);
  }),
  ['aten::pow.Tensor_Scalar', binary('Pow')],
  ['aten::pow.Tensor_Tensor', binary('Pow')],
  ['aten::maximum', binary('Max')],
  ['aten::minimum', binary('Min')],
  ['aten::matmul', (call, context) => [context.graph.op('MatMul', [call.tensor(0), call.tensor(1)])]],
  ['aten::mm', (call, context) => [context.graph.op('MatMul', [call.tensor(0), call.tensor(1)])]],
  ...(
    [
      ['relu', 'Relu'],
      ['sigmoid', 'Sigmoid'],
      ['tanh', 'Tanh'],
      ['exp', 'Exp'],
      ['log', 'Log'],
      ['sqrt', 'Sqrt'],
      ['neg', 'Neg'],
      ['abs', 'Abs'],
      ['erf', 'Erf'],
      ['floor', 'Floor'],
      ['ceil', 'Ceil'],
      ['reciprocal', 'Reciprocal'],
    ] as const
  ).flatMap(([name, opType]): [string, OpMapping][] => [
    [`aten::${name}`, unary(opType)],
    [`aten::${name}_`, unary(opType)],
  ]),
  ['aten::silu', (call, context) => [context.graph.op('Mul', [call.tensor(0), context.graph.op('Sigmoid', [call.tensor(0)])])]],
  ['aten::gelu', gelu],
  ['aten::leaky_relu', (call, context) => [context.graph.op('LeakyRelu', [call.tensor(0)], { alpha: { float: call.number(1) } })]],
  ['aten::hardtanh', (call, context) => clip(call, context, call.number(1), call.number(2))],
  ['aten::clamp', (call, context) => clip(call, context, call.optionalNumber(1), call.optionalNumber(2))],
  [
    'aten::softplus',
    (call, context) => {
      if (call.number(1) !== 1) throw new OnnxExportError('softplus with beta other than 1 is not supported in export');
      return [context.graph.op('Softplus', [call.tensor(0)])];
    },
  ],
  ['aten::softmax.int', softmax('Softmax')],
  ['aten::log_softmax.int', softmax('LogSoftmax')],
  ['aten::flatten.using_ints', reshapeTo],
  ['aten::reshape', reshapeTo],
  ['aten::view', reshapeTo],
  ['aten::unflatten.int', reshapeTo],
  ['aten::squeeze.dims', reshapeTo],
  ['aten::squeeze', reshapeTo],
  ['aten::unsqueeze', reshapeTo],
  ['aten::permute', (call, context) => [context.graph.op('Transpose', [call.tensor(0)], { perm: call.ints(1).map((d) => normalise(d, call.shape(0).length)) })]],
  [
    'aten::transpose.int',
    (call, context) => {
      const rank = call.shape(0).length;
      const perm = Array.from({ length: rank }, (_, i) => i);
      const [a, b] = [normalise(call.number(1), rank), normalise(call.number(2), rank)];
      [perm[a], perm[b]] = [perm[b]!, perm[a]!];
      return [context.graph.op('Transpose', [call.tensor(0)], { perm })];
    },
  ],
  ['aten::t', (call, context) => [call.shape(0).length < 2 ? context.graph.op('Identity', [call.tensor(0)]) : context.graph.op('Transpose', [call.tensor(0)], { perm: [1, 0] })]],
  ['aten::cat', (call, context) => [context.graph.op('Concat', call.tensors(0), { axis: normalise(call.number(1), call.outputShape().length) })]],
  ['aten::contiguous', identity],
  ['aten::clone', identity],
  ['aten::detach', identity],
  ['aten::dropout', identity],
  ['aten::to.dtype_layout', cast],
  ['aten::mean.dim', reduction('ReduceMean')],
  ['aten::sum.dim_IntList', reduction('ReduceSum')],
  ['aten::amax', (call, context) => [reduce('ReduceMax', call, context, call.ints(1), call.bool(2))]],
  ['aten::conv2d', conv2d],
  ['aten::linear', (call, context) => [linear(context, call.tensor(0), call.shape(0).length, call.tensor(1), call.optionalTensor(2))]],
  ['aten::max_pool2d', (call, context) => [maxPool2d(context, call.tensor(0), call.ints(1, 2), call.ints(2, 2), call.ints(3, 2), call.ints(4, 2), call.bool(5))]],
  [
    'aten::avg_pool2d',
    (call, context) => {
      if (call.arg(6) !== null && call.arg(6) !== undefined) throw new OnnxExportError('avg_pool2d with divisor_override is not supported in export');
      return [avgPool2d(context, call.tensor(0), call.ints(1, 2), call.ints(2, 2), call.ints(3, 2), call.bool(4), call.bool(5))];
    },
  ],
  ['aten::adaptive_avg_pool2d', (call, context) => [adaptiveAvgPool2d(context, call.tensor(0), call.shape(0), call.ints(1, 2), call.name)]],
  [
    'aten::batch_norm',
    (call, context) => {
      if (call.bool(5)) throw new OnnxExportError('batch_norm with training=true (batch statistics) cannot be exported; export in eval mode');
      const [input, mean, variance] = [call.tensor(0), call.optionalTensor(3), call.optionalTensor(4)];
      if (mean === null || variance === null) throw new OnnxExportError('batch_norm without running statistics cannot be exported');
      const channels = call.shape(0)[1]!;
      const ones = call.optionalTensor(1) ?? filled(context, channels, 1, call.dtype(0));
      const zeros = call.optionalTensor(2) ?? filled(context, channels, 0, call.dtype(0));
      return [batchNorm(context, input, ones, zeros, mean, variance, call.number(7))];
    },
  ],
  [
    'aten::layer_norm',
    (call, context) => {
      if (context.options.opset < 17) throw new OnnxExportError(`layer_norm needs opset 17 or later (LayerNormalization); asked for ${context.options.opset}`);
      const normalized = call.ints(1);
      const size = normalized.reduce((a, b) => a * b, 1);
      const scale = call.optionalTensor(2) ?? filled(context, size, 1, call.dtype(0), normalized);
      const inputs = [call.tensor(0), scale];
      const bias = call.optionalTensor(3);
      if (bias !== null) inputs.push(bias);
      return [context.graph.op('LayerNormalization', inputs, { axis: -normalized.length, epsilon: { float: call.number(4) } })];
    },
  ],
  ['aten::pad', (call, context) => [pad(context, call.tensor(0), call.shape(0).length, call.ints(1), call.string(2), call.optionalNumber(3), call.dtype(0))]],
]);

/** A constant filled with one value (BatchNorm/LayerNorm without affine parameters). */
export function filled(context: Context, count: number, value: number, dtype: DType, dims: number[] = [count]): string {
  if (dtype !== 'float32') throw new OnnxExportError(`normalisation without affine parameters is exported for float32 only, not ${dtype}`);
  const data = new Float32Array(count).fill(value);
  return context.graph.initializer(value === 1 ? 'ones' : 'zeros', 'float32', dims, new Uint8Array(data.buffer));
}
