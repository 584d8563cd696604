// Runs a PyTorch reference script on tensors written by a test.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSafetensorsFile, writeSafetensorsFile } from '../../lib/io/safetensors';
import type { Tensor } from '../../lib/tensor';
import { referencePython } from '../../scripts/python-env';

export const referenceDir = path.join(__dirname, '..', 'reference');

/** $PYTHON, else torchts' own environment (scripts/python-env.js) when it exists, else python3. */
export function pythonExecutable(): string {
  return referencePython();
}

/**
 * The environment for Python children: ours, without a sanitizer runtime
 * preloaded for the addon (scripts/asan.sh), which Python must not inherit.
 */
export function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '2' };
  for (const name of ['LD_PRELOAD', 'ASAN_OPTIONS', 'LSAN_OPTIONS']) delete env[name];
  return env;
}

/**
 * Writes `inputs` (plus `config` as JSON metadata) to a temp safetensors file,
 * runs `test/reference/<script>` on it, and returns what the script wrote.
 */
export function runReference(script: string, inputs: Record<string, Tensor> | Map<string, Tensor>, config: unknown = {}): Map<string, Tensor> {
  return runReferenceWithMetadata(script, inputs, config).tensors;
}

/** As runReference, also returning the string metadata the script wrote (e.g. reprs, counts). */
export function runReferenceWithMetadata(
  script: string,
  inputs: Record<string, Tensor> | Map<string, Tensor>,
  config: unknown = {},
): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-ref-'));
  try {
    const inFile = path.join(dir, 'in.safetensors');
    const outFile = path.join(dir, 'out.safetensors');
    writeSafetensorsFile(inFile, inputs, { config: JSON.stringify(config) });
    const result = spawnSync(pythonExecutable(), [path.join(referenceDir, script), inFile, outFile], {
      encoding: 'utf8',
      env: pythonEnv(),
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.error) throw new Error(`cannot run ${pythonExecutable()}: ${result.error.message}`);
    if (result.status !== 0) throw new Error(`reference ${script} failed (exit ${result.status}):\n${result.stderr}`);
    return readSafetensorsFile(outFile);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
