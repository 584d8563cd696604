// Early release of intermediate activations inside a forward pass.
//
// Python frees `a` in `layer2(layer1(x))` the moment layer2 returns, by
// reference counting; a torchts handle lives until its scope ends, so a
// network's whole forward would hold every activation at once. That is not
// only more memory: each layer then writes into cold memory instead of the
// cache-warm block the previous activation just gave back: a ResNet-18
// forward (batch 256, CPU) took 102-106 ms that way and 74-83 ms with early
// release (PyTorch: 76 ms). Autograd keeps its
// own references to what backward needs, so disposing the handle frees only
// memory that nothing can reach.
import type { Tensor } from '../tensor';
import type { Module } from './module';

export type ForwardStep = Pick<Module, 'forward'> | ((input: Tensor) => Tensor);

/**
 * Runs `steps` in order on `input` and disposes each intermediate result once
 * the next step has returned. `input` itself and the final output are left
 * alone. Only for steps that do not keep the handles they are given or
 * return (every built-in layer); a step may return its input (in-place ops).
 */
export function forwardReleasing(input: Tensor, steps: Iterable<ForwardStep>): Tensor {
  let current = input;
  for (const step of steps) {
    const next = typeof step === 'function' ? step(current) : step.forward(current);
    if (current !== input && next !== current) current.dispose();
    current = next;
  }
  return current;
}
