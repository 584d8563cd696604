// torchts: deep learning from TypeScript on libtorch.
export { ArgumentTypeError, ArgumentRangeError, ARG_ERROR_CODE } from './errors';
export { Tensor, TensorDisposedError, type ToOptions, type BackwardOptions, type NestedArray } from './tensor';
export { type DType, type MemoryFormat, DTYPES, isFloating, itemSize } from './dtype';
export { type Device, isDevice, DeviceUnavailableError } from './device';
export { scope, keep, unkeep, dispose, memory, scopeDepth, type MemoryInfo } from './memory';
export { noGrad, enableGrad, isGradEnabled, inferenceMode, isInferenceMode, backward } from './autograd';
export {
  buildInfo,
  setNumThreads,
  getNumThreads,
  cuda,
  autocast,
  setDeterministic,
  setCudnnBenchmark,
  setFloat32MatmulPrecision,
  setFlushDenormal,
  trimMemory,
} from './runtime';
export * from './ops/creation';
export * from './ops/random';
export * from './ops/pointwise';
export * from './ops/reduction';
export * from './ops/shape';
export * from './ops/indexing';
export * from './ops/linalg';
export { callByName, Op, op } from './ops/registry';
export * as F from './ops/nn';
export * as nn from './nn';
export * as optim from './optim';
export { clipGradNorm, SGD, Adam, AdamW, RMSprop, Optimizer } from './optim';
export * from './optim/schedulers';
export * as models from './models';
export { resnet18, resnet34, summary } from './models';
export * as data from './data';
export {
  save,
  load,
  saveSafetensors,
  loadSafetensors,
  loadWeights,
  PtFormatError,
  SafetensorsError,
  type LoadOptions,
  type Saveable,
  type SafetensorsSaveOptions,
  type SafetensorsLoadOptions,
  type SafetensorsStateDict,
} from './io';
export { type StateDict, StateDictError } from './nn/module';
export * as onnx from './onnx';
export * as distributed from './distributed';
// The trainer (also under its own path, torchts/dist/lib/train): the main job
// is reachable from the package root, import { train } from 'torchts'.
export {
  train,
  evaluate,
  formatEvaluation,
  predict,
  evaluateCheckpoint,
  loadTrainedModel,
  resolveConfig,
  PRESETS,
  ConfigError,
  CheckpointError,
  type TrainOptions,
  type TrainResult,
  type TrainConfig,
  type PresetName,
  type Callback,
  type EpochLogs,
  type BatchLogs,
  type EvaluationResult,
  type Prediction,
  Trainer,
  registerModel,
  registeredModels,
  type ModelSpec,
  type ModelFactory,
  type LossFunction,
  type GivenDataset,
  type StopReason,
  type MetricFunction,
} from './train';
export { type Dataset, type TensorData } from './data';
