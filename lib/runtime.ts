// Process-wide settings: threads, CUDA queries, autocast, determinism.
import { dtypeCode, dtypeName, type DType } from './dtype';
import { native, type BuildInfo } from './native';
import { assertSync } from './util/sync';
import { ArgumentRangeError } from './errors';

let buildInfoCache: BuildInfo | undefined;

/** libtorch version and build features (cached). */
export function buildInfo(): BuildInfo {
  buildInfoCache ??= native.buildInfo();
  return buildInfoCache;
}

/** Intra-op threads libtorch uses for CPU kernels. */
export function setNumThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new ArgumentRangeError(`threads must be an integer >= 1, got ${threads}`);
  native.setNumThreads(threads);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

/**
 * Gives idle CPU memory back to the operating system: the blocks the caching
 * CPU allocator keeps for reuse (see the README's "Memory allocator") and free
 * C heap. Call it after a run when the process lives on. Returns true if any
 * memory was released.
 */
export function trimMemory(): boolean {
  return native.trimMemory();
}

export const cuda = {
  /** True when this build has CUDA and a device is visible. */
  isAvailable(): boolean {
    return native.cudaDeviceCount() > 0;
  },
  deviceCount(): number {
    return native.cudaDeviceCount();
  },
  /** True when the addon was compiled against a CUDA libtorch. */
  isCompiled(): boolean {
    return buildInfo().cudaCompiled;
  },
  synchronize(index?: number): void {
    native.cudaSynchronize(index);
  },
  memoryStats(index?: number) {
    return native.cudaMemoryStats(index);
  },
  resetPeakMemoryStats(index?: number): void {
    native.cudaResetPeakStats(index);
  },
  emptyCache(): void {
    native.cudaEmptyCache();
  },
};

/**
 * Runs `fn` under automatic mixed precision on `deviceType` (torch.autocast):
 * matmuls and convolutions run in `dtype` (bfloat16 by default), reductions
 * stay in float32.
 */
export function autocast<T>(deviceType: 'cuda' | 'cpu', fn: () => T, options: { dtype?: DType; enabled?: boolean } = {}): T {
  const [previousEnabled, previousDtype] = native.autocastEnter(deviceType, options.enabled ?? true, dtypeCode(options.dtype ?? 'bfloat16'));
  try {
    const result = fn();
    assertSync(result, 'autocast()');
    return result;
  } finally {
    native.autocastExit(deviceType, previousEnabled, previousDtype);
  }
}

/** The dtype autocast would use on a device (for inspection). */
export function autocastDtypeCode(code: number): DType {
  return dtypeName(code);
}

/** Deterministic algorithms only (errors for ops that have none), like torch.use_deterministic_algorithms. */
export function setDeterministic(enabled: boolean): void {
  native.setDeterministic(enabled);
}

/** cuDNN autotuning of convolution algorithms for fixed input shapes. */
export function setCudnnBenchmark(enabled: boolean): void {
  native.setCudnnBenchmark(enabled);
}

/** 'highest' | 'high' | 'medium': allows TF32 matmuls on Ampere+ GPUs below 'highest'. */
export function setFloat32MatmulPrecision(precision: 'highest' | 'high' | 'medium'): void {
  native.setFloat32MatmulPrecision(precision);
}

/**
 * Flush denormal floats to zero on the CPU (like torch.set_flush_denormal).
 * Denormals are far slower to compute with, and training produces them in
 * decaying buffers. Returns false where the CPU does not support it.
 */
export function setFlushDenormal(enabled: boolean): boolean {
  return native.setFlushDenormal(enabled);
}
