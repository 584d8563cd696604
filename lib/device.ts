// Devices: 'cpu', 'cuda' (the current CUDA device) and 'cuda:N'.

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

const DEVICE_PATTERN = /^(cpu|cuda)(:\d+)?$/;

export function isDevice(value: unknown): value is Device {
  return typeof value === 'string' && DEVICE_PATTERN.test(value) && !value.startsWith('cpu:');
}

/** Checks a device string, with a message that lists the valid forms. */
export function checkDevice(value: unknown, what = 'device'): Device {
  if (!isDevice(value)) {
    throw new TypeError(`${what} must be 'cpu', 'cuda' or 'cuda:N', got ${JSON.stringify(value)}`);
  }
  return value;
}

export function deviceType(device: string): 'cpu' | 'cuda' {
  return device.startsWith('cuda') ? 'cuda' : 'cpu';
}
