// Neural-network functions (torch.nn.functional): convolution, normalisation,
// pooling, activations, dropout, losses, and spatial sampling.
import { Tensor } from '../tensor';
import { dtypeCode, type DType } from '../dtype';
import { handleOf, optionalHandle, wrap } from './registry';
import { callOp, op } from './op';
import { ArgumentRangeError, ArgumentTypeError } from '../errors';

export type Pair = number | readonly [number, number];
export type Reduction = 'none' | 'mean' | 'sum';

const REDUCTIONS: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };

function reductionCode(reduction: Reduction | undefined): number {
  const code = REDUCTIONS[reduction ?? 'mean'];
  if (code === undefined) throw new ArgumentTypeError(`reduction must be 'none', 'mean' or 'sum', got ${JSON.stringify(reduction)}`);
  return code;
}

function pair(value: Pair, what: string): number[] {
  const result = typeof value === 'number' ? [value, value] : [...value];
  if (result.length !== 2 || !result.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new ArgumentTypeError(`${what} must be a non-negative integer or a pair of them, got ${JSON.stringify(value)}`);
  }
  return result;
}

const CONV2D = op('aten::conv2d');
const BATCH_NORM = op('aten::batch_norm');
const LAYER_NORM = op('aten::layer_norm');
const LINEAR = op('aten::linear');
const MAX_POOL2D = op('aten::max_pool2d');
const AVG_POOL2D = op('aten::avg_pool2d');
const ADAPTIVE_AVG_POOL2D = op('aten::adaptive_avg_pool2d');
const DROPOUT = op('aten::dropout');
const LOG_SOFTMAX = op('aten::log_softmax.int');
const SOFTMAX = op('aten::softmax.int');
const CROSS_ENTROPY = op('aten::cross_entropy_loss');
const NLL_LOSS = op('aten::nll_loss');
const MSE_LOSS = op('aten::mse_loss');
const L1_LOSS = op('aten::l1_loss');
const BCE_LOGITS = op('aten::binary_cross_entropy_with_logits');
const GELU = op('aten::gelu');
const LEAKY_RELU = op('aten::leaky_relu');
const HARDTANH = op('aten::hardtanh');
const SOFTPLUS = op('aten::softplus');
const AFFINE_GRID = op('aten::affine_grid_generator');
const GRID_SAMPLER = op('aten::grid_sampler');
const UPSAMPLE_BILINEAR = op('aten::upsample_bilinear2d.vec');
const UPSAMPLE_NEAREST = op('aten::upsample_nearest2d.vec');

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  return wrap(
    callOp(
      CONV2D.handle,
      handleOf(input, 'conv2d(input)'),
      handleOf(weight, 'conv2d(weight)'),
      optionalHandle(bias, 'conv2d(bias)'),
      pair(options.stride ?? 1, 'conv2d stride'),
      pair(options.padding ?? 0, 'conv2d padding'),
      pair(options.dilation ?? 1, 'conv2d dilation'),
      options.groups ?? 1,
    ),
  );
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/** Batch normalisation; in training mode the running stats (when given) are updated in place. */
export function batchNorm(
  input: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  options: BatchNormOptions = {},
): Tensor {
  const training = options.training ?? false;
  if (!training && (runningMean === null || runningVar === null)) {
    throw new ArgumentTypeError('batchNorm(): evaluation mode needs runningMean and runningVar');
  }
  return wrap(
    callOp(
      BATCH_NORM.handle,
      handleOf(input, 'batchNorm(input)'),
      optionalHandle(options.weight, 'batchNorm(weight)'),
      optionalHandle(options.bias, 'batchNorm(bias)'),
      optionalHandle(runningMean, 'batchNorm(runningMean)'),
      optionalHandle(runningVar, 'batchNorm(runningVar)'),
      training,
      options.momentum ?? 0.1,
      options.eps ?? 1e-5,
      true,
    ),
  );
}

export function layerNorm(input: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return wrap(
    callOp(LAYER_NORM.handle, handleOf(input, 'layerNorm(input)'), [...normalizedShape], optionalHandle(weight, 'layerNorm(weight)'), optionalHandle(bias, 'layerNorm(bias)'), eps, true),
  );
}

export const linear = (input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor =>
  wrap(callOp(LINEAR.handle, handleOf(input, 'linear(input)'), handleOf(weight, 'linear(weight)'), optionalHandle(bias, 'linear(bias)')));

export interface Pool2dOptions {
  /** Defaults to the kernel size. */
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

export function maxPool2d(input: Tensor, kernelSize: Pair, options: Pool2dOptions & { dilation?: Pair } = {}): Tensor {
  return wrap(
    callOp(
      MAX_POOL2D.handle,
      handleOf(input, 'maxPool2d(input)'),
      pair(kernelSize, 'maxPool2d kernelSize'),
      options.stride === undefined ? [] : pair(options.stride, 'maxPool2d stride'),
      pair(options.padding ?? 0, 'maxPool2d padding'),
      pair(options.dilation ?? 1, 'maxPool2d dilation'),
      options.ceilMode ?? false,
    ),
  );
}

export function avgPool2d(input: Tensor, kernelSize: Pair, options: Pool2dOptions & { countIncludePad?: boolean } = {}): Tensor {
  return wrap(
    callOp(
      AVG_POOL2D.handle,
      handleOf(input, 'avgPool2d(input)'),
      pair(kernelSize, 'avgPool2d kernelSize'),
      options.stride === undefined ? [] : pair(options.stride, 'avgPool2d stride'),
      pair(options.padding ?? 0, 'avgPool2d padding'),
      options.ceilMode ?? false,
      options.countIncludePad ?? true,
      null,
    ),
  );
}

export const adaptiveAvgPool2d = (input: Tensor, outputSize: Pair): Tensor =>
  wrap(callOp(ADAPTIVE_AVG_POOL2D.handle, handleOf(input, 'adaptiveAvgPool2d(input)'), pair(outputSize, 'adaptiveAvgPool2d outputSize')));

/** Zeroes elements with probability p and scales the rest by 1/(1-p) when training. */
export function dropout(input: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new ArgumentRangeError(`dropout(): p must be in [0, 1], got ${p}`);
  return wrap(callOp(DROPOUT.handle, handleOf(input, 'dropout(input)'), p, training));
}

const dtypeArg = (dtype: DType | undefined): number | undefined => (dtype === undefined ? undefined : dtypeCode(dtype));

export const logSoftmax = (input: Tensor, dim: number, dtype?: DType): Tensor =>
  wrap(callOp(LOG_SOFTMAX.handle, handleOf(input, 'logSoftmax(input)'), dim, dtypeArg(dtype)));
export const softmax = (input: Tensor, dim: number, dtype?: DType): Tensor =>
  wrap(callOp(SOFTMAX.handle, handleOf(input, 'softmax(input)'), dim, dtypeArg(dtype)));

export interface CrossEntropyOptions {
  weight?: Tensor | null;
  reduction?: Reduction;
  ignoreIndex?: number;
  /** Mixes the one-hot target with the uniform distribution (0 = off). */
  labelSmoothing?: number;
}

/** Cross-entropy of logits [N, C] against int64 class indices [N] (or class probabilities [N, C]). */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const smoothing = options.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing <= 1)) throw new ArgumentRangeError(`crossEntropy(): labelSmoothing must be in [0, 1], got ${smoothing}`);
  return wrap(
    callOp(
      CROSS_ENTROPY.handle,
      handleOf(logits, 'crossEntropy(input)'),
      handleOf(target, 'crossEntropy(target)'),
      optionalHandle(options.weight, 'crossEntropy(weight)'),
      reductionCode(options.reduction),
      options.ignoreIndex ?? -100,
      smoothing,
    ),
  );
}

export function nllLoss(logProbs: Tensor, target: Tensor, options: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): Tensor {
  return wrap(
    callOp(
      NLL_LOSS.handle,
      handleOf(logProbs, 'nllLoss(input)'),
      handleOf(target, 'nllLoss(target)'),
      optionalHandle(options.weight, 'nllLoss(weight)'),
      reductionCode(options.reduction),
      options.ignoreIndex ?? -100,
    ),
  );
}

export const mseLoss = (input: Tensor, target: Tensor, reduction?: Reduction): Tensor =>
  wrap(callOp(MSE_LOSS.handle, handleOf(input, 'mseLoss(input)'), handleOf(target, 'mseLoss(target)'), reductionCode(reduction)));
export const l1Loss = (input: Tensor, target: Tensor, reduction?: Reduction): Tensor =>
  wrap(callOp(L1_LOSS.handle, handleOf(input, 'l1Loss(input)'), handleOf(target, 'l1Loss(target)'), reductionCode(reduction)));
export const binaryCrossEntropyWithLogits = (input: Tensor, target: Tensor, reduction?: Reduction): Tensor =>
  wrap(callOp(BCE_LOGITS.handle, handleOf(input, 'bceWithLogits(input)'), handleOf(target, 'bceWithLogits(target)'), null, null, reductionCode(reduction)));

export const gelu = (input: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor =>
  wrap(callOp(GELU.handle, handleOf(input, 'gelu(input)'), approximate));
export const leakyRelu = (input: Tensor, negativeSlope = 0.01): Tensor =>
  wrap(callOp(LEAKY_RELU.handle, handleOf(input, 'leakyRelu(input)'), negativeSlope));
export const hardtanh = (input: Tensor, minValue = -1, maxValue = 1): Tensor =>
  wrap(callOp(HARDTANH.handle, handleOf(input, 'hardtanh(input)'), minValue, maxValue));
export const softplus = (input: Tensor, beta = 1, threshold = 20): Tensor =>
  wrap(callOp(SOFTPLUS.handle, handleOf(input, 'softplus(input)'), beta, threshold));

/** Sampling grid [N, H, W, 2] for affine matrices theta [N, 2, 3] (torch.nn.functional.affine_grid). */
export const affineGrid = (theta: Tensor, size: readonly [number, number, number, number], alignCorners = false): Tensor =>
  wrap(callOp(AFFINE_GRID.handle, handleOf(theta, 'affineGrid(theta)'), [...size], alignCorners));

export interface GridSampleOptions {
  mode?: 'bilinear' | 'nearest' | 'bicubic';
  paddingMode?: 'zeros' | 'border' | 'reflection';
  alignCorners?: boolean;
}

const SAMPLE_MODES = { bilinear: 0, nearest: 1, bicubic: 2 } as const;
const PADDING_MODES = { zeros: 0, border: 1, reflection: 2 } as const;

/** Samples `input` at `grid` locations (torch.nn.functional.grid_sample). */
export function gridSample(input: Tensor, grid: Tensor, options: GridSampleOptions = {}): Tensor {
  const mode = SAMPLE_MODES[options.mode ?? 'bilinear'];
  const padding = PADDING_MODES[options.paddingMode ?? 'zeros'];
  if (mode === undefined) throw new ArgumentTypeError(`gridSample(): mode must be bilinear, nearest or bicubic, got ${options.mode}`);
  if (padding === undefined) throw new ArgumentTypeError(`gridSample(): paddingMode must be zeros, border or reflection, got ${options.paddingMode}`);
  return wrap(callOp(GRID_SAMPLER.handle, handleOf(input, 'gridSample(input)'), handleOf(grid, 'gridSample(grid)'), mode, padding, options.alignCorners ?? false));
}

export interface InterpolateOptions {
  size?: readonly [number, number];
  scaleFactor?: number | readonly [number, number];
  mode?: 'nearest' | 'bilinear';
  alignCorners?: boolean;
}

/** Resizes [N, C, H, W] images to `size` or by `scaleFactor`. */
export function interpolate(input: Tensor, options: InterpolateOptions): Tensor {
  if ((options.size === undefined) === (options.scaleFactor === undefined)) {
    throw new ArgumentTypeError('interpolate(): give exactly one of size and scaleFactor');
  }
  const size = options.size === undefined ? null : [...options.size];
  const scales = options.scaleFactor === undefined ? null : typeof options.scaleFactor === 'number' ? [options.scaleFactor, options.scaleFactor] : [...options.scaleFactor];
  const self = handleOf(input, 'interpolate(input)');
  if ((options.mode ?? 'nearest') === 'nearest') return wrap(callOp(UPSAMPLE_NEAREST.handle, self, size, scales));
  return wrap(callOp(UPSAMPLE_BILINEAR.handle, self, size, options.alignCorners ?? false, scales));
}
