// Leaf layers backed by torch::nn modules: initialisation and forward are
// libtorch's, so they match PyTorch exactly. Printouts follow PyTorch's.
import { native, type ModuleHandle } from '../native';
import { callObserver } from '../ops/op';
import { handleOf } from '../ops/registry';
import { Tensor } from '../tensor';
import { Module } from './module';

export type Pair = number | [number, number];

/** Python's repr of a float (1e-05, 0.1, 1.0). */
function pyFloat(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return `${value}.0`;
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) return value.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(value);
}

const pyBool = (value: boolean): string => (value ? 'True' : 'False');
const pyTuple = (value: Pair): string => (typeof value === 'number' ? `(${value}, ${value})` : `(${value[0]}, ${value[1]})`);
const pyPair = (value: Pair): string => (typeof value === 'number' ? String(value) : `(${value[0]}, ${value[1]})`);
const isZero = (value: Pair): boolean => (typeof value === 'number' ? value === 0 : value[0] === 0 && value[1] === 0);
const isOne = (value: Pair): boolean => (typeof value === 'number' ? value === 1 : value[0] === 1 && value[1] === 1);

/** A module whose computation is a native torch::nn module. */
export abstract class NativeModule extends Module {
  #handle: ModuleHandle;

  protected constructor(kind: string, options: Record<string, unknown>) {
    super();
    this.#handle = native.createModule(kind, options);
    for (const [name, handle] of native.moduleParameters(this.#handle)) this.registerParameter(name, Tensor.fromHandle(handle));
    for (const [name, handle] of native.moduleBuffers(this.#handle)) this.registerBuffer(name, Tensor.fromHandle(handle));
  }

  forward(input: Tensor): Tensor {
    this.assertLive();
    const inputHandle = handleOf(input, `${this.typeName}.forward(input)`);
    const output = native.moduleForward(this.#handle, inputHandle);
    callObserver()?.module(this, inputHandle, output);
    return Tensor.fromHandle(output);
  }

  protected override onTrainingChanged(training: boolean): void {
    native.moduleTrain(this.#handle, training);
  }

  protected override onDispose(): void {
    native.moduleRelease(this.#handle);
  }

  /** libtorch's own description of the module (C++ option names). */
  describeNative(): string {
    this.assertLive();
    return native.moduleDescribe(this.#handle);
  }
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  paddingMode?: 'zeros' | 'reflect' | 'replicate' | 'circular';
}

export class Conv2d extends NativeModule {
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly groups: number;
  readonly paddingMode: string;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: Pair,
    options: Conv2dOptions = {},
  ) {
    super('conv2d', { inChannels, outChannels, kernelSize, ...options });
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.groups = options.groups ?? 1;
    this.paddingMode = options.paddingMode ?? 'zeros';
  }

  get weight(): Tensor {
    return this.tensor('weight');
  }

  get bias(): Tensor | null {
    return this.namedParameters(false).find(([name]) => name === 'bias')?.[1] ?? null;
  }

  override extraRepr(): string {
    let text = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}`;
    if (!isZero(this.padding)) text += `, padding=${pyTuple(this.padding)}`;
    if (!isOne(this.dilation)) text += `, dilation=${pyTuple(this.dilation)}`;
    if (this.groups !== 1) text += `, groups=${this.groups}`;
    if (this.bias === null) text += ', bias=False';
    if (this.paddingMode !== 'zeros') text += `, padding_mode=${this.paddingMode}`;
    return text;
  }
}

export interface BatchNorm2dOptions {
  eps?: number;
  /** null: cumulative moving average, as in PyTorch. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

export class BatchNorm2d extends NativeModule {
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  constructor(
    readonly numFeatures: number,
    options: BatchNorm2dOptions = {},
  ) {
    const momentum = options.momentum === undefined ? 0.1 : options.momentum;
    super('batchnorm2d', {
      numFeatures,
      eps: options.eps,
      affine: options.affine,
      trackRunningStats: options.trackRunningStats,
      ...(momentum === null ? { cumulativeAverage: true } : { momentum }),
    });
    this.eps = options.eps ?? 1e-5;
    this.momentum = momentum;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
  }

  /**
   * `num_batches_tracked` arrived with BatchNorm's version 2 (PyTorch
   * 0.4.1): files of an older or unknown version may lack it, and then it
   * keeps its value, as PyTorch loads them.
   */
  protected override keysOptionalInVersion(version: number | undefined): string[] {
    return this.trackRunningStats && (version === undefined || version < 2) ? ['num_batches_tracked'] : [];
  }

  override extraRepr(): string {
    const momentum = this.momentum === null ? 'None' : pyFloat(this.momentum);
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${momentum}, affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}

export class Linear extends NativeModule {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { bias?: boolean } = {},
  ) {
    super('linear', { inFeatures, outFeatures, bias: options.bias });
  }

  get weight(): Tensor {
    return this.tensor('weight');
  }

  override extraRepr(): string {
    const hasBias = this.namedParameters(false).some(([name]) => name === 'bias');
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(hasBias)}`;
  }
}

export interface Pool2dOptions {
  /** Defaults to the kernel size. */
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

export class MaxPool2d extends NativeModule {
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly ceilMode: boolean;

  constructor(
    readonly kernelSize: Pair,
    options: Pool2dOptions & { dilation?: Pair } = {},
  ) {
    super('maxpool2d', { kernelSize, ...options });
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.ceilMode = options.ceilMode ?? false;
  }

  override extraRepr(): string {
    return `kernel_size=${pyPair(this.kernelSize)}, stride=${pyPair(this.stride)}, padding=${pyPair(this.padding)}, dilation=${pyPair(this.dilation)}, ceil_mode=${pyBool(this.ceilMode)}`;
  }
}

export class AvgPool2d extends NativeModule {
  readonly stride: Pair;
  readonly padding: Pair;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(
    readonly kernelSize: Pair,
    options: Pool2dOptions & { countIncludePad?: boolean } = {},
  ) {
    super('avgpool2d', { kernelSize, ...options });
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.ceilMode = options.ceilMode ?? false;
    this.countIncludePad = options.countIncludePad ?? true;
  }

  override extraRepr(): string {
    return `kernel_size=${pyPair(this.kernelSize)}, stride=${pyPair(this.stride)}, padding=${pyPair(this.padding)}`;
  }
}

export class AdaptiveAvgPool2d extends NativeModule {
  constructor(readonly outputSize: Pair) {
    super('adaptiveavgpool2d', { outputSize });
  }

  override extraRepr(): string {
    return `output_size=${pyTuple(this.outputSize)}`;
  }
}

export class ReLU extends NativeModule {
  constructor(readonly inplace = false) {
    super('relu', { inplace });
  }

  override extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

export class Dropout extends NativeModule {
  constructor(
    readonly p = 0.5,
    readonly inplace = false,
  ) {
    super('dropout', { p, inplace }); // the native side validates p
  }

  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=${pyBool(this.inplace)}`;
  }
}

export class Flatten extends NativeModule {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super('flatten', { startDim, endDim });
  }

  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

export class Identity extends NativeModule {
  constructor() {
    super('identity', {});
  }
}
