// Fine-tuning: start a model from saved weights with a new head, freeze
// layers, and give the pretrained backbone a lower learning rate.
import { noGrad } from '../autograd';
import { loadWeights } from '../io';
import type { Module } from '../nn/module';
import { ConfigError, type TrainConfig } from './config';
import { decayGroups, type ParameterGroup } from './optimization';

/** The dotted name of the model's last Linear layer (its classifier head), or null. */
export function headName(model: Module): string | null {
  let head: string | null = null;
  for (const [name, module] of model.namedModules()) if (module.typeName === 'Linear') head = name;
  return head;
}

const under = (name: string, prefix: string): boolean => prefix === '' || name === prefix || name.startsWith(`${prefix}.`);

/**
 * Copies every weight of `file` whose name and shape match into `model`.
 * Only the head may differ (other class count) or be absent: it keeps its
 * fresh init. Anything else that does not match is an error naming it.
 * Returns a line for the log.
 */
export function loadInitialWeights(model: Module, file: string): string {
  const source = loadWeights(file);
  try {
    const head = headName(model);
    const target = model.stateDict();
    const optional = model.keysOptionalFor(source.versions);
    const kept: string[] = [];
    const problems: string[] = [];
    let copied = 0;
    noGrad(() => {
      for (const [name, tensor] of target) {
        const saved = source.get(name);
        const inHead = head !== null && under(name, head);
        if (saved === undefined) {
          if (inHead) kept.push(name);
          else if (!optional.has(name)) problems.push(`missing ${name}`);
        } else if (saved.shape.join() !== tensor.shape.join()) {
          if (inHead) kept.push(`${name} (${JSON.stringify(tensor.shape)}; the file has ${JSON.stringify(saved.shape)})`);
          else problems.push(`${name}: the model has shape ${JSON.stringify(tensor.shape)}, the file ${JSON.stringify(saved.shape)}`);
        } else {
          tensor.copy_(saved);
          copied += 1;
        }
      }
    });
    const unused = [...source.keys()].filter((name) => !target.has(name));
    if (problems.length > 0 || unused.length > 0) {
      const list = [...problems, ...unused.map((name) => `unexpected ${name}`)];
      throw new ConfigError(`weights ${file} do not fit the model (${list.length} problem(s)): ${list.slice(0, 8).join('; ')}${list.length > 8 ? '; ...' : ''}`);
    }
    return `weights: ${copied} tensors from ${file}${kept.length > 0 ? `; new head ${head} (${kept.join(', ')})` : ''}`;
  } finally {
    source.forEach((tensor) => tensor.dispose());
  }
}

/** Sets requiresGrad false on the parameters under each prefix; a prefix that matches nothing is an error. */
export function freezeParameters(model: Module, prefixes: readonly string[]): number {
  const named = model.namedParameters();
  let frozen = 0;
  for (const prefix of prefixes) {
    const matching = named.filter(([name]) => under(name, prefix));
    if (matching.length === 0) throw new ConfigError(`freeze: no parameter is named '${prefix}' or starts with '${prefix}.'`);
    for (const [, parameter] of matching) {
      if (parameter.requiresGrad) frozen += 1;
      parameter.requiresGrad = false;
    }
  }
  return frozen;
}

/** Parameter groups: the head at config.lr, the rest at lr * backboneLrScale (one group set when the scale is 1). */
export function fineTuneGroups(model: Module, config: TrainConfig): ParameterGroup[] {
  const named = model.namedParameters();
  if (config.backboneLrScale === 1) return decayGroups(named, config);
  const head = headName(model);
  if (head === null) throw new ConfigError('backboneLrScale needs a model whose head is a Linear layer (none was found)');
  const inHead = named.filter(([name]) => under(name, head));
  const backbone = named.filter(([name]) => !under(name, head));
  return [...decayGroups(backbone, config, config.backboneLrScale), ...decayGroups(inHead, config)];
}
