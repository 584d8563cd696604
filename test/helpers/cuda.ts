// A CUDA device that does not exist on this machine, whatever it has, and
// the reason torchts must give for refusing it: so tests of that error hold
// on CPU-only builds, CUDA builds without a GPU, and GPU machines alike.
import * as tt from '../../lib';

export interface MissingCudaDevice {
  /** One past the last visible device: 'cuda:0' with no GPU, 'cuda:1' with one. */
  device: tt.Device;
  /** The reason the refusal must name. */
  reason: RegExp;
}

export function missingCudaDevice(): MissingCudaDevice {
  const count = tt.cuda.deviceCount();
  const device = `cuda:${count}` as tt.Device;
  if (count > 0) return { device, reason: new RegExp(`cannot use device 'cuda:${count}': only ${count} CUDA device\\(s\\) are visible`) };
  if (tt.cuda.isCompiled()) return { device, reason: /cannot use device 'cuda:0': no CUDA device is visible \(check the driver and CUDA_VISIBLE_DEVICES\)/ };
  return { device, reason: /cannot use device 'cuda:0': this torchts build uses a CPU-only libtorch; rebuild against a CUDA libtorch/ };
}
