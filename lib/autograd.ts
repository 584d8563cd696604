// Gradient modes: noGrad, enableGrad, inferenceMode; and multi-root backward.
import { native } from './native';
import { handleOf } from './ops/registry';
import type { Tensor } from './tensor';
import { assertSync } from './util/sync';


function withGradMode<T>(enabled: boolean, fn: () => T, what: string): T {
  const previous = native.setGradEnabled(enabled);
  try {
    const result = fn();
    assertSync(result, what);
    return result;
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Runs `fn` without recording autograd history (torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn, 'noGrad()');
}

/** Runs `fn` with autograd recording on, even inside noGrad (torch.enable_grad). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn, 'enableGrad()');
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

/**
 * Runs `fn` in inference mode (torch.inference_mode): no autograd and no
 * version counting, the fastest way to evaluate. Tensors created inside
 * cannot be used in autograd later.
 */
export function inferenceMode<T>(fn: () => T): T {
  native.pushInferenceMode();
  try {
    const result = fn();
    assertSync(result, 'inferenceMode()');
    return result;
  } finally {
    native.popInferenceMode();
  }
}

export function isInferenceMode(): boolean {
  return native.isInferenceMode();
}

/** Backward from several roots at once (torch.autograd.backward). */
export function backward(
  roots: readonly Tensor[],
  gradients?: readonly (Tensor | null)[],
  options: { retainGraph?: boolean; createGraph?: boolean } = {},
): void {
  const rootHandles = roots.map((t, i) => handleOf(t, `backward(roots[${i}])`));
  const gradHandles = gradients?.map((g, i) => (g === null ? null : handleOf(g, `backward(gradients[${i}])`)));
  native.backward(rootHandles, gradHandles, options.retainGraph, options.createGraph);
}
