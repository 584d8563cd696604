// The fuzzer's own seeded PRNG (sfc32). Every mutant is a pure function of
// (run seed, parser, input index), so any input can be regenerated from its
// index alone: the parent re-creates a crashing input to save it, and a run
// can resume anywhere without replaying the inputs before it.

/** FNV-1a over a string, then avalanche-mixed: a 32-bit seed from any label. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    // Warm up so that nearby seeds give unrelated streams.
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** The generator for one input of one parser. */
  static forInput(runSeed: number, parser: string, index: number): Prng {
    return new Prng(hashString(`${runSeed}:${parser}:${index}`));
  }

  nextUint32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** An integer in [0, n); 0 when n <= 0. */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi] inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** Picks by weight: [[weight, value], ...]. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((sum, [w]) => sum + w, 0);
    let x = this.next() * total;
    for (const [w, value] of choices) {
      if (x < w) return value;
      x -= w;
    }
    return choices[choices.length - 1]![1];
  }

  /** Mostly small numbers, sometimes large: lengths and counts for mutations. */
  smallInt(max: number): number {
    const r = this.next();
    if (r < 0.6) return this.range(1, Math.min(max, 4));
    if (r < 0.9) return this.range(1, Math.min(max, 64));
    return this.range(1, Math.max(1, max));
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.nextUint32() & 0xff;
    return out;
  }
}
