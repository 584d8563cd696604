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

function collectReturned(value: unknown, into: Set<unknown>, depth: number): void {
  if (value === null || typeof value !== 'object' || depth > 8) return;
  if (typeof (value as ScopedResource).dispose === 'function' && !Array.isArray(value)) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collectReturned(item, into, depth + 1);
  } else if (value instanceof Map) {
    for (const item of value.values()) collectReturned(item, into, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) collectReturned(item, into, depth + 1);
  }
}

/**
 * Runs `fn` and frees every tensor it created, except what it returns
 * (tensors directly, or inside arrays, Maps and plain objects) and what it
 * passed to `keep()`. Returned tensors move to the enclosing scope. Scopes
 * nest; an exception still frees everything created inside.
 */
export function scope<T>(fn: () => T): T {
  const frame: ScopedResource[] = [];
  frames.push(frame);
  depthCell[0] = frames.length;
  let result: T;
  let returned: Set<unknown> | undefined;
  try {
    result = fn();
    assertSync(result, 'scope()', 'Run each synchronous step in its own scope instead.');
    returned = new Set();
    collectReturned(result, returned, 0);
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

/** Disposes every resource in `values` (arrays, Maps and plain objects are searched). */
export function dispose(...values: unknown[]): void {
  const found = new Set<unknown>();
  collectReturned(values, found, 0);
  for (const resource of found) (resource as ScopedResource).dispose();
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
