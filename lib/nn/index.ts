export { Module, StateDictError, ModuleDisposedError, type StateDict, type LoadStateDictResult } from './module';
export { Sequential, ModuleList } from './containers';
export {
  NativeModule,
  Conv2d,
  BatchNorm2d,
  Linear,
  MaxPool2d,
  AvgPool2d,
  AdaptiveAvgPool2d,
  ReLU,
  Dropout,
  Flatten,
  Identity,
  type Conv2dOptions,
  type BatchNorm2dOptions,
  type Pool2dOptions,
  type Pair,
} from './layers';
