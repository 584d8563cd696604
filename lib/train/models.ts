// Which model train() trains: a registered name ('resnet18', 'resnet34', or
// one a user registers), a factory `(numClasses) => Module`, or a Module
// instance. A checkpoint records the name; a run of a factory or an
// instance records 'custom:<ClassName>' and needs the same model again to
// resume, evaluate or predict (code cannot be stored in a checkpoint).
import { kerasResNet18 } from '../models/keras-resnet';
import { resnet18, resnet34 } from '../models/resnet';
import { Module } from '../nn/module';
import { ConfigError, type TrainConfig } from './config';

/** Builds a fresh model for `numClasses` classes; `config` carries architecture options (stem, ...). */
export type ModelFactory = (numClasses: number, config: TrainConfig) => Module;

/** What `train({ model })` accepts. */
export type ModelSpec = string | Module | ((numClasses: number) => Module);

const REGISTRY = new Map<string, ModelFactory>([
  ['resnet18', (numClasses, config) => resnet18({ numClasses, stem: config.stem, zeroInitResidual: config.zeroInitResidual })],
  ['resnet34', (numClasses, config) => resnet34({ numClasses, stem: config.stem, zeroInitResidual: config.zeroInitResidual })],
  // The seed's Keras network (lib/models/keras-resnet.ts); stem options do not apply to it.
  ['resnet18-keras', (numClasses) => kerasResNet18({ numClasses })],
]);

const CUSTOM_PREFIX = 'custom:';

/** Makes `name` usable as `model` in train(), the CLI (`--model`) and checkpoints. */
export function registerModel(name: string, factory: ModelFactory): void {
  if (typeof name !== 'string' || !/^[A-Za-z][\w.-]*$/.test(name)) {
    throw new ConfigError(`registerModel: the name must start with a letter and hold only letters, digits, '_', '.' and '-', got ${JSON.stringify(name)}`);
  }
  if (typeof factory !== 'function') throw new ConfigError(`registerModel('${name}'): the factory must be a function (numClasses, config) => Module`);
  REGISTRY.set(name, factory);
}

export function registeredModels(): string[] {
  return [...REGISTRY.keys()];
}

export function isCustomModelName(name: string): boolean {
  return name.startsWith(CUSTOM_PREFIX);
}

/** The name a run records for its model: the registered name, or 'custom:<ClassName>'. */
export function recordedModelName(spec: ModelSpec, model: Module): string {
  return typeof spec === 'string' ? spec : `${CUSTOM_PREFIX}${model.typeName}`;
}

/** A spec turned into something that can make models: instances make themselves once. */
export interface ModelSource {
  /** A new model, or the user's instance (only once: EMA needs a second one). */
  create(numClasses: number): Module;
  /** Whether create() can be called again for an independent copy. */
  readonly canCopy: boolean;
}

export function modelSource(spec: ModelSpec, config: TrainConfig): ModelSource {
  if (typeof spec === 'string') {
    const factory = REGISTRY.get(spec);
    if (factory === undefined) {
      const hint = isCustomModelName(spec) ? `: this run trained a custom model; pass it again as train({ model })` : '';
      throw new ConfigError(`unknown model '${spec}' (registered: ${registeredModels().join(', ')})${hint}`);
    }
    return { create: (numClasses) => checked(factory(numClasses, config), spec), canCopy: true };
  }
  if (spec instanceof Module) {
    if (spec.isDisposed) throw new ConfigError('model: the Module passed to train() was disposed');
    let used = false;
    return {
      create: () => {
        if (used) throw new ConfigError(`${spec.typeName}: a Module instance trains as itself; an EMA copy needs a factory, train({ model: (numClasses) => new ${spec.typeName}(...) })`);
        used = true;
        return spec;
      },
      canCopy: false,
    };
  }
  if (typeof spec === 'function') return { create: (numClasses) => checked(spec(numClasses), 'model'), canCopy: true };
  throw new ConfigError(`model must be a model name, a Module or a function (numClasses) => Module, got ${spec === null ? 'null' : typeof spec}`);
}

function checked(model: unknown, name: string): Module {
  if (!(model instanceof Module)) throw new ConfigError(`the factory for '${name}' returned ${model === null ? 'null' : typeof model}, not a Module`);
  return model;
}
