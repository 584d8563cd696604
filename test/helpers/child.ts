// Runs TypeScript in a child Node process (for crash isolation, signals and
// GC experiments). tap's own loader hooks are stripped from the child's
// environment; ts-node compiles on the fly.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';

const register = require.resolve('@isaacs/ts-node-temp-fork-for-pr-2009/register');

function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

export interface ChildOptions {
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  timeout?: number;
  input?: string;
}

// The entry runs through require() from `-e`: tap patches child processes
// with ESM loader hooks, and Node's ESM loader would refuse a .ts main file.
function entryArgs(file: string): string[] {
  return ['-e', `require(${JSON.stringify(file)})`];
}

/** Runs a .ts file (or `-e` code when `code` is set) to completion; args follow as process.argv[1..]. */
export function runTsSync(fileOrCode: string, args: string[] = [], options: ChildOptions & { code?: boolean } = {}): SpawnSyncReturns<string> {
  const entry = options.code ? ['-e', fileOrCode] : entryArgs(fileOrCode);
  // '--' keeps node from reading the script's own flags (e.g. --help) as its options.
  return spawnSync(process.execPath, [...(options.nodeArgs ?? []), '-r', register, ...entry, '--', ...args], {
    encoding: 'utf8',
    env: childEnv(options.env),
    timeout: options.timeout ?? 300_000,
    input: options.input,
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Starts a .ts file in the background (for signals). */
export function spawnTs(file: string, args: string[] = [], options: ChildOptions = {}): ChildProcess {
  return spawn(process.execPath, [...(options.nodeArgs ?? []), '-r', register, ...entryArgs(file), '--', ...args], {
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
