// Which images each rank trains on: PyTorch's DistributedSampler rule. Every
// rank draws the same seeded permutation for the epoch, then takes every
// worldSize-th index from its rank on, so shards are disjoint and together
// cover the epoch. An epoch that does not divide evenly is padded with the
// permutation's first indices (the default, as PyTorch's drop_last=False:
// every image is seen, a few twice) or cut to a multiple of worldSize
// (dropLast: a few images sit the epoch out).
import { ArgumentRangeError, ArgumentTypeError } from '../errors';
import { Rng, RNG_STREAM } from '../data/rng';

export interface ShardOptions {
  rank: number;
  worldSize: number;
  /** Cut the epoch to a multiple of worldSize instead of padding it (default false). */
  dropLast?: boolean;
}

export function checkShard(shard: ShardOptions, what: string): Required<ShardOptions> {
  const { rank, worldSize, dropLast = false } = shard;
  if (!Number.isSafeInteger(worldSize) || worldSize < 1) throw new ArgumentTypeError(`${what}: worldSize must be a positive integer, got ${worldSize}`);
  if (!Number.isSafeInteger(rank) || rank < 0 || rank >= worldSize) throw new ArgumentRangeError(`${what}: rank must be in 0..${worldSize - 1}, got ${rank}`);
  return { rank, worldSize, dropLast };
}

/** Images per rank per epoch for `count` images. */
export function shardSize(count: number, shard: ShardOptions): number {
  const { worldSize, dropLast } = checkShard(shard, 'shardSize');
  return dropLast ? Math.floor(count / worldSize) : Math.ceil(count / worldSize);
}

/**
 * The random stream of one batch or image of an epoch: with a shard it is
 * salted with the rank, so ranks draw different augmentations; without one
 * it is the single-process stream, unchanged.
 */
export function rankedRng(seed: number, stream: number, shard: ShardOptions | null, ...parts: number[]): Rng {
  return shard === null ? new Rng(seed, stream, ...parts) : new Rng(seed, stream, ...parts, shard.rank);
}

/** This rank's part of an epoch's order (the same `order` on every rank). */
export function shardOrder(order: Int32Array, shard: ShardOptions): Int32Array {
  const { rank, worldSize } = checkShard(shard, 'shardOrder');
  const perRank = shardSize(order.length, shard);
  const result = new Int32Array(perRank);
  for (let i = 0; i < perRank; i++) result[i] = order[(rank + i * worldSize) % order.length]!;
  return result;
}

export interface DistributedSamplerOptions extends ShardOptions {
  /** A new seeded permutation each epoch (default true); false keeps 0..N-1. */
  shuffle?: boolean;
  seed?: number;
}

/** Per-epoch indices of this rank's shard of a dataset of `count` items. */
export class DistributedSampler {
  readonly count: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly shard: Required<ShardOptions>;

  constructor(count: number, options: DistributedSamplerOptions) {
    if (!Number.isSafeInteger(count) || count < 1) throw new ArgumentTypeError(`DistributedSampler: count must be a positive integer, got ${count}`);
    this.count = count;
    this.shard = checkShard(options, 'DistributedSampler');
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
  }

  /** Indices per rank per epoch. */
  get numSamples(): number {
    return shardSize(this.count, this.shard);
  }

  indices(epoch: number): Int32Array {
    const order = this.shuffle ? new Rng(this.seed, RNG_STREAM.order, epoch).permutation(this.count) : Int32Array.from({ length: this.count }, (_, i) => i);
    return shardOrder(order, this.shard);
  }
}
