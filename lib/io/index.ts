// Saving and loading at the package root, named as PyTorch users expect:
// tt.save / tt.load for torch.save's .pt/.pth files, tt.saveSafetensors /
// tt.loadSafetensors for safetensors files. Loaded tensors belong to the
// caller (dispose them, or load inside scope()).
import * as path from 'node:path';
import { checkDevice, type Device } from '../device';
import { ArgumentTypeError } from '../errors';
import { Module, type StateDict } from '../nn/module';
import { Tensor } from '../tensor';
import { loadPt, savePt } from './pytorch';
import { readSafetensorsFile, writeSafetensorsFile, type NamedTensors } from './safetensors';

export { PtFormatError } from './pytorch';
export { SafetensorsError, type NamedTensors } from './safetensors';

export interface LoadOptions {
  /**
   * For checkpoints that nest the state dict, e.g. `{'model': state_dict,
   * 'optimizer': ...}`: the dotted path of the entry to read ('model').
   */
  key?: string;
  /** Where the tensors go (torch.load's map_location); 'cpu' by default. */
  device?: Device;
}

/** What `save` writes: named tensors, or a module (its state dict). */
export type Saveable = NamedTensors | Module;

function namedTensorsOf(value: Saveable, what: string): { tensors: NamedTensors; owned: boolean } {
  if (value instanceof Module) return { tensors: value.stateDict(), owned: true };
  if (value instanceof Map) return { tensors: value, owned: false };
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Tensor) {
    throw new ArgumentTypeError(`${what}: expected a state dict (Map or object of name -> Tensor) or a Module, got ${value === null ? 'null' : typeof value}`);
  }
  return { tensors: value, owned: false };
}

function withTensors(value: Saveable, what: string, write: (tensors: NamedTensors) => void): void {
  const { tensors, owned } = namedTensorsOf(value, what);
  try {
    write(tensors);
  } finally {
    if (owned) (tensors as StateDict).forEach((tensor) => tensor.dispose());
  }
}

function moveTo<T extends Map<string, Tensor>>(tensors: T, device: Device | undefined): T {
  if (device === undefined || device === 'cpu') return tensors;
  for (const [name, tensor] of tensors) {
    tensors.set(name, tensor.to(device));
    tensor.dispose();
  }
  return tensors;
}

function checkFile(file: unknown, what: string): string {
  if (typeof file !== 'string' || file === '') throw new ArgumentTypeError(`${what}: the file must be a non-empty path string, got ${JSON.stringify(file)}`);
  return file;
}

/**
 * torch.save(state_dict, file): writes a .pt/.pth that Python reads with
 * `torch.load(file)` (weights_only=True). Given a module, saves its state
 * dict. Tensors are written from the CPU; the file is replaced atomically.
 */
export function save(stateDict: Saveable, file: string): void {
  checkFile(file, 'save');
  withTensors(stateDict, 'save', (tensors) => savePt(file, tensors));
}

/**
 * torch.load(file) for state dicts: names -> tensors, in file order, with
 * the file's module format versions (`versions`, from PyTorch's `_metadata`)
 * that `Module.loadStateDict` uses as PyTorch does. A file holding anything
 * but a dict of tensors (a whole pickled model, say) is an error that says
 * what to save instead.
 */
export function load(file: string, options: LoadOptions = {}): StateDict {
  checkFile(file, 'load');
  const device = options.device === undefined ? undefined : checkDevice(options.device, 'load: device');
  if (path.extname(file) === '.safetensors') {
    throw new ArgumentTypeError(`load: ${file} is a safetensors file; read it with loadSafetensors(file)`);
  }
  return moveTo(loadPt(file, { key: options.key }), device);
}

export interface SafetensorsSaveOptions {
  /** String key/value pairs stored in the header's __metadata__. */
  metadata?: Record<string, string>;
}

/** safetensors' save_file(tensors, file, metadata): streamed, one tensor in memory at a time; atomic. */
export function saveSafetensors(tensors: Saveable, file: string, options: SafetensorsSaveOptions = {}): void {
  checkFile(file, 'saveSafetensors');
  withTensors(tensors, 'saveSafetensors', (named) => writeSafetensorsFile(file, named, options.metadata));
}

export interface SafetensorsLoadOptions {
  device?: Device;
  /** Read only these names. */
  names?: readonly string[];
}

/** A safetensors file's tensors, with its header's metadata. */
export type SafetensorsStateDict = StateDict & { metadata: Record<string, string> };

/** safetensors' load_file(file): names -> tensors (`metadata` holds the header's __metadata__). */
export function loadSafetensors(file: string, options: SafetensorsLoadOptions = {}): SafetensorsStateDict {
  checkFile(file, 'loadSafetensors');
  const device = options.device === undefined ? undefined : checkDevice(options.device, 'loadSafetensors: device');
  const { tensors, metadata } = readSafetensorsFile(file, { device, names: options.names });
  return Object.assign(tensors, { metadata });
}

/**
 * Model weights from any file torchts reads: a PyTorch .pt/.pth state dict,
 * a safetensors file, or a torchts training checkpoint (its model weights).
 */
export function loadWeights(file: string): StateDict {
  const extension = path.extname(file);
  if (extension === '.pt' || extension === '.pth') return loadPt(file);
  const { tensors, metadata } = readSafetensorsFile(file);
  if (metadata.torchts === undefined) return tensors;
  const model: StateDict = new Map();
  for (const [name, tensor] of tensors) {
    if (name.startsWith('model.')) model.set(name.slice('model.'.length), tensor);
    else tensor.dispose();
  }
  return model;
}
