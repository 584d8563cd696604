// A small seeded PRNG (xoshiro128**, Blackman & Vigna) for data order and
// augmentation parameters. It lives in JS, apart from libtorch's global
// generator, so the batches of an epoch depend only on (seed, epoch, ...)
// and not on what else drew random numbers (weight init, dropout).
import { ArgumentRangeError, ArgumentTypeError } from '../errors';

/** splitmix32-style finaliser: spreads every input bit over the output. */
function mix32(value: number): number {
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** Splits a non-negative safe integer into its low and high 32-bit words. */
function words(value: number): [number, number] {
  return [value >>> 0, Math.floor(value / 0x1_0000_0000) >>> 0];
}

export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /**
   * A generator for `seed` and a list of stream numbers (e.g. an epoch and
   * a purpose): different streams are independent, equal ones repeat.
   */
  constructor(seed: number, ...streams: number[]) {
    for (const value of [seed, ...streams]) {
      if (!Number.isSafeInteger(value) || value < 0) throw new ArgumentTypeError(`Rng: seeds and streams must be non-negative integers, got ${value}`);
    }
    let h = 0x9e3779b9;
    for (const value of [seed, ...streams]) {
      for (const word of words(value)) h = mix32(h ^ mix32(word + 0x7f4a7c15));
      h = mix32(h + 0x632be5ab);
    }
    const state: number[] = [];
    for (let i = 0; i < 4; i++) {
      h = (h + 0x9e3779b9) >>> 0;
      state.push(mix32(h));
    }
    if (!state.some((word) => word !== 0)) state[0] = 1; // xoshiro's one forbidden state
    [this.#s0, this.#s1, this.#s2, this.#s3] = state as [number, number, number, number];
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** Uniform in [0, 1), with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.nextFloat();
  }

  /** A uniform integer in [0, n), without modulo bias (n <= 2^32). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x1_0000_0000) throw new ArgumentRangeError(`Rng.nextInt: n must be an integer in [1, 2^32], got ${n}`);
    // Rejection sampling on the largest multiple of n below 2^32.
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
    for (;;) {
      const value = this.nextUint32();
      if (value < limit) return value % n;
    }
  }

  /** True with probability p. */
  bernoulli(p = 0.5): boolean {
    return this.nextFloat() < p;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const result = new Int32Array(n);
    for (let i = 0; i < n; i++) result[i] = i;
    this.shuffle(result);
    return result;
  }

  /** Shuffles `values` in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number; [index: number]: number }>(values: T): T {
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const swap = values[i]!;
      values[i] = values[j]!;
      values[j] = swap;
    }
    return values;
  }
}

function rotl(value: number, shift: number): number {
  return ((value << shift) | (value >>> (32 - shift))) >>> 0;
}

/** Stream numbers that keep the generator's uses apart. */
export const RNG_STREAM = {
  order: 1,
  augment: 2,
  split: 3,
  /** The streaming loader's per-image crops, drawn in its decode workers. */
  crop: 4,
} as const;
