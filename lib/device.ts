// Devices: 'cpu', 'cuda' (the current CUDA device) and 'cuda:N'.
import { native } from './native';
import { ArgumentTypeError } from './errors';

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

const DEVICE_PATTERN = /^(cpu|cuda)(:\d+)?$/;

export function isDevice(value: unknown): value is Device {
  return typeof value === 'string' && DEVICE_PATTERN.test(value) && !value.startsWith('cpu:');
}

export class DeviceUnavailableError extends Error {
  readonly code = 'ERR_TORCHTS_NO_CUDA';
  constructor(device: string, reason: string) {
    super(`cannot use device '${device}': ${reason}`);
    this.name = 'DeviceUnavailableError';
  }
}

/**
 * Checks a device string, with a message that lists the valid forms, and
 * that a CUDA device exists (libtorch's own error for a missing backend is
 * a page of dispatcher internals).
 */
export function checkDevice(value: unknown, what = 'device'): Device {
  if (!isDevice(value)) {
    throw new ArgumentTypeError(`${what} must be 'cpu', 'cuda' or 'cuda:N', got ${JSON.stringify(value)}`);
  }
  if (value !== 'cpu') {
    const count = native.cudaDeviceCount();
    const index = value === 'cuda' ? 0 : Number(value.slice(5));
    if (count === 0) {
      const reason = native.buildInfo().cudaCompiled
        ? 'no CUDA device is visible (check the driver and CUDA_VISIBLE_DEVICES)'
        : 'this torchts build uses a CPU-only libtorch; rebuild against a CUDA libtorch (see README, CUDA)';
      throw new DeviceUnavailableError(value, reason);
    }
    if (index >= count) throw new DeviceUnavailableError(value, `only ${count} CUDA device(s) are visible`);
  }
  return value;
}

export function deviceType(device: string): 'cpu' | 'cuda' {
  return device.startsWith('cuda') ? 'cuda' : 'cpu';
}
