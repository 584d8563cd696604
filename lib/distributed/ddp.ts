// DistributedDataParallel: the same model on every rank, each training on
// its own shard of the batch, gradients averaged after backward so every
// rank takes the same optimizer step. As in PyTorch's DDP:
// - parameters and buffers are broadcast from rank 0 when it is built, so
//   all ranks start equal whatever their seeds;
// - gradients are averaged in buckets of bucketCapMb (25 MB), filled in
//   reverse registration order, each bucket flattened into one all-reduce,
//   the buckets all in flight at once (native/distributed.cc);
// - with broadcastBuffers (default), rank 0's buffers (BatchNorm running
//   statistics) are copied to every rank before each training forward.
// Unlike PyTorch's, the all-reduce starts after backward rather than
// overlapping it (BENCHMARKS.md measures what overlap could save here).
import { ArgumentTypeError } from '../errors';
import type { Module } from '../nn/module';
import type { Tensor } from '../tensor';
import { defaultProcessGroup, type ProcessGroup } from './process-group';

export interface DistributedDataParallelOptions {
  /** Default: the default group (initProcessGroup()). */
  group?: ProcessGroup;
  /** Bucket size for the gradient all-reduce, in MB (default 25, as PyTorch). */
  bucketCapMb?: number;
  /** Copy rank 0's buffers to every rank before each training forward (default true, as PyTorch). */
  broadcastBuffers?: boolean;
}

export class DistributedDataParallel<M extends Module = Module> {
  readonly module: M;
  readonly group: ProcessGroup;
  readonly bucketBytes: number;
  readonly broadcastBuffers: boolean;
  /** Buckets of the last gradient reduction. */
  lastBucketCount = 0;

  constructor(module: M, options: DistributedDataParallelOptions = {}) {
    const bucketCapMb = options.bucketCapMb ?? 25;
    if (!(bucketCapMb > 0) || !Number.isFinite(bucketCapMb)) throw new ArgumentTypeError(`DistributedDataParallel: bucketCapMb must be a positive number, got ${bucketCapMb}`);
    this.module = module;
    this.group = options.group ?? defaultProcessGroup();
    this.bucketBytes = Math.max(1, Math.round(bucketCapMb * 1024 * 1024));
    this.broadcastBuffers = options.broadcastBuffers ?? true;
    this.syncState();
  }

  /** Copies rank 0's parameters and buffers to every rank. */
  syncState(): void {
    this.group.broadcast([...this.module.parameters(), ...this.module.buffers()], 0);
  }

  /** Copies rank 0's buffers to every rank (before a training forward, and before evaluating). */
  syncBuffers(): void {
    const buffers = this.module.buffers();
    if (buffers.length > 0) this.group.broadcast(buffers, 0);
  }

  /** The wrapped module's forward, after the buffer broadcast when training. */
  forward(input: Tensor): Tensor {
    if (this.broadcastBuffers && this.module.training) this.syncBuffers();
    return this.module.forward(input);
  }

  /** Averages the trainable parameters' gradients across ranks; call it after backward(). */
  syncGradients(): void {
    const trainable = this.module.parameters().filter((p) => p.requiresGrad);
    this.lastBucketCount = this.group.reduceGradients(trainable, this.bucketBytes);
  }

  /** loss.backward(), then syncGradients(). */
  backward(loss: Tensor): void {
    loss.backward();
    this.syncGradients();
  }
}
