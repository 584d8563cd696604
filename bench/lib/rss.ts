// Peak resident memory of the current process (Linux: VmHWM).
import * as fs from 'node:fs';

export function peakRssBytes(): number {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  if (match === null) throw new Error('cannot read VmHWM from /proc/self/status');
  return Number(match[1]) * 1024;
}
