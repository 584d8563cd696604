// Runs a Python benchmark script and parses the JSON it prints last.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { referencePython } from '../../scripts/python-env';

export function runPythonBench<T>(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): T {
  const python = referencePython();
  const result = spawnSync(python, [path.join(__dirname, '..', script), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`${script} failed (exit ${result.status}):\n${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}
