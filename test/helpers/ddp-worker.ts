// One rank of test/distributed.test.ts, started as its own process (RANK,
// WORLD_SIZE, MASTER_ADDR, MASTER_PORT in the environment, as torchrun sets
// them). argv: <inputs.safetensors> <outputs.safetensors> <mode> [json].
// Modes:
//   train  DDP training: the inputs' initial weights, this rank's batches
//          x.<rank>.<step> / y.<rank>.<step>, SGD; rank 0 writes the final
//          parameters and buffers.
//   single one process, no group: batch <step> is every rank's batch of that
//          step concatenated (the 2B-batch equivalent of 2-rank DDP).
//   collectives  allReduce/broadcast/allGather/barrier results.
//   die-after    trains, and rank `dieRank` exits abruptly at step `dieStep`.
import * as tt from '../../lib';
import { readSafetensorsFile, writeSafetensorsFile } from '../../lib/io/safetensors';

export function buildNet(withBatchNorm: boolean): tt.nn.Module {
  const layers: tt.nn.Module[] = [new tt.nn.Conv2d(3, 4, 3, { padding: 1 })];
  if (withBatchNorm) layers.push(new tt.nn.BatchNorm2d(4));
  layers.push(new tt.nn.ReLU(), new tt.nn.AdaptiveAvgPool2d([2, 2]), new tt.nn.Flatten(), new tt.nn.Linear(16, 3));
  return new tt.nn.Sequential(...layers);
}

interface RunConfig {
  steps: number;
  worldSize: number;
  lr: number;
  momentum: number;
  batchNorm: boolean;
  timeoutMs?: number;
  dieRank?: number;
  dieStep?: number;
  bucketCapMb?: number;
}

function batchOf(inputs: Map<string, tt.Tensor>, kind: 'x' | 'y', rank: number, step: number): tt.Tensor {
  const found = inputs.get(`${kind}.${rank}.${step}`);
  if (found === undefined) throw new Error(`missing ${kind}.${rank}.${step}`);
  return found;
}

function train(inputs: Map<string, tt.Tensor>, config: RunConfig, mode: 'train' | 'single' | 'die-after'): Map<string, tt.Tensor> {
  const model = buildNet(config.batchNorm);
  const initial = new Map([...inputs].filter(([name]) => name.startsWith('model.')).map(([name, t]) => [name.slice('model.'.length), t]));
  model.loadStateDict(initial);
  const group = mode === 'single' ? null : tt.distributed.initProcessGroup({ timeoutMs: config.timeoutMs ?? 20_000 });
  const ddp = group === null ? null : new tt.distributed.DistributedDataParallel(model, { group, ...(config.bucketCapMb === undefined ? {} : { bucketCapMb: config.bucketCapMb }) });
  const rank = group?.rank ?? 0;
  const optimizer = new tt.SGD(model.parameters(), { lr: config.lr, momentum: config.momentum });
  for (let step = 0; step < config.steps; step++) {
    if (mode === 'die-after' && rank === config.dieRank && step === config.dieStep) process.exit(7);
    tt.scope(() => {
      const ranks = group === null ? Array.from({ length: config.worldSize }, (_, r) => r) : [rank];
      const x = tt.cat(ranks.map((r) => batchOf(inputs, 'x', r, step)), 0);
      const y = tt.cat(ranks.map((r) => batchOf(inputs, 'y', r, step)), 0);
      optimizer.zeroGrad();
      const logits = ddp === null ? model.forward(x) : ddp.forward(x);
      const loss = tt.F.crossEntropy(logits, y);
      if (ddp === null) loss.backward();
      else ddp.backward(loss);
      optimizer.step();
    });
  }
  const state = model.stateDict();
  tt.distributed.destroyProcessGroup();
  return state;
}

function collectives(config: RunConfig): Map<string, tt.Tensor> {
  const group = tt.distributed.initProcessGroup({ timeoutMs: config.timeoutMs ?? 20_000 });
  const r = group.rank;
  const out = new Map<string, tt.Tensor>();
  const sum = tt.tensor([r + 1, 10 * (r + 1)]);
  group.allReduce(sum, 'sum');
  out.set('sum', sum);
  const avg = tt.tensor([r + 1, 2]);
  group.allReduce(avg, 'avg');
  out.set('avg', avg);
  const max = tt.tensor([r, -r], { dtype: 'int64' });
  group.allReduce(max, 'max');
  out.set('max', max);
  const shared = [tt.tensor([r, r, r]), tt.tensor([r * 2], { dtype: 'int64' })];
  group.broadcast(shared, group.worldSize - 1);
  out.set('broadcast.0', shared[0]!);
  out.set('broadcast.1', shared[1]!);
  group.allGather(tt.tensor([r * 3, r * 3 + 1])).forEach((t, i) => out.set(`gather.${i}`, t));
  group.barrier();
  const shareKey = group.shareString('greeting', r === 0 ? 'from rank 0' : undefined);
  out.set('shared.length', tt.tensor([shareKey.length]));
  out.set('rank', tt.tensor([group.rank, group.worldSize, group.localRank, group.localWorldSize]));
  tt.distributed.destroyProcessGroup();
  return out;
}

let joinStarted = 0;

function main(): void {
  const [inFile, outFile, mode = 'train', json = '{}'] = process.argv.slice(1);
  if (inFile === undefined || outFile === undefined) throw new Error('usage: ddp-worker <in> <out> <mode> [json]');
  tt.setNumThreads(1);
  const config = JSON.parse(json) as RunConfig;
  const { tensors: inputs } = readSafetensorsFile(inFile);
  joinStarted = Date.now();
  let result: Map<string, tt.Tensor>;
  if (mode === 'collectives') result = collectives(config);
  else if (mode === 'train' || mode === 'single' || mode === 'die-after') result = train(inputs, config, mode);
  else throw new Error(`unknown mode ${mode}`);
  const rank = Number(process.env.RANK ?? 0);
  writeSafetensorsFile(outFile.replace('%r', String(rank)), result);
}

// The test imports buildNet from here too: only a rank process (started with
// TORCHTS_DDP_WORKER=1) runs main.
if (process.env.TORCHTS_DDP_WORKER === '1') {
  try {
    main();
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    const seconds = joinStarted === 0 ? 'NaN' : ((Date.now() - joinStarted) / 1000).toFixed(2);
    process.stderr.write(`RANK ${process.env.RANK} ERROR ${code ?? ''}: ${message} (after ${seconds} s in the group)\n`);
    process.exit(3);
  }
}
