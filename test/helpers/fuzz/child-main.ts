// A fuzz child: generates inputs [from, to) of each job, writes each to its
// folder, feeds it to the target's parser and prints one line before and
// one after. The parent reads the lines: a 'begin' without its 'end' is the
// input that crashed or hung the process.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { casesDirOf, canaryDirOf, jailDirOf, loadCorpus, seedDirOf, writeCase } from './corpus';
import { Prng } from './prng';
import type { ChildLine, ChildSpec } from './protocol';
import { targetNamed } from './targets';
import type { MutateContext } from './types';

const emit = (line: ChildLine): void => {
  fs.writeSync(1, JSON.stringify(line) + '\n');
};
const firstChars = (text: string): string => text.slice(0, 400);

let current: { target: string; i: number } | undefined;

function onStray(error: unknown): void {
  // An exception no caller could catch (a stray async error) would kill a real program too: report it as a crash.
  emit({ t: 'uncaught', ...current, message: firstChars(error instanceof Error ? `${error.name}: ${error.message}` : String(error)) });
  process.exit(70);
}
process.on('uncaughtException', onStray);
process.on('unhandledRejection', onStray);

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[process.argv.length - 1]!) as ChildSpec;
  const context: MutateContext = { knownBugs: spec.knownBugs, canaryDir: canaryDirOf(spec.workDir) };
  fs.mkdirSync(jailDirOf(spec.workDir), { recursive: true });
  process.chdir(jailDirOf(spec.workDir));
  emit({ t: 'ready' });
  for (const job of spec.jobs) {
    const target = targetNamed(job.target);
    const seeds = loadCorpus(seedDirOf(spec.workDir, target.name));
    const caseDir = path.join(casesDirOf(spec.workDir), `${target.name}-${process.pid}`);
    for (let i = job.from; i < job.to; i++) {
      let input;
      try {
        input = target.mutate(Prng.forInput(spec.seed, target.name, i), seeds, context);
        writeCase(caseDir, input);
      } catch (error) {
        emit({ t: 'fuzzer-error', target: target.name, i, message: firstChars((error as Error).stack ?? String(error)) });
        process.exit(3);
      }
      current = { target: target.name, i };
      emit({ t: 'begin', target: target.name, i });
      const start = performance.now();
      try {
        await target.run(caseDir, input);
        emit({ t: 'end', target: target.name, i, ms: performance.now() - start, outcome: 'ok' });
      } catch (error) {
        const ms = performance.now() - start;
        if (error instanceof Error && typeof error.message === 'string' && error.message.length > 0) {
          const code = (error as { code?: unknown }).code;
          emit({ t: 'end', target: target.name, i, ms, outcome: 'error', name: error.name, ...(typeof code === 'string' ? { code } : {}), message: firstChars(error.message) });
        } else {
          emit({ t: 'end', target: target.name, i, ms, outcome: 'non-error', message: firstChars(String(error)) });
        }
      }
      // Let stray callbacks of this input (stream errors after a rejection) fire while it is still the current one.
      await new Promise((resolve) => setImmediate(resolve));
    }
    fs.rmSync(caseDir, { recursive: true, force: true });
  }
  current = undefined;
  emit({ t: 'done' });
  // sharp's thread pool and libtorch may keep the loop alive; the work is done.
  process.exit(0);
}

void main().catch(onStray);
