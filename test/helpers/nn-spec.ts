// Module specs shared by tests and their Python references: one description
// builds the torchts module here and the torch.nn module in Python.
import * as nn from '../../lib/nn';

export type LayerSpec =
  | {
      kind: 'conv2d';
      inChannels: number;
      outChannels: number;
      kernelSize: number | [number, number];
      stride?: number | [number, number];
      padding?: number | [number, number];
      dilation?: number;
      groups?: number;
      bias?: boolean;
      paddingMode?: 'zeros' | 'reflect';
    }
  | { kind: 'batchnorm2d'; numFeatures: number; eps?: number; momentum?: number | null; affine?: boolean; trackRunningStats?: boolean }
  | { kind: 'linear'; inFeatures: number; outFeatures: number; bias?: boolean }
  | { kind: 'maxpool2d'; kernelSize: number; stride?: number; padding?: number; ceilMode?: boolean }
  | { kind: 'avgpool2d'; kernelSize: number; stride?: number; padding?: number }
  | { kind: 'adaptiveavgpool2d'; outputSize: [number, number] }
  | { kind: 'relu' }
  | { kind: 'dropout'; p: number }
  | { kind: 'flatten'; startDim?: number }
  | { kind: 'identity' };

export function buildLayer(spec: LayerSpec): nn.Module {
  switch (spec.kind) {
    case 'conv2d':
      return new nn.Conv2d(spec.inChannels, spec.outChannels, spec.kernelSize, spec);
    case 'batchnorm2d':
      return new nn.BatchNorm2d(spec.numFeatures, spec);
    case 'linear':
      return new nn.Linear(spec.inFeatures, spec.outFeatures, spec);
    case 'maxpool2d':
      return new nn.MaxPool2d(spec.kernelSize, spec);
    case 'avgpool2d':
      return new nn.AvgPool2d(spec.kernelSize, spec);
    case 'adaptiveavgpool2d':
      return new nn.AdaptiveAvgPool2d(spec.outputSize);
    case 'relu':
      return new nn.ReLU();
    case 'dropout':
      return new nn.Dropout(spec.p);
    case 'flatten':
      return new nn.Flatten(spec.startDim ?? 1);
    case 'identity':
      return new nn.Identity();
  }
}
