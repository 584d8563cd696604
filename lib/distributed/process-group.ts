// Process groups on c10d (native/distributed.cc): rendezvous through a
// TCPStore served by rank 0, collectives through ProcessGroupGloo.
//
// The environment convention is torchrun's, so a script started by
// `npx torchts run` (or by torchrun itself, or a cluster scheduler that sets
// the same variables) needs no arguments: MASTER_ADDR, MASTER_PORT, RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE.
import { ArgumentRangeError, ArgumentTypeError } from '../errors';
import { native, type DistInitOptions, type ProcessGroupHandle, type TensorHandle } from '../native';
import { Tensor } from '../tensor';

/** A c10d failure: a rank that died or never came, a timeout, a port in use. `code` says which. */
export class DistributedError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = 'DistributedError';
    this.code = code;
  }
}

/** This build of torchts has no distributed support (see `reason`). */
export class DistributedUnavailableError extends Error {
  readonly code = 'ERR_TORCHTS_NO_DISTRIBUTED';
  constructor(reason: string) {
    super(reason);
    this.name = 'DistributedUnavailableError';
  }
}

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'avg' | 'max' | 'min' | 'product';

export interface InitProcessGroupOptions {
  /** 'gloo' (CPU, and CUDA tensors through host copies). 'nccl' is not built yet: a clear error. Default 'gloo'. */
  backend?: Backend;
  /** Default: $MASTER_ADDR, else 127.0.0.1. */
  masterAddr?: string;
  /** Default: $MASTER_PORT, else 29500 (c10d's default). */
  masterPort?: number;
  /** Default: $RANK. */
  rank?: number;
  /** Default: $WORLD_SIZE. */
  worldSize?: number;
  /** Default: $LOCAL_RANK, else rank. */
  localRank?: number;
  /** Default: $LOCAL_WORLD_SIZE, else worldSize. */
  localWorldSize?: number;
  /**
   * How long a rendezvous or collective waits for the other ranks before
   * failing (ms). Default: $TORCHTS_DIST_TIMEOUT_MS, else 30 minutes
   * (PyTorch's default for Gloo); tests use a few seconds.
   */
  timeoutMs?: number;
  /** Network interface Gloo binds (default $GLOO_SOCKET_IFNAME; loopback when masterAddr is local). */
  interface?: string;
}

const DEFAULT_PORT = 29500;
const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;

interface DistFunctions {
  init(options: DistInitOptions): ProcessGroupHandle;
  destroy(group: ProcessGroupHandle): void;
  allReduce(group: ProcessGroupHandle, tensors: TensorHandle[], op: 'sum' | 'max' | 'min' | 'product'): void;
  broadcast(group: ProcessGroupHandle, tensors: TensorHandle[], root: number): void;
  allGather(group: ProcessGroupHandle, tensor: TensorHandle): TensorHandle[];
  barrier(group: ProcessGroupHandle): void;
  reduceGradients(group: ProcessGroupHandle, params: TensorHandle[], bucketBytes: number): number;
  storeSet(group: ProcessGroupHandle, key: string, value: string): void;
  storeGet(group: ProcessGroupHandle, key: string): string;
}

/** Whether this build can run distributed, and if not, why. */
export function distributedSupport(): { available: boolean; backends: string[]; reason?: string } {
  return native.distSupport();
}

function distFunctions(): DistFunctions {
  const support = native.distSupport();
  const n = native;
  if (!support.available || n.distInit === undefined) throw new DistributedUnavailableError(support.reason ?? 'this build of torchts has no distributed support');
  return {
    init: n.distInit,
    destroy: n.distDestroy!,
    allReduce: n.distAllReduce!,
    broadcast: n.distBroadcast!,
    allGather: n.distAllGather!,
    barrier: n.distBarrier!,
    reduceGradients: n.distReduceGradients!,
    storeSet: n.distStoreSet!,
    storeGet: n.distStoreGet!,
  };
}

/** Native failures carry a code (ERR_TORCHTS_DIST_*): those become DistributedErrors. */
function translated<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_TORCHTS_DIST')) throw new DistributedError((error as Error).message, code);
    throw error;
  }
}

function integerFrom(value: number | undefined, variable: string, fallback?: number): number {
  const raw = value ?? (process.env[variable] !== undefined && process.env[variable] !== '' ? Number(process.env[variable]) : fallback);
  if (raw === undefined) throw new ArgumentTypeError(`initProcessGroup: ${variable} is not set (run under \`npx torchts run\` or torchrun, or pass it as an option)`);
  if (!Number.isSafeInteger(raw)) throw new ArgumentTypeError(`initProcessGroup: ${variable} must be an integer, got ${JSON.stringify(process.env[variable] ?? value)}`);
  return raw;
}

/** The options with the environment's values filled in and checked. */
export function resolveProcessGroupOptions(options: InitProcessGroupOptions = {}): Required<Omit<InitProcessGroupOptions, 'interface'>> & { interface?: string } {
  const backend = options.backend ?? 'gloo';
  if (backend !== 'gloo' && backend !== 'nccl') throw new ArgumentTypeError(`initProcessGroup: backend must be 'gloo' or 'nccl', got ${JSON.stringify(backend)}`);
  const worldSize = integerFrom(options.worldSize, 'WORLD_SIZE');
  const rank = integerFrom(options.rank, 'RANK');
  if (worldSize < 1) throw new ArgumentRangeError(`initProcessGroup: WORLD_SIZE must be >= 1, got ${worldSize}`);
  if (rank < 0 || rank >= worldSize) throw new ArgumentRangeError(`initProcessGroup: RANK must be in 0..${worldSize - 1}, got ${rank}`);
  const masterPort = integerFrom(options.masterPort, 'MASTER_PORT', DEFAULT_PORT);
  if (masterPort < 1 || masterPort > 65535) throw new ArgumentRangeError(`initProcessGroup: MASTER_PORT must be in 1..65535, got ${masterPort}`);
  const timeoutMs = integerFrom(options.timeoutMs, 'TORCHTS_DIST_TIMEOUT_MS', DEFAULT_TIMEOUT_MS);
  if (timeoutMs < 1) throw new ArgumentRangeError(`initProcessGroup: timeoutMs must be >= 1, got ${timeoutMs}`);
  const localWorldSize = integerFrom(options.localWorldSize, 'LOCAL_WORLD_SIZE', worldSize);
  const localRank = integerFrom(options.localRank, 'LOCAL_RANK', rank);
  const iface = options.interface ?? (process.env.GLOO_SOCKET_IFNAME || undefined);
  return {
    backend,
    masterAddr: options.masterAddr ?? (process.env.MASTER_ADDR || '127.0.0.1'),
    masterPort,
    rank,
    worldSize,
    localRank,
    localWorldSize,
    timeoutMs,
    ...(iface === undefined ? {} : { interface: iface }),
  };
}

/** One group of ranks that run collectives together. */
export class ProcessGroup {
  readonly backend: Backend;
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  readonly localWorldSize: number;
  readonly timeoutMs: number;
  #handle: ProcessGroupHandle | null;
  readonly #dist: DistFunctions;

  constructor(options: InitProcessGroupOptions = {}) {
    const resolved = resolveProcessGroupOptions(options);
    if (resolved.backend === 'nccl') {
      throw new DistributedUnavailableError("the 'nccl' backend is not built into torchts yet; use 'gloo' (it also handles CUDA tensors, through host copies)");
    }
    this.#dist = distFunctions();
    const { masterAddr: host, masterPort: port, rank, worldSize, timeoutMs } = resolved;
    this.#handle = translated(() =>
      this.#dist.init({ host, port, rank, worldSize, timeoutMs, ...(resolved.interface === undefined ? {} : { interface: resolved.interface }) }),
    );
    this.backend = resolved.backend;
    this.rank = rank;
    this.worldSize = worldSize;
    this.localRank = resolved.localRank;
    this.localWorldSize = resolved.localWorldSize;
    this.timeoutMs = timeoutMs;
  }

  private get handle(): ProcessGroupHandle {
    if (this.#handle === null) throw new DistributedError('the process group was destroyed', 'ERR_TORCHTS_DIST_DESTROYED');
    return this.#handle;
  }

  get isDestroyed(): boolean {
    return this.#handle === null;
  }

  /** Reduces `tensors` in place across ranks ('avg' is a sum divided by the world size: Gloo has no AVG). */
  allReduce(tensors: Tensor | Tensor[], op: ReduceOp = 'sum'): void {
    const list = Array.isArray(tensors) ? tensors : [tensors];
    if (!['sum', 'avg', 'max', 'min', 'product'].includes(op)) throw new ArgumentTypeError(`allReduce: op must be sum, avg, max, min or product, got ${JSON.stringify(op)}`);
    translated(() => this.#dist.allReduce(this.handle, list.map((t) => t.handle), op === 'avg' ? 'sum' : op));
    if (op === 'avg') for (const t of list) t.div_(this.worldSize);
  }

  /** Copies rank `src`'s values into `tensors` on every rank (coalesced by dtype and device). */
  broadcast(tensors: Tensor | Tensor[], src = 0): void {
    const list = Array.isArray(tensors) ? tensors : [tensors];
    if (list.length === 0) return;
    translated(() => this.#dist.broadcast(this.handle, list.map((t) => t.handle), src));
  }

  /** Every rank's `tensor`, in rank order (new tensors, owned by the caller). */
  allGather(tensor: Tensor): Tensor[] {
    return translated(() => this.#dist.allGather(this.handle, tensor.handle)).map((h) => Tensor.fromHandle(h));
  }

  /** Returns once every rank has called it. */
  barrier(): void {
    translated(() => this.#dist.barrier(this.handle));
  }

  /** Averages the parameters' gradients across ranks in buckets of up to `bucketBytes` (DDP's reducer; see DistributedDataParallel). */
  reduceGradients(parameters: Tensor[], bucketBytes: number): number {
    return translated(() => this.#dist.reduceGradients(this.handle, parameters.map((t) => t.handle), bucketBytes));
  }

  /** Rank `src` shares a string with every rank, through the rendezvous store. */
  shareString(key: string, value: string | undefined, src = 0): string {
    if (this.rank === src) {
      if (value === undefined) throw new ArgumentTypeError(`shareString: rank ${src} must give the value of '${key}'`);
      translated(() => this.#dist.storeSet(this.handle, key, value));
      return value;
    }
    return translated(() => this.#dist.storeGet(this.handle, key));
  }

  /** Leaves the group (idempotent). Other ranks' later collectives fail instead of waiting. */
  destroy(): void {
    if (this.#handle === null) return;
    this.#dist.destroy(this.#handle);
    this.#handle = null;
  }
}

let defaultGroup: ProcessGroup | null = null;

/** Joins the default process group (torchrun's environment unless options say otherwise); see InitProcessGroupOptions. */
export function initProcessGroup(options: InitProcessGroupOptions = {}): ProcessGroup {
  if (defaultGroup !== null && !defaultGroup.isDestroyed) throw new DistributedError('the default process group is already initialized (destroyProcessGroup() first)', 'ERR_TORCHTS_DIST_INITIALIZED');
  defaultGroup = new ProcessGroup(options);
  return defaultGroup;
}

export function isInitialized(): boolean {
  return defaultGroup !== null && !defaultGroup.isDestroyed;
}

/** The default group; throws when initProcessGroup() has not run. */
export function defaultProcessGroup(): ProcessGroup {
  if (defaultGroup === null || defaultGroup.isDestroyed) throw new DistributedError('no process group: call initProcessGroup() first', 'ERR_TORCHTS_DIST_UNINITIALIZED');
  return defaultGroup;
}

/** This process's rank in the default group (0 when there is none, as for a single process). */
export function getRank(): number {
  return isInitialized() ? defaultGroup!.rank : 0;
}

/** The default group's size (1 when there is none). */
export function getWorldSize(): number {
  return isInitialized() ? defaultGroup!.worldSize : 1;
}

export function allReduce(tensors: Tensor | Tensor[], op: ReduceOp = 'sum'): void {
  defaultProcessGroup().allReduce(tensors, op);
}

export function broadcast(tensors: Tensor | Tensor[], src = 0): void {
  defaultProcessGroup().broadcast(tensors, src);
}

export function allGather(tensor: Tensor): Tensor[] {
  return defaultProcessGroup().allGather(tensor);
}

export function barrier(): void {
  defaultProcessGroup().barrier();
}

export function destroyProcessGroup(): void {
  defaultGroup?.destroy();
  defaultGroup = null;
}
