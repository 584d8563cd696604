// How a model runs on a device: bfloat16 autocast or not, channels_last or
// not. Training and later evaluation of its checkpoint share this so that
// `torchts eval` reproduces the test accuracy the trainer printed (bf16 and
// fp32 logits differ in the last digits, which moves a few borderline
// images) and runs as fast as the trainer's own test pass.
import * as fs from 'node:fs';
import type { Device } from '../device';
import type { TrainConfig } from './config';

let nativeBf16: boolean | undefined;

/**
 * Whether this CPU has bfloat16 dot products (AVX512-BF16 or AMX). Without
 * them libtorch's bf16 convolutions and matmuls fall back to reference
 * kernels: a ResNet-18 train step measured 13x slower than float32 on an
 * AVX2-only EPYC (37 against 490 img/s, BENCHMARKS.md), where an AVX512-BF16
 * one ran bf16 1.4x faster than float32. Linux only (/proc/cpuinfo); false elsewhere.
 */
export function cpuHasNativeBf16(): boolean {
  if (nativeBf16 === undefined) {
    try {
      const flags = / flags\s*:(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
      nativeBf16 = /\b(avx512_bf16|amx_bf16)\b/.test(flags);
    } catch {
      nativeBf16 = false;
    }
  }
  return nativeBf16;
}

export interface Precision {
  /** Device type for bfloat16 autocast; undefined: float32. */
  autocastDevice: 'cuda' | 'cpu' | undefined;
  channelsLast: boolean;
  /** Model weights and inputs' memory format. */
  memoryFormat: 'channelsLast' | 'contiguous';
}

/** Resolves the config's 'auto' choices for `device`: bf16 on CUDA and on CPUs with native bf16; channels_last on CUDA. */
export function resolvePrecision(config: { amp?: TrainConfig['amp']; channelsLast?: TrainConfig['channelsLast'] }, device: Device): Precision {
  const onCuda = device !== 'cpu';
  const amp = config.amp ?? 'off';
  const useAmp = amp === 'bf16' || (amp === 'auto' && (onCuda || cpuHasNativeBf16()));
  const channelsLast = config.channelsLast === 'auto' ? onCuda : config.channelsLast === true;
  return { autocastDevice: useAmp ? (onCuda ? 'cuda' : 'cpu') : undefined, channelsLast, memoryFormat: channelsLast ? 'channelsLast' : 'contiguous' };
}
