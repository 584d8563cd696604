// Distributed data-parallel training on c10d/Gloo, against PyTorch's own DDP
// at test time: 2 torchts processes and 2 PyTorch processes from the same
// initial weights and per-rank batches end 5 SGD steps with the same
// parameters and BatchNorm buffers; 2-rank DDP with batch B takes the same
// step as one process with batch 2B; collectives give the right values; a
// rank that dies, never comes, or finds its port taken ends the others with
// a clear error within the configured timeout.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import * as tt from '../lib';
import { findFreePort as freePort, shardOrder, shardSize } from '../lib/distributed';
import { readSafetensorsFile, writeSafetensorsFile } from '../lib/io/safetensors';
import { compareTensors } from './helpers/compare';
import { buildNet } from './helpers/ddp-worker';
import { runTsSync, spawnTs } from './helpers/child';
import { randomImageSet, writeBinaryFolder, writeImageFolder } from './helpers/data-fixtures';
import { loadCheckpoint } from '../lib/train/checkpoint';
import { runReference } from './helpers/python';

const worker = path.join(__dirname, 'helpers', 'ddp-worker.ts');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-ddp-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

interface RankResult {
  rank: number;
  code: number | null;
  stderr: string;
  seconds: number;
}

/** Starts the given ranks of a world as separate processes, as torchrun would, and waits for all. */
async function runRanks(ranks: number[], worldSize: number, port: number, args: string[]): Promise<RankResult[]> {
  const started = Date.now();
  return Promise.all(
    ranks.map(
      (rank) =>
        new Promise<RankResult>((resolve) => {
          const env = { RANK: String(rank), WORLD_SIZE: String(worldSize), LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: String(worldSize), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), TORCH_CPP_LOG_LEVEL: 'ERROR', TORCHTS_DDP_WORKER: '1' };
          const child = spawnTs(worker, args, { env });
          let stderr = '';
          child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
          child.stdout!.resume();
          child.on('exit', (code) => resolve({ rank, code, stderr, seconds: (Date.now() - started) / 1000 }));
        }),
    ),
  );
}

/** Seconds from the rank's call to initProcessGroup to its error (the worker prints them): process start-up excluded. */
function initSeconds(result: RankResult): number {
  const found = /after (\d+(?:\.\d+)?) s in the group/.exec(result.stderr);
  return found === null ? Infinity : Number(found[1]);
}

const support = tt.distributed.distributedSupport();
if (!support.available) {
  t.pass(`skipped: ${support.reason}`);
} else {
  t.test('collectives across 2 ranks: allReduce (sum, avg, max), broadcast, allGather, barrier, shared strings', async (t) => {
    const input = path.join(dir, 'empty.safetensors');
    writeSafetensorsFile(input, new Map([['unused', tt.zeros([1])]]));
    const out = path.join(dir, 'collectives-%r.safetensors');
    const results = await runRanks([0, 1], 2, await freePort(), [input, out, 'collectives', JSON.stringify({ timeoutMs: 20_000 })]);
    for (const result of results) t.equal(result.code, 0, `rank ${result.rank} exits 0 ${result.stderr}`);
    for (const rank of [0, 1]) {
      const { tensors } = readSafetensorsFile(out.replace('%r', String(rank)));
      const values = (name: string) => Array.from(tensors.get(name)!.dataSync() as ArrayLike<number | bigint>, Number);
      t.same(values('sum'), [3, 30], `rank ${rank}: sum of [r+1, 10(r+1)]`);
      t.same(values('avg'), [1.5, 2], `rank ${rank}: avg`);
      t.same(values('max'), [1, 0], `rank ${rank}: max (int64)`);
      t.same(values('broadcast.0'), [1, 1, 1], `rank ${rank}: float broadcast from rank 1`);
      t.same(values('broadcast.1'), [2], `rank ${rank}: int64 broadcast from rank 1`);
      t.same([...values('gather.0'), ...values('gather.1')], [0, 1, 3, 4], `rank ${rank}: allGather in rank order`);
      t.same(values('shared.length'), ['from rank 0'.length], `rank ${rank}: string shared through the store`);
      t.same(values('rank'), [rank, 2, rank, 2], `rank ${rank}: rank, world size, local rank, local world size from the environment`);
    }
  });

  /** Initial weights and per-rank batches, as one safetensors file for both sides. */
  function makeInputs(batchNorm: boolean, steps: number, batch: number, seed: number): Map<string, tt.Tensor> {
    tt.manualSeed(seed);
    const model = buildNet(batchNorm);
    const inputs = new Map<string, tt.Tensor>();
    for (const [name, tensor] of model.stateDict()) inputs.set(`model.${name}`, tensor.clone());
    model.dispose();
    for (let rank = 0; rank < 2; rank++) {
      for (let step = 0; step < steps; step++) {
        inputs.set(`x.${rank}.${step}`, tt.randn([batch, 3, 8, 8]));
        inputs.set(`y.${rank}.${step}`, tt.randint(0, 3, [batch]));
      }
    }
    return inputs;
  }

  async function torchtsRun(name: string, inputs: Map<string, tt.Tensor>, config: object, mode: 'train' | 'single'): Promise<Map<string, tt.Tensor>[]> {
    const input = path.join(dir, `${name}-in.safetensors`);
    writeSafetensorsFile(input, inputs);
    const out = path.join(dir, `${name}-%r.safetensors`);
    const ranks = mode === 'single' ? [0] : [0, 1];
    const results = await runRanks(ranks, ranks.length, await freePort(), [input, out, mode, JSON.stringify(config)]);
    for (const result of results) if (result.code !== 0) throw new Error(`rank ${result.rank} exited ${result.code}: ${result.stderr}`);
    return ranks.map((rank) => readSafetensorsFile(out.replace('%r', String(rank))).tensors);
  }

  // Float sums over ranks come out in another order than one process's
  // batch-2B sums, and Gloo and PyTorch's reducer bucket differently: a few
  // ulps per step, grown by 5 momentum steps; 1e-5 is ~100x what is seen.
  const PARITY = { rtol: 1e-5, atol: 1e-5 };

  t.test('torchts DDP matches PyTorch DDP (gloo, 2 processes): 5 SGD steps of a model with BatchNorm', async (t) => {
    const config = { steps: 5, worldSize: 2, lr: 0.1, momentum: 0.9, batchNorm: true };
    const inputs = makeInputs(true, config.steps, 4, 31);
    const [rank0, rank1] = await torchtsRun('parity', inputs, config, 'train');
    const expected = runReference('ddp.py', inputs, { ...config, port: await freePort() });
    t.equal(rank0!.size, expected.size, 'the same parameters and buffers');
    for (const [name, reference] of expected) {
      const ours = rank0!.get(name);
      if (ours === undefined) {
        t.fail(`torchts has no ${name}`);
        continue;
      }
      const compared = compareTensors(ours, reference, PARITY);
      t.ok(compared.ok, `${name}: ${compared.message}`);
      t.ok(compareTensors(rank1!.get(name)!, ours, { rtol: 0, atol: 0 }).ok || name.includes('running') || name.includes('num_batches'), `${name}: rank 1's parameter equals rank 0's`);
    }
    // Not every tensor moves (the conv bias before BatchNorm gets no gradient), but these must.
    for (const name of ['0.weight', '1.weight', '1.running_mean', '5.weight']) {
      t.notOk(compareTensors(rank0!.get(name)!, inputs.get(`model.${name}`)!, { rtol: 0, atol: 1e-4 }).ok, `${name} moved away from its initial value`);
    }
  });

  t.test('2-rank DDP with batch B takes the step of one process with batch 2B (no BatchNorm)', async (t) => {
    const config = { steps: 5, worldSize: 2, lr: 0.1, momentum: 0.9, batchNorm: false, bucketCapMb: 0.0001 };
    const inputs = makeInputs(false, config.steps, 4, 32);
    const [ddp0, ddp1] = await torchtsRun('equivalence-ddp', inputs, config, 'train');
    const [single] = await torchtsRun('equivalence-single', inputs, config, 'single');
    for (const [name, expected] of single!) {
      const compared = compareTensors(ddp0!.get(name)!, expected, PARITY);
      t.ok(compared.ok, `${name} (tiny buckets: several all-reduces): ${compared.message}`);
      t.ok(compareTensors(ddp1!.get(name)!, ddp0!.get(name)!, { rtol: 0, atol: 0 }).ok, `${name}: both ranks hold the same weights`);
    }
  });

  t.test('a rank that dies mid-training ends the other with a clear error, within the timeout', async (t) => {
    const timeoutMs = 5000;
    const inputs = makeInputs(false, 5, 4, 33);
    const input = path.join(dir, 'die-in.safetensors');
    writeSafetensorsFile(input, inputs);
    const config = { steps: 5, worldSize: 2, lr: 0.1, momentum: 0.9, batchNorm: false, timeoutMs, dieRank: 1, dieStep: 2 };
    const [rank0, rank1] = await runRanks([0, 1], 2, await freePort(), [input, path.join(dir, 'die-%r.safetensors'), 'die-after', JSON.stringify(config)]);
    t.equal(rank1!.code, 7, 'rank 1 died as planned');
    t.equal(rank0!.code, 3, `rank 0 exits with an error, not a hang or a crash: ${rank0!.stderr.trim()}`);
    t.match(rank0!.stderr, /ERR_TORCHTS_DIST_(PEER|TIMEOUT).*failed on rank 0 of 2/, 'the error names the collective and the rank');
    t.ok(initSeconds(rank0!) < timeoutMs / 1000, `rank 0 failed ${initSeconds(rank0!)} s after joining (timeout ${timeoutMs / 1000} s)`);
  });

  t.test('a rank that never arrives: the other fails naming it, within the timeout', async (t) => {
    const input = path.join(dir, 'empty.safetensors');
    const timeoutMs = 3000;
    const args = [input, path.join(dir, 'alone-%r.safetensors'), 'collectives', JSON.stringify({ timeoutMs })];
    const [alone0] = await runRanks([0], 2, await freePort(), args);
    t.equal(alone0!.code, 3, 'rank 0 alone exits with an error');
    t.match(alone0!.stderr, /ERR_TORCHTS_DIST_TIMEOUT.*rank\(s\) 1 did not join the process group within 3 s/, alone0!.stderr.trim());
    t.ok(initSeconds(alone0!) < 1 + timeoutMs / 1000, `rank 0 gave up ${initSeconds(alone0!)} s after it started to join (timeout ${timeoutMs / 1000} s)`);
    const [alone1] = await runRanks([1], 2, await freePort(), args);
    t.equal(alone1!.code, 3, 'rank 1 without rank 0 exits with an error');
    t.match(alone1!.stderr, /ERR_TORCHTS_DIST_TIMEOUT.*rank 1 could not reach rank 0's store/, alone1!.stderr.trim());
    t.ok(initSeconds(alone1!) < 1 + timeoutMs / 1000, `rank 1 gave up ${initSeconds(alone1!)} s after it started to join (timeout ${timeoutMs / 1000} s)`);
  });

  t.test('a port in use is a clear error', async (t) => {
    const server = net.createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, () => resolve((server.address() as net.AddressInfo).port)));
    try {
      const [rank0] = await runRanks([0], 2, port, [path.join(dir, 'empty.safetensors'), path.join(dir, 'port-%r.safetensors'), 'collectives', JSON.stringify({ timeoutMs: 3000 })]);
      t.equal(rank0!.code, 3);
      t.match(rank0!.stderr, new RegExp(`ERR_TORCHTS_DIST_PORT.*port ${port} is in use`), rank0!.stderr.trim());
    } finally {
      server.close();
    }
  });
}

if (support.available) {
  const cliChild = path.join(__dirname, 'helpers', 'cli-child.ts');
  const names = ['a', 'b', 'c'];
  const data = writeBinaryFolder(path.join(dir, 'data'), randomImageSet(96, 32, 32, names, 1), randomImageSet(30, 32, 32, names, 2));
  const env = { TORCHTS_HOME: path.join(dir, 'home'), TORCH_CPP_LOG_LEVEL: 'ERROR' };
  const recipe = ['--data', data, '--preset', 'cpu', '--target-size', '32x32', '--batch-size', '8', '--no-tta', '--no-plots'];

  t.test('the main job on 2 processes: train --nproc-per-node 2 writes one run (rank 0), prints the test once, refuses a resume on 1 process', async (t) => {
    const runDir = path.join(dir, 'run-2p');
    const result = runTsSync(cliChild, ['train', '--nproc-per-node', '2', ...recipe, '--epochs', '2', '--run-dir', runDir], { env, timeout: 400_000 });
    t.equal(result.status, 0, result.stderr);
    t.match(result.stderr, /torchts run: 2 process\(es\) on node 0 of 1, world size 2/);
    t.equal(result.stdout.match(/^Test: accuracy/gm)?.length, 1, 'one test report (rank 0)');
    t.equal(result.stdout.match(/^Epoch\s+2\/2/gm)?.length, 1, 'one progress line per epoch');
    // (the cpu preset holds out no validation split, so there is no best.safetensors)
    t.same(fs.readdirSync(runDir).sort(), ['config.json', 'last.safetensors', 'metrics.jsonl', 'test-report.txt', 'test-results.json']);
    const epochs = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line)).filter((r) => r.type === 'epoch');
    t.equal(epochs.length, 2, 'one metrics record per epoch');
    const saved = loadCheckpoint(path.join(runDir, 'last.safetensors'));
    t.equal(saved.meta.worldSize, 2, 'the checkpoint records the world size');
    // Each rank trains on half of the ~86 training images: 5 batches of 8 per epoch, where one process would take 10.
    const steps = Number(/for 2 epochs of (\d+) steps \(batch 8\)/.exec(result.stdout)?.[1]);
    t.ok(steps >= 4 && steps <= 6, `${steps} steps per epoch: one rank's shard`);
    t.equal(saved.meta.globalStep, 2 * steps);
    saved.model.forEach((tensor) => tensor.dispose());
    const resumed = runTsSync(cliChild, ['train', '--resume', runDir], { env });
    t.equal(resumed.status, 1);
    t.match(resumed.stderr, /trained on 2 process\(es\), this is 1.*--nproc-per-node 2/);
  });

  t.test('2 processes stream an image folder: each rank its shard, the same epochs as the in-memory 2-process run', async (t) => {
    const folder = path.join(dir, 'folder');
    await writeImageFolder(folder, { train: randomImageSet(80, 32, 32, names, 3), test: randomImageSet(12, 32, 32, names, 4) }, () => 'png');
    const run = (name: string, stream: string) => {
      const runDir = path.join(dir, name);
      const result = runTsSync(cliChild, ['train', '--nproc-per-node', '2', ...recipe.slice(2), '--data', folder, stream, '--epochs', '2', '--run-dir', runDir], { env, timeout: 400_000 });
      t.equal(result.status, 0, result.stderr);
      const epochs = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line)).filter((r) => r.type === 'epoch');
      return { result, losses: epochs.map((r) => [r.trainLoss, r.trainAccuracy]) };
    };
    const streamed = run('run-2p-streamed', '--stream');
    t.equal(streamed.result.stderr.match(/^streaming 92 images from /gm)?.length, 1, 'rank 0 says it streams, once');
    t.equal(streamed.result.stdout.match(/^Test: accuracy/gm)?.length, 1, 'one test report');
    t.match(streamed.result.stdout, /for 2 epochs of 5 steps \(batch 8\)/, "each rank trains on its shard: 40 of the 80 images");
    const inMemory = run('run-2p-in-memory', '--no-stream');
    t.same(streamed.losses, inMemory.losses, 'the same losses as the in-memory run, to the bit');
  });

  t.test('Ctrl-C on the launcher: every rank stops at the same step, rank 0 saves one checkpoint, exit 130', async (t) => {
    const runDir = path.join(dir, 'run-interrupted');
    const child = spawnTs(cliChild, ['train', '--nproc-per-node', '2', ...recipe, '--epochs', '6', '--run-dir', runDir], { env });
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/^Epoch\s+2\//m.test(stdout) && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', resolve);
    });
    t.equal(code, 130, stderr);
    t.match(stdout, /Interrupted in epoch \d+ at step \d+\/\d+; saved/);
    const saved = loadCheckpoint(path.join(runDir, 'last.safetensors'));
    t.ok(saved.meta.epoch >= 2, `saved after epoch ${saved.meta.epoch}, step ${saved.meta.batch}`);
    saved.model.forEach((tensor) => tensor.dispose());
    t.notMatch(stderr, /failed on rank|did not answer/, 'no rank was left waiting for another');
    const resumed = runTsSync(cliChild, ['train', '--nproc-per-node', '2', '--resume', runDir], { env, timeout: 400_000 });
    t.equal(resumed.status, 0, `the same world size resumes it: ${resumed.stderr}`);
    t.match(resumed.stdout, /Finished 6 epochs/);
    const epochs = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line)).filter((r) => r.type === 'epoch');
    t.same(epochs.map((r) => r.epoch), [1, 2, 3, 4, 5, 6], 'every epoch logged once, across the interruption');
  });
}

t.test('distributed sampler: PyTorch DistributedSampler rule, checked against torch at test time', async (t) => {
  for (const [count, worldSize, dropLast] of [[10, 3, false], [10, 3, true], [9, 3, false], [2, 4, false], [7, 2, true]] as const) {
    const order = Int32Array.from(new tt.data.Rng(5, 1, count).permutation(count));
    const shards = Array.from({ length: worldSize }, (_, rank) => Array.from(shardOrder(order, { rank, worldSize, dropLast })));
    const expected = runReference('sampler.py', { order: tt.tensor(Array.from(order), [count], { dtype: 'int64' }) }, { worldSize, dropLast });
    for (let rank = 0; rank < worldSize; rank++) {
      t.same(shards[rank], Array.from(expected.get(`rank${rank}`)!.dataSync() as BigInt64Array, Number), `N=${count} W=${worldSize} dropLast=${dropLast}: rank ${rank}`);
      t.equal(shards[rank]!.length, shardSize(count, { rank, worldSize, dropLast }));
    }
    if (!dropLast) t.same(new Set(shards.flat()).size, count, 'padding: every image is in some shard');
  }
  t.throws(() => shardOrder(new Int32Array(4), { rank: 2, worldSize: 2 }), /rank must be in 0\.\.1/);
});
