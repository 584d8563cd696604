// Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_).
// Computed with tensor ops only: no host synchronisation per step.
import { noGrad } from '../autograd';
import { scope } from '../memory';
import { scalarTensor } from '../ops/creation';
import { clamp } from '../ops/pointwise';
import { stack } from '../ops/shape';
import { norm } from '../ops/reduction';
import type { Tensor } from '../tensor';
import { ArgumentRangeError } from '../errors';

/**
 * Scales the gradients of `parameters` in place so that their combined
 * p-norm is at most `maxNorm`; returns the norm before clipping (a 0-dim
 * tensor; read it with item() only when you need it, as that waits for the device).
 */
export function clipGradNorm(parameters: Iterable<Tensor>, maxNorm: number, options: { normType?: number; errorIfNonfinite?: boolean } = {}): Tensor {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new ArgumentRangeError(`clipGradNorm: maxNorm must be a positive number, got ${maxNorm}`);
  const normType = options.normType ?? 2;
  return noGrad(() =>
    scope(() => {
      const grads = [...parameters].map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return scalarTensor(0);
      const norms = grads.map((g) => norm(g, normType));
      const total = normType === Infinity ? stack(norms).amax() : norm(stack(norms), normType);
      if (options.errorIfNonfinite && !Number.isFinite(total.item())) {
        throw new ArgumentRangeError(`clipGradNorm: the total gradient norm is ${total.item()}`);
      }
      // Like PyTorch: scale by min(1, maxNorm / (total + 1e-6)), without a branch on the host.
      const coefficient = clamp(total.add(1e-6).reciprocal().mul(maxNorm), null, 1);
      for (const grad of grads) grad.mul_(coefficient);
      return total;
    }),
  );
}
