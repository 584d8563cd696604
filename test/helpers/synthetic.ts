// Small synthetic image sets for trainer and CLI tests: each class is a
// colour with noise, so a ResNet learns it in a few epochs.
import type { ImageSet } from '../../lib/data/types';

/** A deterministic PRNG (mulberry32), independent of libtorch. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const COLOURS: [number, number, number][] = [
  [220, 40, 40],
  [40, 200, 60],
  [40, 60, 220],
  [220, 200, 40],
];

export function colourSet(count: number, options: { classes?: number; size?: number; height?: number; width?: number; seed?: number; noise?: number } = {}): ImageSet {
  const classes = options.classes ?? 3;
  const height = options.height ?? options.size ?? 32;
  const width = options.width ?? options.size ?? 32;
  const noise = options.noise ?? 60;
  const next = random(options.seed ?? 1);
  const images = new Uint8Array(count * height * width * 3);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const label = n % classes;
    labels[n] = label;
    const colour = COLOURS[label]!;
    for (let p = 0; p < height * width; p++) {
      for (let c = 0; c < 3; c++) {
        const value = colour[c]! + (next() - 0.5) * 2 * noise;
        images[(n * height * width + p) * 3 + c] = Math.max(0, Math.min(255, Math.round(value)));
      }
    }
  }
  return { images, labels, count, height, width, channels: 3, classNames: ['red', 'green', 'blue', 'yellow'].slice(0, classes) };
}
