// The Module tree: children, parameters and buffers under PyTorch's dotted
// names (`layer1.0.conv1.weight`), state dicts, train/eval, device and dtype
// moves, and explicit disposal.
import { checkDevice, type Device } from '../device';
import { type DType, isDType, isFloating, isMemoryFormat, type MemoryFormat } from '../dtype';
import { noGrad } from '../autograd';
import { keep } from '../memory';
import { native } from '../native';
import { Tensor, type ToOptions } from '../tensor';
import { ArgumentTypeError } from '../errors';

/**
 * Names to tensors, in a module's canonical (PyTorch) order. A state dict
 * read from a PyTorch file may carry `versions`: its `_metadata`, each
 * module's format version by dotted prefix ('' is the root module).
 */
export type StateDict = Map<string, Tensor> & { versions?: ReadonlyMap<string, number> };

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export class StateDictError extends Error {
  readonly code = 'ERR_TORCHTS_STATE_DICT';
  constructor(
    moduleName: string,
    readonly missingKeys: string[],
    readonly unexpectedKeys: string[],
    readonly shapeMismatches: string[],
  ) {
    const lines = [`Error(s) in loading state_dict for ${moduleName}:`];
    const quote = (keys: string[]) => keys.map((k) => `"${k}"`).join(', ');
    if (missingKeys.length > 0) lines.push(`\tMissing key(s) in state_dict: ${quote(missingKeys)}.`);
    if (unexpectedKeys.length > 0) lines.push(`\tUnexpected key(s) in state_dict: ${quote(unexpectedKeys)}.`);
    for (const mismatch of shapeMismatches) lines.push(`\t${mismatch}`);
    super(lines.join('\n'));
    this.name = 'StateDictError';
  }
}

export class ModuleDisposedError extends Error {
  readonly code = 'ERR_TORCHTS_DISPOSED';
  constructor(name: string) {
    super(`this ${name} was disposed; its parameters and buffers are freed`);
    this.name = 'ModuleDisposedError';
  }
}

const NAME_PATTERN = /^[^.]+$/;

function shapeText(shape: number[]): string {
  return `torch.Size([${shape.join(', ')}])`;
}

/** Indents every line but the first by `spaces` (PyTorch's _addindent). */
function indentTail(text: string, spaces: number): string {
  const lines = text.split('\n');
  if (lines.length === 1) return text;
  return [lines[0], ...lines.slice(1).map((line) => ' '.repeat(spaces) + line)].join('\n');
}

export abstract class Module {
  #children = new Map<string, Module>();
  #parameters = new Map<string, Tensor | null>();
  #buffers = new Map<string, Tensor | null>();
  #nonPersistent = new Set<string>();
  #training = true;
  #disposed = false;

  /** Computes the module's output. */
  abstract forward(input: Tensor, ...rest: unknown[]): Tensor;

  /** The class name shown in printouts and errors. */
  get typeName(): string {
    return this.constructor.name;
  }

  /** Extra text inside the parentheses of this module's printout (PyTorch's extra_repr). */
  extraRepr(): string {
    return '';
  }

  // ---- registration -------------------------------------------------------

  private checkName(name: string, kind: string): void {
    this.assertLive();
    if (!NAME_PATTERN.test(name)) throw new ArgumentTypeError(`${kind} name must be non-empty and contain no '.', got '${name}'`);
    if (this.#children.has(name) || this.#parameters.has(name) || this.#buffers.has(name)) {
      throw new ArgumentTypeError(`${this.typeName} already has a member named '${name}'`);
    }
  }

  /** Adds a child module; its parameters appear as `<name>.<param>`. */
  protected registerModule<M extends Module>(name: string, module: M): M {
    this.checkName(name, 'module');
    if (!(module instanceof Module)) throw new ArgumentTypeError(`registerModule('${name}') needs a Module`);
    this.#children.set(name, module);
    return module;
  }

  /** Adds a trainable tensor (requiresGrad is switched on); the module owns it. */
  protected registerParameter(name: string, tensor: Tensor | null): Tensor | null {
    this.checkName(name, 'parameter');
    if (tensor !== null) {
      if (!tensor.isFloatingPoint()) throw new ArgumentTypeError(`parameter '${name}' must be floating point, got ${tensor.dtype}`);
      keep(tensor);
      if (!tensor.requiresGrad) tensor.requiresGrad = true;
    }
    this.#parameters.set(name, tensor);
    return tensor;
  }

  /** Adds a state tensor that is not trained (e.g. BatchNorm running statistics). */
  protected registerBuffer(name: string, tensor: Tensor | null, persistent = true): Tensor | null {
    this.checkName(name, 'buffer');
    if (tensor !== null) keep(tensor);
    this.#buffers.set(name, tensor);
    if (!persistent) this.#nonPersistent.add(name);
    return tensor;
  }

  /** A registered parameter or buffer of this module (not of children). */
  protected tensor(name: string): Tensor {
    const found = this.#parameters.get(name) ?? this.#buffers.get(name);
    if (found === undefined || found === null) throw new ArgumentTypeError(`${this.typeName} has no tensor '${name}'`);
    return found;
  }

  // ---- traversal ----------------------------------------------------------

  *namedChildren(): Generator<[string, Module]> {
    yield* this.#children.entries();
  }

  children(): Module[] {
    return [...this.#children.values()];
  }

  /** This module and every descendant, depth first, with dotted names ('' for this one). */
  *namedModules(prefix = '', seen = new Set<Module>()): Generator<[string, Module]> {
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [name, child] of this.#children) yield* child.namedModules(prefix ? `${prefix}.${name}` : name, seen);
  }

  modules(): Module[] {
    return [...this.namedModules()].map(([, module]) => module);
  }

  private *namedMembers(kind: 'parameters' | 'buffers', recurse: boolean, persistentOnly = false): Generator<[string, Tensor]> {
    this.assertLive();
    const seen = new Set<Tensor>();
    const modules: Iterable<[string, Module]> = recurse ? this.namedModules() : [['', this]];
    for (const [prefix, module] of modules) {
      const members = kind === 'parameters' ? module.#parameters : module.#buffers;
      for (const [name, tensor] of members) {
        if (tensor === null || seen.has(tensor)) continue;
        if (persistentOnly && module.#nonPersistent.has(name)) continue;
        seen.add(tensor);
        yield [prefix ? `${prefix}.${name}` : name, tensor];
      }
    }
  }

  /** Parameters with dotted names, in registration order (the module's own, then each child's). */
  namedParameters(recurse = true): [string, Tensor][] {
    return [...this.namedMembers('parameters', recurse)];
  }

  parameters(recurse = true): Tensor[] {
    return this.namedParameters(recurse).map(([, tensor]) => tensor);
  }

  namedBuffers(recurse = true): [string, Tensor][] {
    return [...this.namedMembers('buffers', recurse)];
  }

  buffers(recurse = true): Tensor[] {
    return this.namedBuffers(recurse).map(([, tensor]) => tensor);
  }

  /** Number of parameter elements (all, or only those with requiresGrad). */
  parameterCount(options: { trainableOnly?: boolean } = {}): number {
    let count = 0;
    for (const tensor of this.parameters()) {
      if (!options.trainableOnly || tensor.requiresGrad) count += tensor.numel();
    }
    return count;
  }

  /** Calls `fn` on every descendant, children first, then on this module. */
  apply(fn: (module: Module) => void): this {
    for (const child of this.#children.values()) child.apply(fn);
    fn(this);
    return this;
  }

  // ---- state dicts --------------------------------------------------------

  /** Order and names of state-dict entries: per module, own parameters then persistent buffers. */
  private *stateEntries(): Generator<[string, Tensor]> {
    this.assertLive();
    for (const [prefix, module] of this.namedModules()) {
      const join = (name: string) => (prefix ? `${prefix}.${name}` : name);
      for (const [name, tensor] of module.#parameters) if (tensor !== null) yield [join(name), tensor];
      for (const [name, tensor] of module.#buffers) {
        if (tensor !== null && !module.#nonPersistent.has(name)) yield [join(name), tensor];
      }
    }
  }

  /**
   * Parameters and persistent buffers by name, as detached handles sharing
   * their storage: the caller owns (and may dispose) the returned handles.
   */
  stateDict(): StateDict {
    const result: StateDict = new Map();
    for (const [name, tensor] of this.stateEntries()) result.set(name, tensor.detach());
    return result;
  }

  /**
   * Copies values into this module's parameters and buffers. Everything is
   * checked before anything is copied, so a failed load leaves the module
   * unchanged. Shape mismatches are always errors; with strict (default),
   * so are missing and unexpected keys.
   */
  loadStateDict(source: StateDict | Record<string, Tensor>, options: { strict?: boolean } = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const provided = source instanceof Map ? source : new Map(Object.entries(source));
    const targets = new Map(this.stateEntries());
    const optional = this.keysOptionalFor((provided as StateDict).versions);
    const missingKeys = [...targets.keys()].filter((key) => !provided.has(key) && !optional.has(key));
    const unexpectedKeys = [...provided.keys()].filter((key) => !targets.has(key));
    const shapeMismatches: string[] = [];
    for (const [key, target] of targets) {
      const value = provided.get(key);
      if (value === undefined) continue;
      if (!(value instanceof Tensor)) throw new ArgumentTypeError(`state dict entry '${key}' is not a Tensor`);
      const from = value.shape;
      const to = target.shape;
      if (from.join(',') !== to.join(',')) {
        shapeMismatches.push(
          `size mismatch for ${key}: copying a param with shape ${shapeText(from)} from checkpoint, the shape in current model is ${shapeText(to)}.`,
        );
      }
    }
    if (shapeMismatches.length > 0 || (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0))) {
      throw new StateDictError(this.typeName, strict ? missingKeys : [], strict ? unexpectedKeys : [], shapeMismatches);
    }
    noGrad(() => {
      for (const [key, target] of targets) {
        const value = provided.get(key);
        if (value !== undefined) target.copy_(value);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * State keys a state dict may lack, by the rules of each module's format
   * version (PyTorch's `_load_from_state_dict`): loading keeps the module's
   * current value for them. `versions` as on a loaded StateDict.
   */
  keysOptionalFor(versions: ReadonlyMap<string, number> | undefined): Set<string> {
    const keys = new Set<string>();
    for (const [prefix, module] of this.namedModules()) {
      for (const name of module.keysOptionalInVersion(versions?.get(prefix))) keys.add(prefix ? `${prefix}.${name}` : name);
    }
    return keys;
  }

  /** This module's own state keys that files of the given format version (undefined: unknown) may lack. */
  protected keysOptionalInVersion(_version: number | undefined): string[] {
    return [];
  }

  // ---- modes, devices, gradients -----------------------------------------

  get training(): boolean {
    return this.#training;
  }

  /** Training mode on (default) or off, for this module and every descendant. */
  train(mode = true): this {
    this.assertLive();
    for (const [, module] of this.namedModules()) {
      module.#training = mode;
      module.onTrainingChanged(mode);
    }
    return this;
  }

  /** Evaluation mode: BatchNorm uses running statistics, Dropout is off. */
  eval(): this {
    return this.train(false);
  }

  /** Hook for modules whose native part needs to know the mode. */
  protected onTrainingChanged(_training: boolean): void {}

  /**
   * Moves/converts parameters and buffers in place (same tensor objects, so
   * optimizers created earlier keep working): a device, a dtype (floating
   * point tensors only, like PyTorch), a memory format (4-D tensors), or all.
   */
  to(target: Device | DType | MemoryFormat | Pick<ToOptions, 'device' | 'dtype' | 'memoryFormat'>): this {
    this.assertLive();
    const options =
      typeof target === 'string'
        ? isDType(target)
          ? { dtype: target }
          : isMemoryFormat(target)
            ? { memoryFormat: target }
            : { device: checkDevice(target, 'Module.to(device)') }
        : target;
    noGrad(() => {
      for (const tensor of [...this.parameters(), ...this.buffers()]) {
        convertInPlace(tensor, options);
        // Not disposed: it is the parameter's cached .grad, which others may hold.
        const grad = tensor.grad;
        if (grad !== null) convertInPlace(grad, options);
      }
    });
    return this;
  }

  /** Clears the gradients of all parameters (dropping them by default, like PyTorch). */
  zeroGrad(options: { setToNone?: boolean } = {}): void {
    for (const tensor of this.parameters()) tensor.zeroGrad(options);
  }

  // ---- lifetime -----------------------------------------------------------

  get isDisposed(): boolean {
    return this.#disposed;
  }

  protected assertLive(): void {
    if (this.#disposed) throw new ModuleDisposedError(this.typeName);
  }

  /** Frees this module's parameters and buffers and those of its descendants. */
  dispose(): void {
    if (this.#disposed) return;
    for (const child of this.#children.values()) child.dispose();
    for (const tensor of [...this.#parameters.values(), ...this.#buffers.values()]) tensor?.dispose();
    this.#disposed = true;
    this.onDispose();
  }

  /** Hook for modules holding native resources. */
  protected onDispose(): void {}

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** PyTorch-style printout of the module tree. */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split('\n') : [];
    const childLines = [...this.#children].map(([name, child]) => `(${name}): ${indentTail(child.toString(), 2)}`);
    const lines = [...extraLines, ...childLines];
    let text = `${this.typeName}(`;
    if (lines.length > 0) {
      text += extraLines.length === 1 && childLines.length === 0 ? extraLines[0] : `\n  ${lines.join('\n  ')}\n`;
    }
    return `${text})`;
  }
}

function convertInPlace(tensor: Tensor, options: Pick<ToOptions, 'device' | 'dtype' | 'memoryFormat'>): void {
  const wanted: ToOptions = {};
  if (options.device !== undefined && options.device !== tensor.device) wanted.device = options.device;
  if (options.dtype !== undefined && isFloating(tensor.dtype) && options.dtype !== tensor.dtype) wanted.dtype = options.dtype;
  if (options.memoryFormat !== undefined && tensor.ndim === 4) wanted.memoryFormat = options.memoryFormat;
  if (Object.keys(wanted).length === 0) return;
  const converted = tensor.to(wanted);
  native.setData(tensor.handle, converted.handle);
  converted.dispose();
}
