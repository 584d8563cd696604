// The seed's network: the blog post's Keras ResNet18 (../shared/seed/),
// layer for layer, with its Keras names and Keras' initialisation.
//
// Where it differs from torchvision's ResNet-18: every conv has a bias
// (Keras' use_bias=True), BatchNormalization's epsilon is 1.001e-5 and its
// moving averages keep 99% per step (Keras' momentum 0.99), the
// stride-2 3x3 convs use TensorFlow's 'SAME' padding (for an even input it
// pads one row and column at the bottom and right only, not one on every
// side), the shortcut where the shape changes is a biased 1x1 conv + BN,
// the stem pads explicitly (ZeroPadding2D) before a 'valid' conv and
// max-pool, and weights start glorot-uniform with zero biases. The head's
// softmax is folded into the cross-entropy loss: forward returns logits.
import { noGrad } from '../autograd';
import { ArgumentRangeError } from '../errors';
import { pad } from '../ops/shape';
import { zeros } from '../ops/creation';
import { uniform_ } from '../ops/random';
import type { Tensor } from '../tensor';
import { BatchNorm2d, Conv2d, Linear, MaxPool2d } from '../nn/layers';
import { Module } from '../nn/module';

const KERAS_BN_EPSILON = 1.001e-5;
/** Keras' BatchNormalization momentum 0.99 keeps 99% of the moving average; PyTorch's momentum is the new batch's share. */
const KERAS_BN_MOMENTUM = 1 - 0.99;

/** One row of the Keras model: what model.summary() lists. */
export interface KerasLayer {
  name: string;
  /** Keras class name: Conv2D, BatchNormalization, ... */
  type: string;
  /** Names of the layers whose output it takes. */
  inputs: string[];
  /** The torchts module holding its weights (none for padding, activations, adds, pools). */
  module: Module | null;
}

/** TensorFlow's 'SAME' padding for one dim: (before, after), the extra one after. */
export function samePadding(size: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** A Conv2D with padding='SAME': symmetric padding where it is, the explicit asymmetric pad where it is not. */
function sameConv(conv: Conv2d, x: Tensor, kernel: number, stride: number): Tensor {
  const [height, width] = x.shape.slice(2) as [number, number];
  const [top, bottom] = samePadding(height, kernel, stride);
  const [left, right] = samePadding(width, kernel, stride);
  if (top === bottom && left === right && top === left && conv.padding === top) return conv.forward(x);
  const padded = pad(x, [left, right, top, bottom]);
  const out = conv.forward(padded);
  padded.dispose();
  return out;
}

const BLOCKS: { stage: number; filters: number; stride: number }[] = [
  { stage: 2, filters: 64, stride: 1 },
  { stage: 3, filters: 128, stride: 2 },
  { stage: 4, filters: 256, stride: 2 },
  { stage: 5, filters: 512, stride: 2 },
];

export class KerasResNet18 extends Module {
  readonly layers: KerasLayer[] = [];

  constructor(readonly numClasses = 1000) {
    super();
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new ArgumentRangeError(`numClasses must be a positive integer, got ${numClasses}`);
    let last = 'input_1';
    const add = (name: string, type: string, module: Module | null = null, inputs = [last]): string => {
      if (module !== null) this.registerModule(name, module);
      this.layers.push({ name, type, inputs, module });
      last = name;
      return name;
    };
    add('input_1', 'InputLayer', null, []);
    add('conv1_pad', 'ZeroPadding2D');
    add('conv1_conv', 'Conv2D', new Conv2d(3, 64, 7, { stride: 2 }));
    add('conv1_bn', 'BatchNormalization', new BatchNorm2d(64, { eps: KERAS_BN_EPSILON, momentum: KERAS_BN_MOMENTUM }));
    add('conv1_relu', 'Activation');
    add('pool1_pad', 'ZeroPadding2D');
    add('pool1_pool', 'MaxPooling2D', new MaxPool2d(3, { stride: 2 }));
    let channels = 64;
    for (const { stage, filters, stride } of BLOCKS) {
      for (const index of [1, 2]) {
        const name = `conv${stage}_block${index}`;
        const blockStride = index === 1 ? stride : 1;
        const input = last;
        let shortcut = input;
        if (index === 1 && stage > 2) {
          add(`${name}_0_conv`, 'Conv2D', new Conv2d(channels, filters, 1, { stride: blockStride }), [input]);
          shortcut = add(`${name}_0_bn`, 'BatchNormalization', new BatchNorm2d(filters, { eps: KERAS_BN_EPSILON, momentum: KERAS_BN_MOMENTUM }));
        }
        add(`${name}_1_conv`, 'Conv2D', new Conv2d(channels, filters, 3, { stride: blockStride, padding: blockStride === 1 ? 1 : 0 }), [input]);
        add(`${name}_1_bn`, 'BatchNormalization', new BatchNorm2d(filters, { eps: KERAS_BN_EPSILON, momentum: KERAS_BN_MOMENTUM }));
        add(`${name}_1_relu`, 'Activation');
        add(`${name}_2_conv`, 'Conv2D', new Conv2d(filters, filters, 3, { padding: 1 }));
        const residual = add(`${name}_2_bn`, 'BatchNormalization', new BatchNorm2d(filters, { eps: KERAS_BN_EPSILON, momentum: KERAS_BN_MOMENTUM }));
        add(`${name}_add`, 'Add', null, [residual, shortcut]);
        add(`${name}_out`, 'Activation');
        channels = filters;
      }
    }
    add('avg_pool', 'GlobalAveragePooling2D');
    add('predictions', 'Dense', new Linear(512, numClasses));
    this.initialise();
  }

  /** Keras' defaults: glorot-uniform kernels, zero biases (BatchNorm: gamma 1, beta 0, as built). */
  private initialise(): void {
    noGrad(() => {
      for (const layer of this.layers) {
        if (!(layer.module instanceof Conv2d) && !(layer.module instanceof Linear)) continue;
        const [weight, bias] = layer.module.parameters(false) as [Tensor, Tensor];
        const [out, inputs, kh = 1, kw = 1] = weight.shape as [number, number, number?, number?];
        const limit = Math.sqrt(6 / (inputs * kh * kw + out * kh * kw));
        uniform_(weight, -limit, limit);
        bias.zero_();
      }
    });
  }

  private module<M extends Module>(name: string): M {
    return this.layers.find((layer) => layer.name === name)!.module as M;
  }

  forward(input: Tensor): Tensor {
    return this.run(input);
  }

  /** The forward pass, layer by layer; `observe` sees each layer's output. */
  run(input: Tensor, observe?: (layer: KerasLayer, output: Tensor) => void): Tensor {
    const values = new Map<string, Tensor>([['input_1', input]]);
    const consumers = new Map<string, number>();
    for (const layer of this.layers) for (const name of layer.inputs) consumers.set(name, (consumers.get(name) ?? 0) + 1);
    // Each output is disposed once its last consumer has run (the input stays the caller's).
    const take = (name: string): Tensor => values.get(name)!;
    const release = (name: string): void => {
      const left = consumers.get(name)! - 1;
      consumers.set(name, left);
      if (left === 0 && name !== 'input_1') values.get(name)!.dispose();
    };
    let output: Tensor = input;
    for (const layer of this.layers.slice(1)) {
      const [first, second] = layer.inputs.map(take) as [Tensor, Tensor?];
      output = this.applyLayer(layer, first, second);
      observe?.(layer, output);
      layer.inputs.forEach(release);
      values.set(layer.name, output);
    }
    return output;
  }

  private applyLayer(layer: KerasLayer, x: Tensor, other: Tensor | undefined): Tensor {
    switch (layer.type) {
      case 'ZeroPadding2D': {
        const p = layer.name === 'conv1_pad' ? 3 : 1;
        return pad(x, [p, p, p, p]);
      }
      case 'Conv2D': {
        const conv = layer.module as Conv2d;
        const kernel = conv.kernelSize as number;
        const stride = conv.stride as number;
        return layer.name === 'conv1_conv' || kernel === 1 ? conv.forward(x) : sameConv(conv, x, kernel, stride);
      }
      case 'Activation':
        return x.relu();
      case 'Add':
        return x.add(other!);
      case 'GlobalAveragePooling2D':
        return x.mean([2, 3]);
      default:
        return this.module<Module>(layer.name).forward(x);
    }
  }
}

/** The seed's Keras ResNet18 (see the file header). */
export function kerasResNet18(options: { numClasses?: number } = {}): KerasResNet18 {
  return new KerasResNet18(options.numClasses ?? 1000);
}

const group = (n: number): string => n.toLocaleString('en-US');

/** Keras counts a layer's weights, BatchNormalization's moving mean and variance among them (as non-trainable). */
function layerParams(layer: KerasLayer): { trainable: number; frozen: number } {
  if (layer.module === null) return { trainable: 0, frozen: 0 };
  const count = (tensors: Tensor[]): number => tensors.reduce((sum, t) => sum + t.numel(), 0);
  const moving = layer.module.namedBuffers(false).filter(([name]) => name === 'running_mean' || name === 'running_var');
  return { trainable: count(layer.module.parameters(false)), frozen: count(moving.map(([, t]) => t)) };
}

const column = (text: string, width: number): string => (text.length >= width ? `${text} ` : text.padEnd(width));

/**
 * The table Keras' model.summary() prints for this model at a
 * height x width x 3 input (shapes channels-last, batch None).
 */
export function kerasSummary(model: KerasResNet18, height = 32, width = 32): { text: string; total: number; trainable: number; nonTrainable: number } {
  const shapes = new Map<string, number[]>();
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() => {
      const input = zeros([1, 3, height, width]);
      model.run(input, (layer, output) => shapes.set(layer.name, output.shape)).dispose();
      input.dispose();
    });
  } finally {
    model.train(wasTraining);
  }
  const shapeText = (shape: number[]): string => {
    const nhwc = shape.length === 4 ? [shape[2], shape[3], shape[1]] : shape.slice(1);
    return `(None, ${nhwc.join(', ')})`;
  };
  const line = '_'.repeat(98);
  const rows = [`Model: "Resnet18"`, line, ` ${column('Layer (type)', 31)}${column('Output Shape', 21)}${column('Param #', 12)}Connected to`, '='.repeat(98)];
  let trainable = 0;
  let nonTrainable = 0;
  model.layers.forEach((layer, index) => {
    const params = layerParams(layer);
    trainable += params.trainable;
    nonTrainable += params.frozen;
    const shape = layer.type === 'InputLayer' ? `[(None, ${height}, ${width}, 3)]` : shapeText(shapes.get(layer.name)!);
    const connected = `[${layer.inputs.map((name) => `'${name}[0][0]'`).join(',\n' + ' '.repeat(66))}]`;
    rows.push(` ${column(`${layer.name} (${layer.type})`, 31)}${column(shape, 21)}${column(String(params.trainable + params.frozen), 12)}${connected}`);
    rows.push(index === model.layers.length - 1 ? '='.repeat(98) : '');
  });
  const total = trainable + nonTrainable;
  rows.push(`Total params: ${group(total)}`, `Trainable params: ${group(trainable)}`, `Non-trainable params: ${group(nonTrainable)}`, line);
  return { text: rows.join('\n'), total, trainable, nonTrainable };
}
