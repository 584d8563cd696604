// The on-demand fuzz run: N mutated inputs per parser (default 10,000), each
// parser in turn, in batches of child processes; prints a table of outcomes
// and writes a JSON summary (which --resume continues from).
//
//   npx ts-node --transpile-only bench/fuzz.ts --count 10000
//   npx ts-node --transpile-only bench/fuzz.ts --parser pt,safetensors --seed 7 --count 2000
//   npx ts-node --transpile-only bench/fuzz.ts --resume fuzz-summary.json
//
// Options: --count N (per parser), --parser a,b (safetensors, pt, cifar,
// images, tarball; default all), --seed S, --timeout MS (per input, default
// 30000), --known-bugs (also generate inputs for known unfixed bugs),
// --out FILE (summary JSON, default ./fuzz-summary.json), --work DIR,
// --crash-dir DIR (default /tmp/torchts-fuzz-crashes), --resume FILE.
// Exit status 1 when anything crashed, hung or failed with a non-Error.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findEscapes, formatTable, runFuzz, type FuzzSummary } from '../test/helpers/fuzz/driver';
import { TARGETS } from '../test/helpers/fuzz/targets';

function parseArgs(argv: string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument '${arg}'`);
    const [key, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (inline !== undefined) args.set(key, inline);
    else if (key === 'known-bugs' || key === 'help') args.set(key, 'true');
    else args.set(key, argv[++i] ?? '');
  }
  return args;
}

function integer(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${what} must be a non-negative integer, got '${value}'`);
  return n;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2).filter((arg) => arg !== '--'));
  if (args.has('help')) {
    console.log(fs.readFileSync(__filename, 'utf8').split('\n').filter((line) => line.startsWith('//')).map((line) => line.slice(3)).join('\n'));
    return;
  }
  const resume = args.has('resume') ? (JSON.parse(fs.readFileSync(args.get('resume')!, 'utf8')) as FuzzSummary) : undefined;
  const names = TARGETS.map((t) => t.name);
  const targets = args.has('parser') ? args.get('parser')!.split(',') : resume ? Object.keys(resume.targets) : names;
  for (const name of targets) if (!names.includes(name)) throw new Error(`unknown parser '${name}' (known: ${names.join(', ')})`);
  const count = integer(args.get('count'), resume?.count ?? 10_000, 'count');
  const seed = integer(args.get('seed'), resume?.seed ?? 1, 'seed');
  const out = path.resolve(args.get('out') ?? args.get('resume') ?? 'fuzz-summary.json');
  const workDir = args.get('work') ?? fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-fuzz-'));
  const crashDir = args.get('crash-dir') ?? path.join(os.tmpdir(), 'torchts-fuzz-crashes');
  const knownBugs = args.has('known-bugs') || (resume?.knownBugs ?? false);

  console.log(`fuzzing ${targets.join(', ')}: ${count} inputs each, seed ${seed}${knownBugs ? ', with known-bug inputs' : ''}; work ${workDir}, crashes ${crashDir}`);
  const started = Date.now();
  let lastPrint = 0;
  const summary = await runFuzz({
    targets,
    count,
    seed,
    workDir,
    crashDir,
    inputTimeoutMs: integer(args.get('timeout'), 30_000, 'timeout'),
    knownBugs,
    resumeFrom: resume,
    onProgress: (progress) => {
      fs.writeFileSync(out, JSON.stringify(progress, null, 2) + '\n');
      if (Date.now() - lastPrint > 10_000) {
        lastPrint = Date.now();
        const line = Object.values(progress.targets).map((s) => `${s.target} ${s.nextIndex}/${count}${s.crash + s.hang + s.nonError > 0 ? ` (crash ${s.crash}, hang ${s.hang}, non-error ${s.nonError})` : ''}`);
        console.log(`[${Math.round((Date.now() - started) / 1000)} s] ${line.join(', ')}`);
      }
    },
  });
  fs.writeFileSync(out, JSON.stringify(summary, null, 2) + '\n');
  const escapes = findEscapes(workDir);
  console.log(`\n${formatTable(summary)}\n`);
  for (const s of Object.values(summary.targets)) {
    const codes = Object.entries(s.codes).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`);
    console.log(`${s.target}: rejections by code: ${codes.join(', ') || 'none'}`);
    for (const f of s.findings.slice(0, 10)) console.log(`  ${f.kind} #${f.index}: ${f.detail.slice(0, 200)}${f.saved ? `\n    saved: ${f.saved}` : ''}`);
    if (s.findings.length > 10) console.log(`  ... ${s.findings.length - 10} more in ${out}`);
  }
  console.log(escapes.length === 0 ? 'no file was written outside the inputs\' folders' : `FILES WRITTEN OUTSIDE THE INPUTS' FOLDERS:\n  ${escapes.join('\n  ')}`);
  console.log(`summary: ${out} (${Math.round((Date.now() - started) / 1000)} s)`);
  if (!args.has('work')) fs.rmSync(workDir, { recursive: true, force: true });
  const bad = Object.values(summary.targets).some((s) => s.crash + s.hang + s.nonError > 0) || escapes.length > 0;
  process.exitCode = bad ? 1 : 0;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 2;
});
