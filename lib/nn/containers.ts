// Containers: Sequential runs children in order; ModuleList only holds them.
import type { Tensor } from '../tensor';
import { Module } from './module';
import { forwardReleasing } from './release';
import { ArgumentTypeError } from '../errors';

export class Sequential extends Module {
  readonly #layers: Module[];
  /**
   * Dispose each layer's output as soon as the next layer has used it, as
   * Python's reference counting would (see nn/release.ts). Off by default,
   * because a custom layer may hold on to a handle it was given until the
   * scope ends; built-in models turn it on for their own layers.
   */
  releaseIntermediates = false;

  constructor(...modules: Module[]) {
    super();
    this.#layers = modules.map((module, index) => this.registerModule(String(index), module));
  }

  get length(): number {
    return this.#layers.length;
  }

  at(index: number): Module | undefined {
    return this.#layers.at(index);
  }

  forward(input: Tensor): Tensor {
    if (this.releaseIntermediates) return forwardReleasing(input, this.#layers);
    let output = input;
    for (const layer of this.#layers) output = layer.forward(output);
    return output;
  }
}

export class ModuleList extends Module {
  readonly #items: Module[] = [];

  constructor(modules: Iterable<Module> = []) {
    super();
    for (const module of modules) this.push(module);
  }

  push(module: Module): this {
    this.#items.push(this.registerModule(String(this.#items.length), module));
    return this;
  }

  get length(): number {
    return this.#items.length;
  }

  at(index: number): Module | undefined {
    return this.#items.at(index);
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.#items[Symbol.iterator]();
  }

  forward(): Tensor {
    throw new ArgumentTypeError('ModuleList has no forward(): iterate over it and call its modules');
  }
}
