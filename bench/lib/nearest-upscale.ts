// A model wrapper for the seed's image-size question: the post's test code
// loads images with flow_from_directory(target_size=(224, 224)), which
// upscales CIFAR's 32x32 files 7x by Keras' load_img default, nearest.
import { Module } from '../../lib/nn/module';
import { interpolate } from '../../lib/ops/nn';
import type { Tensor } from '../../lib/tensor';

/**
 * Upscales the model's input by an integer factor, nearest, before the
 * wrapped network: 32x32 decodes seen as Keras would load them at 224x224,
 * at no memory cost for the decoded split.
 */
export class NearestUpscale extends Module {
  readonly net: Module;

  constructor(net: Module, readonly factor: number) {
    super();
    this.net = this.registerModule('net', net);
  }

  forward(input: Tensor): Tensor {
    const upscaled = interpolate(input, { scaleFactor: this.factor, mode: 'nearest' });
    try {
      return this.net.forward(upscaled);
    } finally {
      upscaled.dispose();
    }
  }
}

/** An --upscale flag's value: a positive integer, 1 (no upscaling) when absent. */
export function parseUpscale(value: string | undefined): number {
  const factor = value === undefined ? 1 : Number(value);
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`--upscale must be a positive integer, got ${value}`);
  return factor;
}
