// Native leaf modules (whose forward is one libtorch call, invisible to the
// op trace) -> ONNX nodes, from the module's options and its own tensors.
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  Flatten,
  MaxPool2d,
  type Pair,
} from '../nn/layers';
import type { Module } from '../nn/module';
import { adaptiveAvgPool2d, avgPool2d, batchNorm, filled, linear, maxPool2d, pad } from './aten-ops';
import type { Context, ModuleMapping } from './convert';
import { OnnxExportError } from './graph';
import type { TensorInfo } from './trace';

const pair = (value: Pair): number[] => (typeof value === 'number' ? [value, value] : [...value]);

function required(context: Context, module: Module, member: string): string {
  const name = context.moduleTensor(module, member);
  if (name === null) throw new OnnxExportError(`${context.modulePath(module)} has no ${member}`);
  return name;
}

function conv(module: Module, input: string, info: TensorInfo, context: Context): string {
  const layer = module as Conv2d;
  let source = input;
  let padding = pair(layer.padding);
  if (layer.paddingMode !== 'zeros') {
    // Non-zero padding modes pad first, then convolve unpadded (as PyTorch does).
    const [ph, pw] = padding as [number, number];
    source = pad(context, input, info.shape.length, [pw, pw, ph, ph], layer.paddingMode, null, info.dtype);
    padding = [0, 0];
  }
  const inputs = [source, required(context, module, 'weight')];
  const bias = context.moduleTensor(module, 'bias');
  if (bias !== null) inputs.push(bias);
  const kernel = pair(layer.kernelSize);
  return context.graph.op('Conv', inputs, {
    kernel_shape: kernel,
    strides: pair(layer.stride),
    pads: [padding[0]!, padding[1]!, padding[0]!, padding[1]!],
    dilations: pair(layer.dilation),
    group: layer.groups,
  });
}

function batchNorm2d(module: Module, input: string, info: TensorInfo, context: Context): string {
  const layer = module as BatchNorm2d;
  const mean = context.moduleTensor(module, 'running_mean');
  const variance = context.moduleTensor(module, 'running_var');
  if (!layer.trackRunningStats || mean === null || variance === null) {
    throw new OnnxExportError(`${context.modulePath(module)}: BatchNorm2d without running statistics normalises by the batch and cannot be exported`);
  }
  const channels = layer.numFeatures;
  const scale = context.moduleTensor(module, 'weight') ?? filled(context, channels, 1, info.dtype);
  const bias = context.moduleTensor(module, 'bias') ?? filled(context, channels, 0, info.dtype);
  return batchNorm(context, input, scale, bias, mean, variance, layer.eps);
}

function flatten(module: Module, input: string, info: TensorInfo, context: Context): string {
  const layer = module as Flatten;
  const rank = info.shape.length;
  const start = layer.startDim < 0 ? layer.startDim + rank : layer.startDim;
  const end = layer.endDim < 0 ? layer.endDim + rank : layer.endDim;
  const merged = info.shape.slice(start, end + 1).reduce((a, b) => a * b, 1);
  const shape = [...info.shape.slice(0, start), merged, ...info.shape.slice(end + 1)];
  return context.reshape(input, info.shape, shape);
}

export const MODULE_MAPPINGS: ReadonlyMap<string, ModuleMapping> = new Map<string, ModuleMapping>([
  ['Conv2d', conv],
  ['BatchNorm2d', batchNorm2d],
  [
    'Linear',
    (module, input, info, context) => linear(context, input, info.shape.length, required(context, module, 'weight'), context.moduleTensor(module, 'bias')),
  ],
  [
    'MaxPool2d',
    (module, input, _info, context) => {
      const layer = module as MaxPool2d;
      return maxPool2d(context, input, pair(layer.kernelSize), pair(layer.stride), pair(layer.padding), pair(layer.dilation), layer.ceilMode);
    },
  ],
  [
    'AvgPool2d',
    (module, input, _info, context) => {
      const layer = module as AvgPool2d;
      return avgPool2d(context, input, pair(layer.kernelSize), pair(layer.stride), pair(layer.padding), layer.ceilMode, layer.countIncludePad);
    },
  ],
  ['AdaptiveAvgPool2d', (module, input, info, context) => adaptiveAvgPool2d(context, input, info.shape, pair((module as AdaptiveAvgPool2d).outputSize), context.modulePath(module))],
  ['ReLU', (_module, input, _info, context) => context.graph.op('Relu', [input])],
  ['Dropout', (_module, input, _info, context) => context.graph.op('Identity', [input])],
  ['Identity', (_module, input, _info, context) => context.graph.op('Identity', [input])],
  ['Flatten', flatten],
]);

