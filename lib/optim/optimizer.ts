// Optimizers over torch::optim: SGD, Adam, AdamW, RMSprop, with parameter
// groups and state that round-trips through checkpoints.
import { native, type OptimizerHandle } from '../native';
import { handleOf } from '../ops/registry';
import { Tensor } from '../tensor';
import type { GroupOptions, SchedulableOptimizer } from './types';
import { ArgumentRangeError, ArgumentTypeError } from '../errors';

export type OptimizerKind = 'sgd' | 'adam' | 'adamw' | 'rmsprop';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
}

export interface RMSpropOptions {
  lr?: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
}

/** A group of parameters with its own option overrides (e.g. weightDecay: 0 for norms and biases). */
export type ParamGroup<O> = { params: Iterable<Tensor> } & Partial<O>;

export type Params<O> = Iterable<Tensor> | ParamGroup<O>[];

/** Optimizer state as named tensors (`state.<paramIndex>.<name>`), plus group options. */
export interface OptimizerState {
  kind: OptimizerKind;
  state: Map<string, Tensor>;
  groups: GroupOptions[];
}

function checkNumbers(kind: string, options: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(options)) {
    if (key === 'params' || value === undefined) continue;
    if (typeof value === 'number' && !Number.isFinite(value)) throw new ArgumentRangeError(`${kind}: ${key} must be a finite number, got ${value}`);
    if (key === 'lr' && typeof value === 'number' && value < 0) throw new ArgumentRangeError(`${kind}: lr must be >= 0, got ${value}`);
  }
}

function isGroupList<O>(params: Params<O>): params is ParamGroup<O>[] {
  return Array.isArray(params) && params.length > 0 && !(params[0] instanceof Tensor);
}

export abstract class Optimizer implements SchedulableOptimizer {
  readonly #handle: OptimizerHandle;
  readonly #groups: Tensor[][];
  #disposed = false;

  protected constructor(
    readonly kind: OptimizerKind,
    params: Params<Record<string, unknown>>,
    defaults: Record<string, unknown>,
  ) {
    const label = kind === 'sgd' ? 'SGD' : kind === 'adam' ? 'Adam' : kind === 'adamw' ? 'AdamW' : 'RMSprop';
    checkNumbers(label, defaults);
    const groups = isGroupList(params) ? params : [{ params }];
    if (groups.length === 0) throw new ArgumentTypeError(`${label}: no parameters to optimize`);
    this.#groups = [];
    const nativeGroups = groups.map((group, index) => {
      const { params: tensors, ...options } = group as ParamGroup<Record<string, unknown>>;
      checkNumbers(`${label} group ${index}`, options);
      const list = [...tensors];
      if (list.length === 0) throw new ArgumentTypeError(`${label}: parameter group ${index} is empty`);
      this.#groups.push(list);
      return { params: list.map((t, i) => handleOf(t, `${label} group ${index} params[${i}]`)), options };
    });
    this.#handle = native.createOptimizer(kind, nativeGroups, defaults);
  }

  private get handle(): OptimizerHandle {
    if (this.#disposed) throw new Error('this optimizer was disposed');
    return this.#handle;
  }

  /** Applies one update from the parameters' current gradients. */
  step(): void {
    native.optimizerStep(this.handle);
  }

  /** Clears gradients: drops them (default, like PyTorch) or zeroes them in place. */
  zeroGrad(options: { setToNone?: boolean } = {}): void {
    native.optimizerZeroGrad(this.handle, options.setToNone ?? true);
  }

  get groupCount(): number {
    return this.#groups.length;
  }

  /** The parameters of each group, in order. */
  get paramGroups(): readonly (readonly Tensor[])[] {
    return this.#groups;
  }

  getGroupOptions(group: number): GroupOptions {
    return native.optimizerGetOptions(this.handle, group) as GroupOptions;
  }

  setGroupOptions(group: number, options: Partial<GroupOptions>): void {
    checkNumbers(this.kind, options);
    native.optimizerSetOptions(this.handle, group, options);
  }

  /** Learning rate of a group (default: the first). */
  getLr(group = 0): number {
    return this.getGroupOptions(group).lr;
  }

  /** Sets the learning rate of one group, or of all groups. */
  setLr(lr: number, group?: number): void {
    const groups = group === undefined ? [...this.#groups.keys()] : [group];
    for (const index of groups) this.setGroupOptions(index, { lr });
  }

  /** State (momentum buffers, Adam moments, step counts) as named tensors, plus group options. */
  stateDict(): OptimizerState {
    const state = new Map<string, Tensor>();
    for (const [index, name, handle] of native.optimizerGetState(this.handle)) state.set(`state.${index}.${name}`, Tensor.fromHandle(handle));
    const groups = this.#groups.map((_, index) => this.getGroupOptions(index));
    return { kind: this.kind, state, groups };
  }

  /** Restores state saved by stateDict() (checked fully before anything changes). */
  loadStateDict(saved: OptimizerState): void {
    if (saved.kind !== this.kind) throw new ArgumentTypeError(`optimizer state is for ${saved.kind}, this optimizer is ${this.kind}`);
    if (saved.groups.length !== this.#groups.length) {
      throw new ArgumentTypeError(`optimizer state has ${saved.groups.length} parameter groups, this optimizer has ${this.#groups.length}`);
    }
    const entries: [number, string, ReturnType<typeof handleOf>][] = [];
    for (const [key, tensor] of saved.state) {
      const match = /^state\.(\d+)\.(\w+)$/.exec(key);
      if (match === null) throw new ArgumentTypeError(`optimizer state key '${key}' is not of the form state.<index>.<name>`);
      entries.push([Number(match[1]), match[2]!, handleOf(tensor, `optimizer state '${key}'`)]);
    }
    native.optimizerSetState(this.handle, entries);
    saved.groups.forEach((options, index) => this.setGroupOptions(index, options));
  }

  /** Frees the optimizer's state now (otherwise the garbage collector does, eventually). */
  dispose(): void {
    if (this.#disposed) return;
    native.optimizerSetState(this.#handle, []);
    this.#disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (torch.optim.SGD). */
export class SGD extends Optimizer {
  constructor(params: Params<SGDOptions>, options: SGDOptions) {
    if (options === undefined || options.lr === undefined) throw new ArgumentTypeError('SGD needs options with an lr');
    if (options.nesterov && (!(options.momentum ?? 0) || (options.dampening ?? 0) !== 0)) {
      throw new ArgumentTypeError('SGD: Nesterov momentum requires a momentum and zero dampening');
    }
    super('sgd', params as Params<Record<string, unknown>>, { ...options });
  }
}

/** Adam (torch.optim.Adam): weight decay is L2 added to the gradient. */
export class Adam extends Optimizer {
  constructor(params: Params<AdamOptions>, options: AdamOptions = {}) {
    super('adam', params as Params<Record<string, unknown>>, { ...options });
  }
}

/** AdamW (torch.optim.AdamW): decoupled weight decay, default 0.01. */
export class AdamW extends Optimizer {
  constructor(params: Params<AdamOptions>, options: AdamOptions = {}) {
    super('adamw', params as Params<Record<string, unknown>>, { ...options });
  }
}

/** RMSprop (torch.optim.RMSprop). */
export class RMSprop extends Optimizer {
  constructor(params: Params<RMSpropOptions>, options: RMSpropOptions = {}) {
    super('rmsprop', params as Params<Record<string, unknown>>, { ...options });
  }
}
