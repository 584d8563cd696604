// ResNet (BasicBlock) with torchvision's structure and names, so a
// torchvision state dict loads unchanged into the imagenet-stem model.
//
//   imagenet stem: 7x7/2 conv, BN, ReLU, 3x3/2 max-pool (torchvision, and the
//                  seed's Keras network)
//   cifar stem:    3x3/1 conv, BN, ReLU, no pool (the variant that reaches
//                  ~95-96% on CIFAR-10, at ~15x the compute at 32x32)
import { noGrad } from '../autograd';
import { normal_ } from '../ops/random';
import type { Tensor } from '../tensor';
import { Sequential } from '../nn/containers';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, ReLU } from '../nn/layers';
import { Module } from '../nn/module';
import { forwardReleasing } from '../nn/release';
import { ArgumentRangeError, ArgumentTypeError } from '../errors';
import { loadWeights } from '../io';

export type Stem = 'imagenet' | 'cifar';

export interface ResNetOptions {
  numClasses?: number;
  stem?: Stem;
  /** Start each residual branch's last BN at zero, so every block begins as the identity (Goyal et al.). */
  zeroInitResidual?: boolean;
  /**
   * Load these weights after building: a PyTorch .pt/.pth state dict (e.g.
   * torchvision's resnet18-f37072fd.pth), a .safetensors file or a torchts
   * checkpoint. Every tensor must fit (for a new head, fine-tune with
   * train({ weights }) instead).
   */
  weights?: string;
}

const conv3x3 = (inPlanes: number, outPlanes: number, stride = 1): Conv2d =>
  new Conv2d(inPlanes, outPlanes, 3, { stride, padding: 1, bias: false });
const conv1x1 = (inPlanes: number, outPlanes: number, stride = 1): Conv2d => new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false });

/** A Sequential of built-in layers, which may free each activation early (nn/release.ts). */
function releasingSequential(...modules: Module[]): Sequential {
  const sequential = new Sequential(...modules);
  sequential.releaseIntermediates = true;
  return sequential;
}

export class BasicBlock extends Module {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Module | null;

  constructor(inPlanes: number, planes: number, stride = 1, downsample: Module | null = null) {
    super();
    this.conv1 = this.registerModule('conv1', conv3x3(inPlanes, planes, stride));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.relu = this.registerModule('relu', new ReLU(true));
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.downsample = downsample === null ? null : this.registerModule('downsample', downsample);
  }

  forward(x: Tensor): Tensor {
    // Intermediates are disposed as soon as they are used (nn/release.ts).
    const out = forwardReleasing(x, [this.conv1, this.bn1, (h) => h.relu_(), this.conv2, this.bn2]);
    if (this.downsample === null) return out.add_(x).relu_();
    const identity = this.downsample.forward(x);
    out.add_(identity).relu_();
    identity.dispose();
    return out;
  }
}

export class ResNet extends Module {
  readonly stem: Stem;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly maxpool: MaxPool2d | null;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly fc: Linear;
  #inPlanes = 64;

  constructor(
    readonly blocks: readonly [number, number, number, number],
    options: ResNetOptions = {},
  ) {
    super();
    const numClasses = options.numClasses ?? 1000;
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new ArgumentRangeError(`numClasses must be a positive integer, got ${numClasses}`);
    this.stem = options.stem ?? 'imagenet';
    if (this.stem !== 'imagenet' && this.stem !== 'cifar') throw new ArgumentTypeError(`stem must be 'imagenet' or 'cifar', got '${String(this.stem)}'`);
    this.conv1 = this.registerModule(
      'conv1',
      this.stem === 'imagenet' ? new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false }) : conv3x3(3, 64),
    );
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(64));
    this.relu = this.registerModule('relu', new ReLU(true));
    this.maxpool = this.stem === 'imagenet' ? this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 })) : null;
    this.layer1 = this.registerModule('layer1', this.makeLayer(64, blocks[0]));
    this.layer2 = this.registerModule('layer2', this.makeLayer(128, blocks[1], 2));
    this.layer3 = this.registerModule('layer3', this.makeLayer(256, blocks[2], 2));
    this.layer4 = this.registerModule('layer4', this.makeLayer(512, blocks[3], 2));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.fc = this.registerModule('fc', new Linear(512 * BasicBlock.expansion, numClasses));
    this.initialise(options.zeroInitResidual ?? false);
  }

  private makeLayer(planes: number, count: number, stride = 1): Sequential {
    let downsample: Module | null = null;
    if (stride !== 1 || this.#inPlanes !== planes * BasicBlock.expansion) {
      downsample = releasingSequential(conv1x1(this.#inPlanes, planes * BasicBlock.expansion, stride), new BatchNorm2d(planes * BasicBlock.expansion));
    }
    const layers: Module[] = [new BasicBlock(this.#inPlanes, planes, stride, downsample)];
    this.#inPlanes = planes * BasicBlock.expansion;
    for (let i = 1; i < count; i++) layers.push(new BasicBlock(this.#inPlanes, planes));
    return releasingSequential(...layers);
  }

  /** torchvision's initialisation: kaiming-normal (fan_out, ReLU) convolutions, BN weight 1 / bias 0. */
  private initialise(zeroInitResidual: boolean): void {
    noGrad(() => {
      for (const module of this.modules()) {
        if (module instanceof Conv2d) {
          const [out, , kh, kw] = module.weight.shape as [number, number, number, number];
          normal_(module.weight, 0, Math.sqrt(2) / Math.sqrt(out * kh * kw));
        }
      }
      if (zeroInitResidual) {
        for (const module of this.modules()) if (module instanceof BasicBlock) module.bn2.parameters()[0]!.zero_();
      }
    });
  }

  forward(x: Tensor): Tensor {
    // Each activation is disposed once the next layer has used it, as in
    // Python (nn/release.ts); autograd keeps what backward needs.
    const maxpool = this.maxpool === null ? [] : [this.maxpool];
    return forwardReleasing(x, [
      this.conv1,
      this.bn1,
      (h: Tensor) => h.relu_(),
      ...maxpool,
      this.layer1,
      this.layer2,
      this.layer3,
      this.layer4,
      this.avgpool,
      (h: Tensor) => h.flatten(1),
      this.fc,
    ]);
  }
}

function withWeights(model: ResNet, file: string | undefined): ResNet {
  if (file === undefined) return model;
  const weights = loadWeights(file);
  try {
    model.loadStateDict(weights);
  } catch (error) {
    model.dispose();
    throw error;
  } finally {
    weights.forEach((tensor) => tensor.dispose());
  }
  return model;
}

/** ResNet-18: [2, 2, 2, 2] basic blocks, 11.7 M parameters at 1000 classes. */
export function resnet18(options: ResNetOptions = {}): ResNet {
  return withWeights(new ResNet([2, 2, 2, 2], options), options.weights);
}

/** ResNet-34: [3, 4, 6, 3] basic blocks. */
export function resnet34(options: ResNetOptions = {}): ResNet {
  return withWeights(new ResNet([3, 4, 6, 3], options), options.weights);
}
