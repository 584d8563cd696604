// The error catalogue (test/errors/catalogue.ts) in a child process: each bad
// input must raise a JS Error of the expected class and code whose message
// names the problem, and the process must survive all of them.
import * as path from 'node:path';
import t from 'tap';
import { CASES } from './errors/catalogue';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { spawnSync } from 'node:child_process';
import { runTsSync } from './helpers/child';
import { pythonEnv, pythonExecutable } from './helpers/python';

t.test('every bad input is a clear JS error and the process survives', (t) => {
  const runner = path.join(__dirname, 'errors', 'run-catalogue.ts');
  // A .pt that is not a state dict, written by PyTorch itself.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-errors-pt-'));
  const tensorFile = path.join(dir, 'tensor.pt');
  const made = spawnSync(pythonExecutable(), ['-c', `import torch; torch.save(torch.ones(3), ${JSON.stringify(tensorFile)})`], { encoding: 'utf8', env: pythonEnv() });
  t.equal(made.status, 0, made.stderr);
  const result = runTsSync(runner, [], { env: { TORCHTS_PT_TENSOR_FILE: tensorFile } });
  fs.rmSync(dir, { recursive: true, force: true });
  t.equal(result.signal, null, 'the child was not killed by a signal (no abort, no segfault)');
  t.equal(result.status, 0, `child exited cleanly${result.stderr ? `: ${result.stderr.slice(0, 2000)}` : ''}`);
  const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  const byName = new Map(lines.map((line) => [line.name as string, line]));
  for (const c of CASES) {
    const outcome = byName.get(c.name);
    t.ok(outcome?.threw, `${c.area}: ${c.name} throws`);
    t.match(String(outcome?.message), c.message, `${c.area}: ${c.name} says what is wrong`);
    t.equal(outcome?.code, c.code, `${c.area}: ${c.name} has code ${c.code}`);
    t.equal(outcome?.errorClass, c.errorClass, `${c.area}: ${c.name} is a ${c.errorClass}`);
  }
  t.equal(lines.length, CASES.length + 1, 'every case reported, then the final check');
  t.same(lines.at(-1), { done: true, check: 6 }, 'still computing correctly afterwards');
  const areas = [...new Set(CASES.map((c) => c.area))];
  t.comment(`${CASES.length} kinds of bad input covered across ${areas.join(', ')}`);
  t.end();
});
