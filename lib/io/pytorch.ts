// PyTorch .pt/.pth state dicts: read what `torch.save(model.state_dict(), path)`
// writes, and write files that plain `torch.load(path)` reads.
import * as fs from 'node:fs';
import { native, type PickledValue, type TensorHandle } from '../native';
import { handleOf } from '../ops/registry';
import type { StateDict } from '../nn/module';
import { Tensor } from '../tensor';
import { replaceFileAtomic } from './atomic';

export class PtFormatError extends Error {
  readonly code = 'ERR_TORCHTS_PT';
  constructor(message: string) {
    super(message);
    this.name = 'PtFormatError';
  }
}

function describe(value: PickledValue): string {
  if (value === null) return 'None';
  if (typeof value !== 'object') return typeof value;
  return value.kind;
}

/** Calls `visit` with every tensor handle inside a pickled value, attributes included. */
function forEachTensor(value: PickledValue | undefined, visit: (handle: TensorHandle) => void): void {
  if (value === undefined || value === null || typeof value !== 'object') return;
  if (value.kind === 'tensor') visit(value.handle);
  else if (value.kind === 'list' || value.kind === 'tuple') value.items.forEach((item) => forEachTensor(item, visit));
  else if (value.kind === 'dict') {
    for (const [k, v] of value.entries) {
      forEachTensor(k, visit);
      forEachTensor(v, visit);
    }
    forEachTensor(value.attributes, visit);
  }
}

/** Frees every tensor handle inside a pickled value (on error paths). */
function releaseAll(value: PickledValue): void {
  forEachTensor(value, (handle) => native.dispose(handle));
}

/** native.loadPt, with its format errors (code ERR_TORCHTS_PT) as PtFormatError like the ones found here. */
function readPickle(file: string): PickledValue {
  try {
    return native.loadPt(file);
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_TORCHTS_PT') throw new PtFormatError((error as Error).message);
    throw error;
  }
}

export interface LoadPtOptions {
  /**
   * For checkpoints that nest the state dict, e.g. `{'model': state_dict,
   * 'optimizer': ...}`: the dotted path of the entry to read ('model').
   */
  key?: string;
}

/**
 * Reads a state dict (names -> CPU tensors) from a torch.save file, with the
 * file's module format versions (`_metadata`) when it has them.
 */
export function loadPt(file: string, options: LoadPtOptions = {}): StateDict {
  if (!fs.existsSync(file)) throw new PtFormatError(`${file}: no such file`);
  const root = readPickle(file);
  let handles: Map<string, TensorHandle>;
  let versions: Map<string, number> | undefined;
  try {
    const value = entryAt(file, root, options.key);
    handles = stateDictOf(file, value, options.key);
    versions = moduleVersions(value);
  } catch (error) {
    releaseAll(root);
    throw error;
  }
  // Tensors outside the chosen entry are not returned: free them.
  const kept = new Set(handles.values());
  forEachTensor(root, (handle) => {
    if (!kept.has(handle)) native.dispose(handle);
  });
  const result: StateDict = new Map([...handles].map(([name, handle]) => [name, Tensor.fromHandle(handle)]));
  if (versions !== undefined) result.versions = versions;
  return result;
}

/** The value under a dotted key of nested dicts ('model'), or the root. */
function entryAt(file: string, root: PickledValue, key: string | undefined): PickledValue {
  let value = root;
  for (const part of key ? key.split('.') : []) {
    if (value === null || typeof value !== 'object' || value.kind !== 'dict') {
      throw new PtFormatError(`${file}: cannot look up '${part}' in a ${describe(value)}`);
    }
    const entry = value.entries.find(([k]) => k === part);
    if (entry === undefined) {
      const keys = value.entries.map(([k]) => String(k)).join(', ');
      throw new PtFormatError(`${file}: no entry '${part}' (entries: ${keys})`);
    }
    value = entry[1];
  }
  return value;
}

/**
 * The `_metadata` that `Module.state_dict()` attaches to its OrderedDict:
 * {prefix: {'version': n}}, as prefix -> version. Undefined when absent.
 */
function moduleVersions(stateDict: PickledValue): Map<string, number> | undefined {
  if (stateDict === null || typeof stateDict !== 'object' || stateDict.kind !== 'dict') return undefined;
  const attributes = stateDict.attributes;
  if (attributes === undefined || attributes === null || typeof attributes !== 'object' || attributes.kind !== 'dict') return undefined;
  const metadata = attributes.entries.find(([name]) => name === '_metadata')?.[1];
  if (metadata === undefined || metadata === null || typeof metadata !== 'object' || metadata.kind !== 'dict') return undefined;
  const versions = new Map<string, number>();
  for (const [prefix, local] of metadata.entries) {
    if (typeof prefix !== 'string' || local === null || typeof local !== 'object' || local.kind !== 'dict') continue;
    const version = local.entries.find(([name]) => name === 'version')?.[1];
    if (typeof version === 'number') versions.set(prefix, version);
  }
  return versions;
}

function stateDictOf(file: string, value: PickledValue, key: string | undefined): Map<string, TensorHandle> {
  const where = key ? `entry '${key}'` : 'the file';
  if (value === null || typeof value !== 'object' || value.kind !== 'dict') {
    throw new PtFormatError(`${file}: ${where} holds a ${describe(value)}, not a state dict (a dict of tensors, as torch.save(model.state_dict(), path) writes)`);
  }
  const result = new Map<string, TensorHandle>();
  for (const [name, item] of value.entries) {
    if (typeof name !== 'string') throw new PtFormatError(`${file}: ${where} has a non-string key (${describe(name)}); a state dict maps names to tensors`);
    if (item === null || typeof item !== 'object' || item.kind !== 'tensor') {
      const hint = item !== null && typeof item === 'object' && item.kind === 'dict' ? ` (a nested checkpoint? pass { key: '${name}' })` : '';
      throw new PtFormatError(`${file}: '${name}' in ${where} is a ${describe(item)}, not a tensor${hint}`);
    }
    result.set(name, item.handle);
  }
  return result;
}

/** Writes a state dict that `torch.load(path)` reads (tensors are saved from the CPU). Atomic. */
export function savePt(file: string, tensors: Map<string, Tensor> | Record<string, Tensor>): void {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const names = entries.map(([name]) => name);
  const handles = entries.map(([name, tensor]) => handleOf(tensor, `savePt: '${name}'`));
  replaceFileAtomic(file, (temp) => native.savePt(temp, names, handles));
}
