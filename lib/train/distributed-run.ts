// What the trainer does differently on several processes (train({
// distributed })): each rank trains on its shard of every epoch with the
// same model, kept equal by DistributedDataParallel; rank 0 alone writes the
// run folder, validates, tests and reports, and shares what every rank must
// agree on (the run folder, validation results, when to stop) so all ranks
// take the same decisions at the same step.
import * as os from 'node:os';
import { DistributedDataParallel } from '../distributed/ddp';
import { defaultProcessGroup, initProcessGroup, isInitialized, type InitProcessGroupOptions, type ProcessGroup } from '../distributed/process-group';
import type { ShardOptions } from '../distributed/sampler';
import { scope } from '../memory';
import type { Module } from '../nn/module';
import { tensor } from '../ops/creation';
import type { Tensor } from '../tensor';

/** train({ distributed }): true reads torchrun's environment; an object gives initProcessGroup's options. */
export type DistributedOption = boolean | InitProcessGroupOptions;

export class DistributedRun {
  readonly group: ProcessGroup;
  /** True when this run made the group (and so destroys it at the end). */
  readonly #ownsGroup: boolean;
  ddp: DistributedDataParallel | null = null;

  private constructor(group: ProcessGroup, ownsGroup: boolean) {
    this.group = group;
    this.#ownsGroup = ownsGroup;
  }

  /** The group of `option` (the default group when one exists), or null for a single process. */
  static open(option: DistributedOption | undefined): DistributedRun | null {
    if (option === undefined || option === false) return null;
    if (isInitialized()) return new DistributedRun(defaultProcessGroup(), false);
    return new DistributedRun(initProcessGroup(option === true ? {} : option), true);
  }

  get rank(): number {
    return this.group.rank;
  }

  get worldSize(): number {
    return this.group.worldSize;
  }

  get isMain(): boolean {
    return this.group.rank === 0;
  }

  /** This rank's part of each epoch. */
  get shard(): ShardOptions {
    return { rank: this.group.rank, worldSize: this.group.worldSize };
  }

  /** torchrun's rule: the cores shared among this machine's processes (it sets OMP_NUM_THREADS=1; sharing the cores is faster on CPU). */
  defaultThreads(): number {
    return Math.max(1, Math.floor(os.availableParallelism() / this.group.localWorldSize));
  }

  /** Rank 0's value of `key` on every rank. */
  share(key: string, value: string | undefined): string {
    return this.group.shareString(key, value);
  }

  wrap(model: Module): void {
    this.ddp = new DistributedDataParallel(model, { group: this.group });
  }

  /** Flags every rank raised (logical or): stop together, at the same step. */
  agree(flags: boolean[]): boolean[] {
    return scope(() => {
      const raised = tensor(flags.map((f) => (f ? 1 : 0)), [flags.length], { dtype: 'int32' });
      this.group.allReduce(raised, 'max');
      return Array.from(raised.dataSync() as Int32Array, (v) => v !== 0);
    });
  }

  /** Sums of the epoch's running totals over the ranks (in place). */
  sum(tensors: Tensor[]): void {
    this.group.allReduce(tensors, 'sum');
  }

  /** Rank 0's numbers on every rank (validation results, which only rank 0 computes). */
  fromMain(values: number[]): number[] {
    return scope(() => {
      const shared = tensor(values.map((v) => (Number.isFinite(v) ? v : Number.NaN)), [values.length], { dtype: 'float64' });
      this.group.broadcast(shared, 0);
      return Array.from(shared.dataSync() as Float64Array);
    });
  }

  /** Waits for every rank (e.g. while rank 0 fills the decode cache). */
  barrier(): void {
    this.group.barrier();
  }

  close(): void {
    if (this.#ownsGroup) this.group.destroy();
  }
}
