// Loads the compiled addon and describes its functions' types.
//
// Handles are opaque: the addon hands out type-tagged externals and checks the
// tag on every call, so passing the wrong kind of handle is a JS error.
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A native tensor handle: a number encoding a slot of the addon's tensor
 * table and its generation (stale handles are detected, never dereferenced).
 */
export type TensorHandle = number & { readonly __tensorHandle: unique symbol };
/** An opaque native module handle (a type-tagged external). */
export type ModuleHandle = { readonly __moduleHandle: unique symbol };
/** An opaque native optimizer handle (a type-tagged external). */
export type OptimizerHandle = { readonly __optimizerHandle: unique symbol };

/** An opaque native c10d process group handle (a type-tagged external). */
export type ProcessGroupHandle = { readonly __processGroupHandle: unique symbol };

/** What distributed support this build has (native/distributed.cc). */
export interface DistributedSupport {
  available: boolean;
  backends: string[];
  /** Why it is unavailable, when it is. */
  reason?: string;
}

export interface DistInitOptions {
  host: string;
  port: number;
  rank: number;
  worldSize: number;
  timeoutMs: number;
  /** Network interface for Gloo (GLOO_SOCKET_IFNAME); default: loopback for 127.0.0.1/localhost, else the hostname's address. */
  interface?: string;
  /** Gloo worker threads (default 2). */
  threads?: number;
}

/** A value read from a PyTorch pickle (lib/io/pytorch.ts interprets it). */
export type PickledValue =
  | null
  | boolean
  | number
  | string
  | { kind: 'tensor'; handle: TensorHandle }
  | { kind: 'list' | 'tuple'; items: PickledValue[] }
  | { kind: 'dict'; entries: [PickledValue, PickledValue][]; attributes?: PickledValue }
  | { kind: 'global' | 'storage' | 'bytes' | 'mark' };

export interface NativeMemory {
  liveTensors: number;
  storages: number;
  bytes: Record<string, number>;
}

export interface CudaMemoryStats {
  allocated: number;
  peakAllocated: number;
  reserved: number;
  peakReserved: number;
}

export interface BuildInfo {
  torch: string;
  cudaCompiled: boolean;
  mkldnn: boolean;
  openmp: boolean;
  parallel: string;
  config: string;
  /** Whether large CPU blocks go through torchts's caching allocator (off with TORCHTS_CPU_CACHE_LIMIT=0). */
  cpuAllocatorCaching: boolean;
  /** What the CPU allocator set-up did, in words. */
  cpuAllocator: string;
}

/** The caching CPU allocator's counters (bytes and request counts). */
export interface CpuCacheStats {
  /** Bytes in large blocks handed out and not yet freed. */
  liveBytes: number;
  /** Bytes in freed large blocks kept for reuse. */
  idleBytes: number;
  /** Most idle bytes kept before the longest-idle blocks are freed. */
  idleLimit: number;
  /** Large-block requests served from idle blocks. */
  hits: number;
  /** Large-block requests that needed new memory. */
  misses: number;
}

export interface NativeBinding {
  // tensor.cc
  fromBytes(data: ArrayBufferView | ArrayBuffer, shape: readonly number[], dtype: number): TensorHandle;
  toArrayBuffer(t: TensorHandle): ArrayBuffer;
  item(t: TensorHandle): number | boolean;
  shape(t: TensorHandle): number[];
  strides(t: TensorHandle): number[];
  dim(t: TensorHandle): number;
  numel(t: TensorHandle): number;
  dtype(t: TensorHandle): number;
  device(t: TensorHandle): string;
  isContiguous(t: TensorHandle, memoryFormat?: number): boolean;
  requiresGrad(t: TensorHandle): boolean;
  setRequiresGrad(t: TensorHandle, value: boolean): void;
  isLeaf(t: TensorHandle): boolean;
  gradFn(t: TensorHandle): string | null;
  grad(t: TensorHandle): TensorHandle | null;
  gradIs(t: TensorHandle, candidate: TensorHandle): boolean;
  setGrad(t: TensorHandle, grad: TensorHandle | null): void;
  retainGrad(t: TensorHandle): void;
  setData(t: TensorHandle, source: TensorHandle): void;
  backward(roots: TensorHandle[], grads: (TensorHandle | null)[] | undefined, retainGraph?: boolean, createGraph?: boolean): void;
  /** Frees the handle's slot; false (not an error) when it was already freed. */
  dispose(t: TensorHandle): boolean;
  markExternal(t: TensorHandle): void;
  setScopeDepthCell(cell: Int32Array): void;
  isDisposed(t: TensorHandle): boolean;
  sameTensor(a: TensorHandle, b: TensorHandle): boolean;
  memory(): NativeMemory;
  // ops.cc
  resolveOp(name: string, overload?: string): number;
  opSchema(id: number): string;
  opReturns(id: number): ('tensor' | 'tensors' | 'value')[];
  callOp(id: number, ...args: unknown[]): unknown;
  opOverloads(name: string): string[];
  // runtime.cc
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setNumInteropThreads(n: number): void;
  cudaDeviceCount(): number;
  cudaSynchronize(index?: number): void;
  cudaMemoryStats(index?: number): CudaMemoryStats;
  cudaEmptyCache(): void;
  trimMemory(): boolean;
  cpuAllocatorStats(): CpuCacheStats;
  cudaResetPeakStats(index?: number): void;
  setGradEnabled(enabled: boolean): boolean;
  isGradEnabled(): boolean;
  pushInferenceMode(): void;
  popInferenceMode(): void;
  isInferenceMode(): boolean;
  autocastEnter(deviceType: string, enabled: boolean, dtype: number): [boolean, number];
  autocastExit(deviceType: string, previousEnabled: boolean, previousDtype: number): void;
  manualSeed(seed: number): void;
  getRngState(device?: string): TensorHandle;
  setRngState(state: TensorHandle, device?: string): void;
  setDeterministic(enabled: boolean): void;
  setCudnnBenchmark(enabled: boolean): void;
  setFloat32MatmulPrecision(precision: string): void;
  setFlushDenormal(enabled: boolean): boolean;
  buildInfo(): BuildInfo;
  // modules.cc
  createModule(kind: string, options: Record<string, unknown>): ModuleHandle;
  moduleForward(module: ModuleHandle, input: TensorHandle): TensorHandle;
  moduleParameters(module: ModuleHandle): [string, TensorHandle][];
  moduleBuffers(module: ModuleHandle): [string, TensorHandle][];
  moduleTrain(module: ModuleHandle, training: boolean): void;
  moduleIsTraining(module: ModuleHandle): boolean;
  moduleDescribe(module: ModuleHandle): string;
  moduleRelease(module: ModuleHandle): void;
  // optim.cc
  createOptimizer(kind: string, groups: { params: TensorHandle[]; options?: Record<string, unknown> }[], defaults: Record<string, unknown>): OptimizerHandle;
  optimizerStep(optimizer: OptimizerHandle): void;
  optimizerZeroGrad(optimizer: OptimizerHandle, setToNone?: boolean): void;
  optimizerGroupCount(optimizer: OptimizerHandle): number;
  optimizerGetOptions(optimizer: OptimizerHandle, group: number): Record<string, unknown>;
  optimizerSetOptions(optimizer: OptimizerHandle, group: number, options: Record<string, unknown>): void;
  optimizerGetState(optimizer: OptimizerHandle): [number, string, TensorHandle][];
  optimizerSetState(optimizer: OptimizerHandle, entries: [number, string, TensorHandle][]): void;
  // serialize.cc
  loadPt(path: string): PickledValue;
  savePt(path: string, names: string[], tensors: TensorHandle[]): void;
  // distributed.cc (all but distSupport exist only in builds with Gloo)
  distSupport(): DistributedSupport;
  distInit?(options: DistInitOptions): ProcessGroupHandle;
  distDestroy?(group: ProcessGroupHandle): void;
  distAllReduce?(group: ProcessGroupHandle, tensors: TensorHandle[], op: 'sum' | 'max' | 'min' | 'product'): void;
  distBroadcast?(group: ProcessGroupHandle, tensors: TensorHandle[], root: number): void;
  distAllGather?(group: ProcessGroupHandle, tensor: TensorHandle): TensorHandle[];
  distBarrier?(group: ProcessGroupHandle): void;
  distReduceGradients?(group: ProcessGroupHandle, params: TensorHandle[], bucketBytes: number): number;
  distStoreSet?(group: ProcessGroupHandle, key: string, value: string): void;
  distStoreGet?(group: ProcessGroupHandle, key: string): string;
}

function packageRoot(): string {
  // lib/native.ts (tests, ts-node) or dist/lib/native.js (compiled).
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'torchts') return dir;
    dir = path.dirname(dir);
  }
  throw new Error('torchts: cannot locate the package root from ' + __dirname);
}

/** torchts' own version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

function addonPath(): string {
  const override = process.env.TORCHTS_ADDON;
  if (override) return path.resolve(override);
  return path.join(packageRoot(), 'build', 'Release', 'torchts.node');
}

function load(): NativeBinding {
  const file = addonPath();
  if (!fs.existsSync(file)) {
    throw new Error(
      `torchts: the native addon is not built (${file} is missing).\n` +
        'Build it with `npm run build` in the torchts package (it finds libtorch; see README.md).\n' +
        'Installed as a dependency: `npm rebuild torchts` (if npm held back its install script,\n' +
        'approve it first: `npm install-scripts approve torchts`).',
    );
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as NativeBinding;
  } catch (error) {
    throw new Error(
      `torchts: the native addon ${file} failed to load: ${(error as Error).message}\n` +
        'Rebuild it with `npm run build`; if libtorch moved, set LIBTORCH and rebuild.',
    );
  }
}

/** The loaded addon (loaded once per thread on first import). */
export const native: NativeBinding = load();
