// Inputs the fuzzer found (test/fixtures/fuzz/, see its README), replayed
// through the real parser in a child process: each must end in a JS Error
// with the parser's code. Open bugs (crashes in native code) are `todo`, so
// tap does not run them; TORCHTS_FUZZ_RUN_OPEN=1 runs them as ordinary tests
// (to check a fix: then drop `open` from the entry).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import t from 'tap';
import { runTsSync } from './helpers/child';
import { tempDir } from './helpers/data-fixtures';
import type { ReplayOutcome, ReplaySpec } from './helpers/fuzz/replay-main';
import type { FuzzParams } from './helpers/fuzz/types';

interface Regression {
  /** In test/fixtures/fuzz/; a '.gz' is gunzipped first (large but repetitive inputs). */
  fixture: string;
  target: string;
  /** The file name the target reads. */
  as: string;
  params: FuzzParams;
  code: string;
  /** Why this is still a todo (an open bug, with where it must be fixed). */
  open?: string;
}

const REGRESSIONS: Regression[] = [
  { fixture: 'image-huge-png-header.png', target: 'images', as: 'huge.png', params: { targetSize: null }, code: 'ERR_TORCHTS_DATA' },
  {
    fixture: 'pt-deep-nesting.pt.gz',
    target: 'pt',
    as: 'input.pt',
    params: { key: null },
    code: 'ERR_TORCHTS_PT',
  },
  {
    fixture: 'pt-shared-tuples.pt',
    target: 'pt',
    as: 'input.pt',
    params: { key: null },
    code: 'ERR_TORCHTS_PT',
  },
];

const dir = tempDir('fuzz-regressions');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

for (const regression of REGRESSIONS) {
  const options = regression.open === undefined || process.env.TORCHTS_FUZZ_RUN_OPEN ? {} : { todo: regression.open };
  t.test(`${regression.target}: ${regression.fixture} is a JS error (${regression.code})`, options, async (t) => {
    const caseDir = path.join(dir, path.basename(regression.fixture, '.gz'));
    fs.mkdirSync(caseDir);
    const bytes = fs.readFileSync(path.join(__dirname, 'fixtures', 'fuzz', regression.fixture));
    fs.writeFileSync(path.join(caseDir, regression.as), regression.fixture.endsWith('.gz') ? zlib.gunzipSync(bytes) : bytes);
    const spec: ReplaySpec = { target: regression.target, caseDir, files: [regression.as], params: regression.params };
    // A small heap makes a runaway allocation end in seconds rather than minutes.
    const result = runTsSync(path.join(__dirname, 'helpers', 'fuzz', 'replay-main.ts'), [JSON.stringify(spec)], { timeout: 60_000, nodeArgs: ['--max-old-space-size=512'] });
    t.equal(result.signal, null, `the process was not killed (signal ${result.signal}${result.error ? `, ${result.error.message}` : ''})`);
    t.equal(result.status, 0, `the process exited normally${result.stderr ? `: ${result.stderr.slice(-500)}` : ''}`);
    const last = result.stdout?.trim().split('\n').pop();
    const outcome = last?.startsWith('{') ? (JSON.parse(last) as ReplayOutcome) : undefined;
    t.match(outcome, { outcome: 'error', code: regression.code }, `rejected with ${regression.code}: ${outcome?.outcome === 'error' ? outcome.message.slice(0, 200) : JSON.stringify(outcome)}`);
  });
}
