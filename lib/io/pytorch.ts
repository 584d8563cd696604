// PyTorch .pt/.pth state dicts: read what `torch.save(model.state_dict(), path)`
// writes, and write files that plain `torch.load(path)` reads.
import * as fs from 'node:fs';
import { native, type PickledValue, type TensorHandle } from '../native';
import { handleOf } from '../ops/registry';
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

/** Frees every tensor handle inside a pickled value (on error paths). */
function releaseAll(value: PickledValue): void {
  if (value === null || typeof value !== 'object') return;
  if (value.kind === 'tensor') native.dispose(value.handle);
  else if (value.kind === 'list' || value.kind === 'tuple') value.items.forEach(releaseAll);
  else if (value.kind === 'dict') value.entries.forEach(([k, v]) => (releaseAll(k), releaseAll(v)));
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

/** Reads a state dict (names -> CPU tensors) from a torch.save file. */
export function loadPt(file: string, options: LoadPtOptions = {}): Map<string, Tensor> {
  if (!fs.existsSync(file)) throw new PtFormatError(`${file}: no such file`);
  const root = readPickle(file);
  let handles: Map<string, TensorHandle>;
  try {
    let value = root;
    for (const part of options.key ? options.key.split('.') : []) {
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
    handles = stateDictOf(file, value, options.key);
  } catch (error) {
    releaseAll(root);
    throw error;
  }
  // Tensors outside the chosen entry are not returned: free them.
  const kept = new Set(handles.values());
  const releaseOthers = (value: PickledValue): void => {
    if (value === null || typeof value !== 'object') return;
    if (value.kind === 'tensor' && !kept.has(value.handle)) native.dispose(value.handle);
    else if (value.kind === 'list' || value.kind === 'tuple') value.items.forEach(releaseOthers);
    else if (value.kind === 'dict') value.entries.forEach(([k, v]) => (releaseOthers(k), releaseOthers(v)));
  };
  releaseOthers(root);
  return new Map([...handles].map(([name, handle]) => [name, Tensor.fromHandle(handle)]));
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
