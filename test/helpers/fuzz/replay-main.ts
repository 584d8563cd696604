// Runs one saved fuzz input through its target's parser, in a child process
// (for test/fuzz-regressions.test.ts and for checking a saved crash by
// hand), and prints how it ended as one JSON line:
//
//   node -r ts-node/register/transpile-only test/helpers/fuzz/replay-main.ts \
//     '{"target":"pt","caseDir":"/tmp/torchts-fuzz-crashes/pt-seed1-48-crash/files","files":["input.pt"],"params":{"key":null}}'
import { targetNamed } from './targets';
import type { FuzzParams } from './types';

export interface ReplaySpec {
  target: string;
  /** Folder holding the input's files. */
  caseDir: string;
  /** File names, in the order the input lists them (decodeImages takes them in this order). */
  files: string[];
  params: FuzzParams;
}

export type ReplayOutcome = { outcome: 'ok' } | { outcome: 'error'; name: string; code?: string; message: string } | { outcome: 'non-error'; message: string };

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[process.argv.length - 1]!) as ReplaySpec;
  let result: ReplayOutcome;
  try {
    await targetNamed(spec.target).run(spec.caseDir, { files: spec.files.map((name) => ({ name, data: Buffer.alloc(0) })), params: spec.params, log: [] });
    result = { outcome: 'ok' };
  } catch (error) {
    if (error instanceof Error && error.message) {
      const code = (error as { code?: unknown }).code;
      result = { outcome: 'error', name: error.name, ...(typeof code === 'string' ? { code } : {}), message: error.message };
    } else result = { outcome: 'non-error', message: String(error) };
  }
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

void main();
