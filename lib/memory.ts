// Explicit tensor lifetimes: scopes, keep() and memory statistics.
//
// V8's garbage collector cannot see libtorch memory (least of all GPU
// memory), so waiting for it lets memory pile up. `scope(fn)` frees every
// tensor created while `fn` runs, except the ones it returns and the ones
// passed to `keep()`.
//
// Backstop: a tensor that is not (or no longer) owned by any scope is
// registered with a FinalizationRegistry, which frees it if it is garbage
// collected undisposed. Tensors inside scopes skip that registration (it
// costs ~0.4 us, as much as a small op), since their scope frees them.
// Likewise only backstopped tensors count as V8 external memory: the native
// side reads the scope depth from a shared cell, and registerBackstop()
// reports tensors that leave their scope.
import { native, type CpuCacheStats, type CudaMemoryStats, type TensorHandle } from './native';
import { assertSync } from './util/sync';

/** What scopes track: a tensor handle with an idempotent dispose. */
export interface ScopedResource {
  dispose(): void;
  readonly isDisposed: boolean;
  readonly handle: TensorHandle;
}

const kept = new WeakSet<ScopedResource>();
const frames: ScopedResource[][] = [];
// dispose() of a stale handle is a no-op, so no unregister is needed after
// an explicit dispose.
const backstop = new FinalizationRegistry<TensorHandle>((handle) => native.dispose(handle));
const backstopped = new WeakSet<ScopedResource>();
// frames.length, shared with the addon (an ArrayBuffer's memory never moves).
const depthCell = new Int32Array(new ArrayBuffer(4));
native.setScopeDepthCell(depthCell);

function registerBackstop(resource: ScopedResource, createdOutsideScopes = false): void {
  if (backstopped.has(resource) || resource.isDisposed) return;
  backstopped.add(resource);
  backstop.register(resource, resource.handle);
  // The addon already reported tensors created outside every scope.
  if (!createdOutsideScopes) native.markExternal(resource.handle);
}

/** Called by every new Tensor: the innermost scope owns it, else the GC backstop. */
export function track(resource: ScopedResource): void {
  const frame = frames[frames.length - 1];
  if (frame !== undefined) frame.push(resource);
  else registerBackstop(resource, true);
}

/** Marks `resource` to survive every enclosing scope; returns it. */
export function keep<T extends ScopedResource>(resource: T): T {
  kept.add(resource);
  registerBackstop(resource);
  return resource;
}

/** Undoes keep(): the resource is freed by the next scope that ends around its later uses. */
export function unkeep<T extends ScopedResource>(resource: T): T {
  kept.delete(resource);
  return resource;
}

/** Whether `value` is a tensor (a resource with a handle), as opposed to a container of them. */
function isTrackedResource(value: object): value is ScopedResource {
  return typeof (value as ScopedResource).dispose === 'function' && 'handle' in value;
}

/**
 * Every object reachable from `value` for which `isLeaf` holds, not looking
 * inside leaves: through arrays, Maps (keys and values), Sets, plain objects
 * and class instances (own enumerable properties), to any depth, each object
 * once (cycles are fine). Typed arrays, ArrayBuffers and functions are skipped.
 */
function collect(value: unknown, isLeaf: (value: object) => boolean): Set<object> {
  const found = new Set<object>();
  const seen = new Set<object>();
  const stack: object[] = [];
  const push = (item: unknown) => {
    if (item !== null && typeof item === 'object') stack.push(item);
  };
  push(value);
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (seen.has(item)) continue;
    seen.add(item);
    if (isLeaf(item)) {
      found.add(item);
    } else if (Array.isArray(item) || item instanceof Set) {
      for (const element of item) push(element);
    } else if (item instanceof Map) {
      for (const [key, element] of item) {
        push(key);
        push(element);
      }
    } else if (!ArrayBuffer.isView(item) && !(item instanceof ArrayBuffer) && !(item instanceof Promise)) {
      for (const key of Object.keys(item)) push((item as Record<string, unknown>)[key]);
    }
  }
  return found;
}

/**
 * Runs `fn` and frees every tensor it created, except what it returns and
 * what it passed to `keep()`. A returned tensor is found anywhere in the
 * returned value: in arrays, Maps (keys and values), Sets, plain objects and
 * class instances (their own enumerable properties), at any depth, cycles
 * included. Tensors reachable only through private `#fields`, getters,
 * closures or WeakMaps are not seen: keep() those. Returned tensors move to
 * the enclosing scope. Scopes nest; an exception still frees everything
 * created inside.
 */
export function scope<T>(fn: () => T): T {
  const frame: ScopedResource[] = [];
  frames.push(frame);
  depthCell[0] = frames.length;
  let result: T;
  let returned: Set<object> | undefined;
  try {
    result = fn();
    assertSync(result, 'scope()', 'Run each synchronous step in its own scope instead.');
    returned = collect(result, isTrackedResource);
  } finally {
    frames.pop();
    depthCell[0] = frames.length;
    const parent = frames[frames.length - 1];
    for (const resource of frame) {
      if (kept.has(resource)) continue;
      if (returned !== undefined && returned.has(resource)) {
        if (parent !== undefined) parent.push(resource);
        else registerBackstop(resource);
        continue;
      }
      resource.dispose();
    }
  }
  return result;
}

/** How deep the current scope nesting is (0 outside any scope). */
export function scopeDepth(): number {
  return frames.length;
}

/**
 * Disposes everything with a dispose() method found in `values` (tensors,
 * modules, optimizers), searching the same structures as scope() does; a
 * disposable found is disposed, not searched further.
 */
export function dispose(...values: unknown[]): void {
  const isDisposable = (value: object) => typeof (value as { dispose?: unknown }).dispose === 'function';
  for (const resource of collect(values, isDisposable)) (resource as { dispose(): void }).dispose();
}

export interface MemoryInfo {
  /** Live JS tensor handles (each view or `.grad` lookup is a handle). */
  liveTensors: number;
  /** Distinct storages held through those handles. */
  storages: number;
  /** Bytes of those storages, by device ('cpu', 'cuda:0', ...). */
  bytes: Record<string, number>;
  /** The caching CPU allocator's counters (large blocks only). */
  cpuCache: CpuCacheStats;
  /** CUDA caching-allocator statistics per device, when CUDA is in use. */
  cuda?: Record<string, CudaMemoryStats>;
}

/** Live tensors and bytes held by JS handles, plus CUDA allocator stats. */
export function memory(): MemoryInfo {
  const info: MemoryInfo = { ...native.memory(), cpuCache: native.cpuAllocatorStats() };
  const devices = native.cudaDeviceCount();
  if (devices > 0) {
    info.cuda = {};
    for (let index = 0; index < devices; index++) info.cuda[`cuda:${index}`] = native.cudaMemoryStats(index);
  }
  return info;
}
