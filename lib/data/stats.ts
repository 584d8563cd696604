// Per-channel statistics for normalisation.
import type { ImageSet } from './types';
import { ArgumentRangeError } from '../errors';

/**
 * Mean and standard deviation per channel (R, G, B) of the pixel values
 * scaled to [0, 1], over every pixel of `set` (population std, like
 * numpy.std). Exact: counted through a 256-bin histogram per channel.
 */
export function channelStats(set: ImageSet): { mean: number[]; std: number[] } {
  if (set.count === 0) throw new ArgumentRangeError('channelStats(): the set has no images');
  const histogram = [new Float64Array(256), new Float64Array(256), new Float64Array(256)] as const;
  const [red, green, blue] = histogram;
  const pixels = set.images;
  for (let i = 0; i < pixels.length; i += 3) {
    red[pixels[i]!]!++;
    green[pixels[i + 1]!]!++;
    blue[pixels[i + 2]!]!++;
  }
  const n = pixels.length / 3;
  const mean: number[] = [];
  const std: number[] = [];
  for (const counts of histogram) {
    let sum = 0;
    for (let v = 0; v < 256; v++) sum += counts[v]! * v;
    const m = sum / n;
    let squares = 0;
    for (let v = 0; v < 256; v++) squares += counts[v]! * (v - m) * (v - m);
    mean.push(m / 255);
    std.push(Math.sqrt(squares / n) / 255);
  }
  return { mean, std };
}
