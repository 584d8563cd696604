// Random tensors from libtorch's default generators (seed with manualSeed:
// the same seed gives the same values as torch.manual_seed in Python).
import { checkDevice, type Device } from '../device';
import { native } from '../native';
import { Tensor } from '../tensor';
import { _factoryArgs as factoryArgs, _finish as finish, checkShape, type TensorOptions } from './creation';
import { handleOf, wrap } from './registry';
import { callOp, op } from './op';
import { ArgumentRangeError, ArgumentTypeError } from '../errors';

const RAND = op('aten::rand');
const RANDN = op('aten::randn');
const RANDINT = op('aten::randint.low');
const RANDPERM = op('aten::randperm');
const RAND_LIKE = op('aten::rand_like');
const RANDN_LIKE = op('aten::randn_like');
const BERNOULLI_P = op('aten::bernoulli.p');
const BERNOULLI = op('aten::bernoulli');
const NORMAL_ = op('aten::normal_');
const UNIFORM_ = op('aten::uniform_');

/** Seeds every default generator (CPU and CUDA), like torch.manual_seed. */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new ArgumentTypeError(`seed must be a non-negative integer, got ${seed}`);
  native.manualSeed(seed);
}

/** Uniform in [0, 1). */
export function rand(shape: readonly number[], options?: TensorOptions): Tensor {
  return finish(wrap(callOp(RAND.handle, checkShape(shape), ...factoryArgs(options))), options);
}

/** Standard normal. */
export function randn(shape: readonly number[], options?: TensorOptions): Tensor {
  return finish(wrap(callOp(RANDN.handle, checkShape(shape), ...factoryArgs(options))), options);
}

/** Integers in [low, high). int64 unless a dtype is given. */
export function randint(low: number, high: number, shape: readonly number[], options?: TensorOptions): Tensor {
  if (!(high > low)) throw new ArgumentRangeError(`randint(): high (${high}) must be greater than low (${low})`);
  return wrap(callOp(RANDINT.handle, low, high, checkShape(shape), ...factoryArgs(options, 'int64')));
}

/** A random permutation of 0..n-1 (int64 unless a dtype is given). */
export function randperm(n: number, options?: Omit<TensorOptions, 'requiresGrad'>): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new ArgumentRangeError(`randperm(): n must be a non-negative integer, got ${n}`);
  return wrap(callOp(RANDPERM.handle, n, ...factoryArgs(options, 'int64')));
}

export function randLike(like: Tensor, options?: TensorOptions): Tensor {
  return finish(wrap(callOp(RAND_LIKE.handle, handleOf(like, 'randLike(like)'), ...factoryArgs(options), undefined)), options);
}

export function randnLike(like: Tensor, options?: TensorOptions): Tensor {
  return finish(wrap(callOp(RANDN_LIKE.handle, handleOf(like, 'randnLike(like)'), ...factoryArgs(options), undefined)), options);
}

/** Bernoulli draws: with `p`, each element is 1 with probability p; else `input` holds the probabilities. */
export function bernoulli(input: Tensor, p?: number): Tensor {
  if (p === undefined) return wrap(callOp(BERNOULLI.handle, handleOf(input, 'bernoulli(input)')));
  if (!(p >= 0 && p <= 1)) throw new ArgumentRangeError(`bernoulli(): p must be in [0, 1], got ${p}`);
  return wrap(callOp(BERNOULLI_P.handle, handleOf(input, 'bernoulli(input)'), p));
}

/** Fills `target` in place from N(mean, std). */
export function normal_(target: Tensor, mean = 0, std = 1): Tensor {
  callOp(NORMAL_.handle, handleOf(target, 'normal_(target)'), mean, std);
  return target;
}

/** Fills `target` in place from U(low, high). */
export function uniform_(target: Tensor, low = 0, high = 1): Tensor {
  callOp(UNIFORM_.handle, handleOf(target, 'uniform_(target)'), low, high);
  return target;
}

/** The default generator's state of a device (a uint8 tensor), for checkpoints. */
export function getRngState(device: Device = 'cpu'): Tensor {
  return Tensor.fromHandle(native.getRngState(checkDevice(device)));
}

export function setRngState(state: Tensor, device: Device = 'cpu'): void {
  native.setRngState(handleOf(state, 'setRngState(state)'), checkDevice(device));
}
