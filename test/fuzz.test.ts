// Fuzzing every parser, CI-sized: a few hundred mutated inputs each for
// safetensors, .pt, CIFAR-10 batches, encoded images and .tar.gz sources,
// run in child processes. Every input must parse or be rejected with a JS
// Error carrying the parser's error code; none may crash or hang a process,
// and no archive entry may be written anywhere. The large run is
// `npx ts-node --transpile-only bench/fuzz.ts --count 10000`.
//
// TORCHTS_FUZZ_COUNT and TORCHTS_FUZZ_SEED change the size and the inputs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { findEscapes, formatTable, runFuzz } from './helpers/fuzz/driver';
import { TARGETS } from './helpers/fuzz/targets';
import { tempDir } from './helpers/data-fixtures';

const COUNT = Number(process.env.TORCHTS_FUZZ_COUNT ?? 300);
const SEED = Number(process.env.TORCHTS_FUZZ_SEED ?? 1);

const workDir = tempDir('fuzz');
t.teardown(() => fs.rmSync(workDir, { recursive: true, force: true }));

t.test(`${COUNT} mutated inputs per parser: parsed or a JS error, never a crash or a hang`, async (t) => {
  // Bad inputs are kept after the test for a look (the folder is only created when there is one).
  const crashDir = path.join(os.tmpdir(), 'torchts-fuzz-crashes');
  const summary = await runFuzz({
    targets: TARGETS.map((target) => target.name),
    count: COUNT,
    seed: SEED,
    workDir,
    crashDir,
    inputTimeoutMs: 30_000,
    shareChildren: true,
  });
  t.comment(`seed ${SEED}\n${formatTable(summary)}`);
  for (const target of TARGETS) {
    const s = summary.targets[target.name]!;
    // Each assertion lists the inputs at fault, with where a copy was kept.
    const about = (kind: string): string =>
      s.findings
        .filter((f) => f.kind === kind)
        .map((f) => `\n  #${f.index}: ${f.detail.slice(0, 300)}${f.saved ? ` (kept at ${f.saved})` : ''}`)
        .join('');
    t.equal(s.total, COUNT, `${target.name}: every input ran`);
    t.equal(s.crash, 0, `${target.name}: no crash${about('crash')}`);
    t.equal(s.hang, 0, `${target.name}: no hang${about('hang')}`);
    t.equal(s.nonError, 0, `${target.name}: every rejection is an Error with a message${about('non-error')}`);
    t.equal(s.unexpectedError, 0, `${target.name}: every rejection has code ${target.expectedCodes.join(' or ')}${about('unexpected-error')}`);
    t.ok(s.jsError > COUNT / 4, `${target.name}: the mutants reach the parser's checks (${s.jsError} rejected, ${s.ok} parsed)`);
  }
});

t.test('no archive entry was written outside its input folder', async (t) => {
  t.same(findEscapes(workDir), [], 'no file in the canary folder, the working folder or their ancestors');
  const stray = (fs.readdirSync(workDir, { recursive: true }) as string[])
    .filter((name) => !name.startsWith('seeds'))
    .filter((name) => !fs.statSync(path.join(workDir, name)).isDirectory());
  t.same(stray, [], 'the work folder holds only seeds and empty folders');
});
