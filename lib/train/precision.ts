// How a model runs on a device: bfloat16 autocast or not, channels_last or
// not. Training and later evaluation of its checkpoint share this so that
// `torchts eval` reproduces the test accuracy the trainer printed (bf16 and
// fp32 logits differ in the last digits, which moves a few borderline
// images) and runs as fast as the trainer's own test pass.
import type { Device } from '../device';
import type { TrainConfig } from './config';

export interface Precision {
  /** Device type for bfloat16 autocast; undefined: float32. */
  autocastDevice: 'cuda' | 'cpu' | undefined;
  channelsLast: boolean;
  /** Model weights and inputs' memory format. */
  memoryFormat: 'channelsLast' | 'contiguous';
}

/** Resolves the config's 'auto' choices for `device`: bf16 and channels_last on CUDA, neither on CPU. */
export function resolvePrecision(config: { amp?: TrainConfig['amp']; channelsLast?: TrainConfig['channelsLast'] }, device: Device): Precision {
  const onCuda = device !== 'cpu';
  const amp = config.amp ?? 'off';
  const useAmp = amp === 'bf16' || (amp === 'auto' && onCuda);
  const channelsLast = config.channelsLast === 'auto' ? onCuda : config.channelsLast === true;
  return { autocastDevice: useAmp ? (onCuda ? 'cuda' : 'cpu') : undefined, channelsLast, memoryFormat: channelsLast ? 'channelsLast' : 'contiguous' };
}
