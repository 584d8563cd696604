// Distributed data-parallel training on c10d: process groups, DDP, the
// sampler, and the torchrun-style launcher behind `npx torchts run`.
export {
  initProcessGroup,
  destroyProcessGroup,
  isInitialized,
  defaultProcessGroup,
  getRank,
  getWorldSize,
  allReduce,
  broadcast,
  allGather,
  barrier,
  distributedSupport,
  resolveProcessGroupOptions,
  ProcessGroup,
  DistributedError,
  DistributedUnavailableError,
  type Backend,
  type ReduceOp,
  type InitProcessGroupOptions,
} from './process-group';
export { DistributedDataParallel, type DistributedDataParallelOptions } from './ddp';
export { DistributedSampler, shardOrder, shardSize, type ShardOptions, type DistributedSamplerOptions } from './sampler';
export { launch, findFreePort, type LaunchOptions, type LaunchResult } from './launcher';
