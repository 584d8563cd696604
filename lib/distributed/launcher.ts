// The torchrun-style launcher behind `npx torchts run` and `npx torchts train
// --nproc-per-node N`: starts one process per local rank with torchrun's
// environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT, and OMP_NUM_THREADS = cores / local processes), watches them,
// and ends them together: the first rank to fail is named and the others
// are stopped; Ctrl-C is passed to every rank once (the trainer saves one
// checkpoint and they stop at the same step), a second Ctrl-C ends them now.
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import { ArgumentRangeError, ArgumentTypeError } from '../errors';

export interface LaunchOptions {
  /** Processes on this machine (default 1). */
  nprocPerNode: number;
  /** Machines in the job (default 1); each runs the launcher with its own nodeRank. */
  nnodes?: number;
  nodeRank?: number;
  /** Rank 0's machine (default 127.0.0.1: one machine). */
  masterAddr?: string;
  /** Rank 0's store port (default: a free port on one machine, else 29500). */
  masterPort?: number;
  /** The program and its arguments, run with this Node (e.g. ['train.js', '--epochs', '2']). */
  command: string[];
  /** Node's own flags for the ranks (default: this process's, e.g. a loader, less any -e program). */
  nodeArgs?: string[];
  /** Extra environment for every rank. */
  env?: NodeJS.ProcessEnv;
  /** How long ranks get to leave after SIGTERM before SIGKILL (ms, default 10 s). */
  killGraceMs?: number;
  /** Where the launcher's own lines go (default stderr). */
  log?: (line: string) => void;
}

export interface LaunchResult {
  /** 0 when every rank succeeded, 130 when interrupted, else the first failed rank's code (1 for a signal). */
  exitCode: number;
  /** Per local rank: its exit code, or the signal that ended it. */
  ranks: { rank: number; code: number | null; signal: NodeJS.Signals | null }[];
  /** The first rank that failed, if any. */
  failedRank: number | null;
}

function checkInteger(value: number, name: string, min: number): number {
  if (!Number.isSafeInteger(value)) throw new ArgumentTypeError(`${name} must be an integer, got ${value}`);
  if (value < min) throw new ArgumentRangeError(`${name} must be >= ${min}, got ${value}`);
  return value;
}

/** A port free on this machine now (the OS picks it). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface Topology {
  nproc: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
}

async function topology(options: LaunchOptions): Promise<Topology> {
  const nproc = checkInteger(options.nprocPerNode, 'nproc-per-node', 1);
  const nnodes = checkInteger(options.nnodes ?? 1, 'nnodes', 1);
  const nodeRank = checkInteger(options.nodeRank ?? 0, 'node-rank', 0);
  if (nodeRank >= nnodes) throw new ArgumentRangeError(`node-rank must be in 0..${nnodes - 1}, got ${nodeRank}`);
  if (nnodes > 1 && options.masterAddr === undefined) throw new ArgumentTypeError('with nnodes > 1, master-addr must name rank 0\'s machine (an address every node can reach)');
  const masterAddr = options.masterAddr ?? '127.0.0.1';
  // One machine: any free port (torchrun --standalone does the same); several need an agreed one.
  const masterPort = options.masterPort ?? (nnodes === 1 ? await findFreePort() : 29500);
  checkInteger(masterPort, 'master-port', 1);
  return { nproc, nnodes, nodeRank, masterAddr, masterPort };
}

function rankEnv(t: Topology, localRank: number, extra: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const threads = Math.max(1, Math.floor(os.availableParallelism() / t.nproc));
  return {
    ...process.env,
    OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? String(threads),
    ...extra,
    RANK: String(t.nodeRank * t.nproc + localRank),
    WORLD_SIZE: String(t.nnodes * t.nproc),
    LOCAL_RANK: String(localRank),
    LOCAL_WORLD_SIZE: String(t.nproc),
    GROUP_RANK: String(t.nodeRank),
    MASTER_ADDR: t.masterAddr,
    MASTER_PORT: String(t.masterPort),
  };
}

/** This process's Node flags (a loader such as ts-node's -r), without an -e/-p program of its own. */
function inheritedNodeArgs(): string[] {
  const args: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const arg = process.execArgv[i]!;
    if (['-e', '--eval', '-p', '--print'].includes(arg)) {
      i++;
      continue;
    }
    if (/^--(eval|print)=/.test(arg)) continue;
    args.push(arg);
  }
  return args;
}

/** Runs the job's local ranks to the end; see LaunchOptions. */
export async function launch(options: LaunchOptions): Promise<LaunchResult> {
  if (options.command.length === 0) throw new ArgumentTypeError('launch: no program to run');
  const t = await topology(options);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const nodeArgs = options.nodeArgs ?? inheritedNodeArgs();
  const grace = options.killGraceMs ?? 10_000;
  log(`torchts run: ${t.nproc} process(es) on node ${t.nodeRank} of ${t.nnodes}, world size ${t.nnodes * t.nproc}, rank 0's store at ${t.masterAddr}:${t.masterPort}`);
  // Each rank in its own process group, so a terminal's Ctrl-C reaches the
  // launcher alone and is passed on exactly once.
  const children: ChildProcess[] = Array.from({ length: t.nproc }, (_, localRank) =>
    spawn(process.execPath, [...nodeArgs, ...options.command], { env: rankEnv(t, localRank, options.env), stdio: 'inherit', detached: true }),
  );
  const ranks: LaunchResult['ranks'] = children.map((_, localRank) => ({ rank: t.nodeRank * t.nproc + localRank, code: null, signal: null }));
  let failedRank: number | null = null;
  let interrupts = 0;
  let killTimer: NodeJS.Timeout | undefined;
  const running = new Set(children);
  const signalAll = (signal: NodeJS.Signals) => {
    for (const child of running) if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        /* already gone */
      }
    }
  };
  const stopOthers = () => {
    signalAll('SIGTERM');
    killTimer ??= setTimeout(() => signalAll('SIGKILL'), grace);
  };
  const onInterrupt = () => {
    interrupts += 1;
    log(interrupts === 1 ? 'torchts run: interrupted; passing Ctrl-C to every rank (again to stop at once)' : 'torchts run: interrupted again; stopping every rank now');
    signalAll('SIGINT');
  };
  const onTerminate = () => stopOthers();
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerminate);
  try {
    await Promise.all(
      children.map(
        (child, localRank) =>
          new Promise<void>((resolve) => {
            child.on('error', (error) => log(`torchts run: rank ${ranks[localRank]!.rank} could not start: ${error.message}`));
            child.on('exit', (code, signal) => {
              running.delete(child);
              ranks[localRank] = { rank: ranks[localRank]!.rank, code, signal };
              const failed = signal !== null || (code !== 0 && !(interrupts > 0 && code === 130));
              if (failed && failedRank === null) {
                failedRank = ranks[localRank]!.rank;
                log(`torchts run: rank ${failedRank} (pid ${child.pid}) ${signal !== null ? `was killed by ${signal}` : `exited with code ${code}`}; stopping the other ranks`);
                stopOthers();
              }
              resolve();
            });
          }),
      ),
    );
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerminate);
    if (killTimer !== undefined) clearTimeout(killTimer);
  }
  const first = failedRank === null ? null : ranks.find((r) => r.rank === failedRank)!;
  const exitCode = first !== null ? (first.code !== null && first.code !== 0 ? first.code : 1) : interrupts > 0 ? 130 : 0;
  return { exitCode, ranks, failedRank };
}
