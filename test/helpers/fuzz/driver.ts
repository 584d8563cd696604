// The fuzz parent: makes the seeds, runs inputs in child processes in
// batches, watches each child's lines with a per-input timeout, and counts
// outcomes per target. A child that dies mid-input (signal, abort, stray
// exception) is a crash of that input; one that stops printing for longer
// than the timeout is killed and the input counted as a hang. Either way the
// input is regenerated here from its index, saved with what happened, and
// the run continues with a fresh child from the next input.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnTs } from '../child';
import { canaryDirOf, casesDirOf, jailDirOf, loadCorpus, seedDirOf } from './corpus';
import { Prng } from './prng';
import type { ChildJob, ChildLine, ChildSpec } from './protocol';
import { escapeProbes } from './targets/tarball';
import { targetNamed } from './targets';
import type { FuzzCase, OutcomeKind, SeedCorpus } from './types';

export interface FuzzRunOptions {
  targets: readonly string[];
  /** Inputs per target. */
  count: number;
  seed: number;
  /** Seeds, inputs and the canary live here. */
  workDir: string;
  /** Crashing, hanging and otherwise bad inputs are saved here. */
  crashDir: string;
  /** A child that prints nothing for this long while running an input is killed: a hang. */
  inputTimeoutMs: number;
  /** Time allowed for a child to load (ts-node, libtorch, sharp). */
  startupTimeoutMs?: number;
  /** Generate inputs for known, unfixed bugs too. */
  knownBugs?: boolean;
  /** Inputs per child (default: each target's batchSize). */
  batchSize?: number;
  /** One child for all targets (until one crashes): fewer start-ups, for small CI runs. */
  shareChildren?: boolean;
  /** V8 heap limit of the children, so a runaway allocation ends quickly. */
  maxOldSpaceMb?: number;
  /** Resume: the summary of an earlier run with the same seed; its targets continue from nextIndex. */
  resumeFrom?: FuzzSummary;
  /** Called after every child exits (progress, checkpointing). */
  onProgress?: (summary: FuzzSummary) => void;
}

export interface Finding {
  target: string;
  index: number;
  kind: OutcomeKind;
  detail: string;
  /** Folder with the input's files and info.json. */
  saved?: string;
}

export interface TargetSummary {
  target: string;
  total: number;
  ok: number;
  jsError: number;
  unexpectedError: number;
  nonError: number;
  crash: number;
  hang: number;
  /** The next input index to run (== count when finished). */
  nextIndex: number;
  /** Rejections by error code (or name, when there is no code). */
  codes: Record<string, number>;
  findings: Finding[];
  slowestMs: number;
  slowestIndex: number;
  seconds: number;
}

export interface FuzzSummary {
  seed: number;
  count: number;
  knownBugs: boolean;
  targets: Record<string, TargetSummary>;
}

/** At most this many inputs are saved per target and kind (a systematic bug would flood the folder). */
const MAX_SAVED_PER_KIND = 25;

function emptySummary(target: string): TargetSummary {
  return { target, total: 0, ok: 0, jsError: 0, unexpectedError: 0, nonError: 0, crash: 0, hang: 0, nextIndex: 0, codes: {}, findings: [], slowestMs: 0, slowestIndex: -1, seconds: 0 };
}

const COUNTER: Record<OutcomeKind, keyof Pick<TargetSummary, 'ok' | 'jsError' | 'unexpectedError' | 'nonError' | 'crash' | 'hang'>> = {
  ok: 'ok',
  'js-error': 'jsError',
  'unexpected-error': 'unexpectedError',
  'non-error': 'nonError',
  crash: 'crash',
  hang: 'hang',
};

interface ChildResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  killedForHang: boolean;
  sawReady: boolean;
  sawDone: boolean;
  stderrTail: string;
}

/** Runs one child on `jobs`, passing each stdout line to `onLine`; resolves when it exits. */
function runChild(spec: ChildSpec, options: FuzzRunOptions, onLine: (line: ChildLine) => void): Promise<ChildResult> {
  const child: ChildProcess = spawnTs(path.join(__dirname, 'child-main.ts'), [JSON.stringify(spec)], {
    nodeArgs: [`--max-old-space-size=${options.maxOldSpaceMb ?? 2048}`],
  });
  return new Promise((resolve) => {
    let pending = '';
    let stderr = '';
    let sawReady = false;
    let sawDone = false;
    let killedForHang = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(
        () => {
          killedForHang = true;
          child.kill('SIGKILL');
        },
        sawReady ? options.inputTimeoutMs : (options.startupTimeoutMs ?? 120_000),
      );
    };
    arm();
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const text = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (!text.startsWith('{')) continue; // stray prints from libraries
        const line = JSON.parse(text) as ChildLine;
        if (line.t === 'ready') sawReady = true;
        if (line.t === 'done') sawDone = true;
        arm();
        onLine(line);
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('close', (exitCode, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ exitCode, signal, killedForHang, sawReady, sawDone, stderrTail: stderr });
    });
  });
}

/** Splits each target's remaining range into child-sized jobs. */
function planJobs(options: FuzzRunOptions, summaries: Record<string, TargetSummary>): ChildJob[][] {
  const jobs: ChildJob[] = options.targets.map((name) => ({ target: name, from: summaries[name]!.nextIndex, to: options.count })).filter((job) => job.from < job.to);
  if (options.shareChildren) return jobs.length > 0 ? [jobs] : [];
  const batches: ChildJob[][] = [];
  for (const job of jobs) {
    const size = options.batchSize ?? targetNamed(job.target).batchSize;
    for (let from = job.from; from < job.to; from += size) batches.push([{ target: job.target, from, to: Math.min(job.to, from + size) }]);
  }
  return batches;
}

/** Runs the whole fuzz campaign; returns counts per target. */
export async function runFuzz(options: FuzzRunOptions): Promise<FuzzSummary> {
  const knownBugs = options.knownBugs ?? false;
  fs.mkdirSync(canaryDirOf(options.workDir), { recursive: true });
  fs.mkdirSync(jailDirOf(options.workDir), { recursive: true });
  fs.mkdirSync(casesDirOf(options.workDir), { recursive: true });
  const corpora = new Map<string, SeedCorpus>();
  for (const name of options.targets) {
    const dir = seedDirOf(options.workDir, name);
    if (!fs.existsSync(dir) || fs.readdirSync(dir).length === 0) {
      fs.mkdirSync(dir, { recursive: true });
      await targetNamed(name).makeSeeds(dir);
    }
    corpora.set(name, loadCorpus(dir));
  }
  const summary: FuzzSummary = { seed: options.seed, count: options.count, knownBugs, targets: {} };
  for (const name of options.targets) {
    const earlier = options.resumeFrom?.targets[name];
    summary.targets[name] = earlier && options.resumeFrom!.seed === options.seed ? structuredClone(earlier) : emptySummary(name);
  }

  const regenerate = (target: string, index: number): FuzzCase =>
    targetNamed(target).mutate(Prng.forInput(options.seed, target, index), corpora.get(target)!, { knownBugs, canaryDir: canaryDirOf(options.workDir) });

  const record = (target: string, index: number, kind: OutcomeKind, detail: string): void => {
    const s = summary.targets[target]!;
    s[COUNTER[kind]]++;
    if (kind === 'ok' || kind === 'js-error') return;
    const finding: Finding = { target, index, kind, detail };
    if (s.findings.filter((f) => f.kind === kind).length < MAX_SAVED_PER_KIND) finding.saved = saveInput(options, target, index, kind, detail, regenerate(target, index));
    s.findings.push(finding);
  };
  /** Moves an input already counted (it ended) to another outcome: the process died after it finished. */
  const reclassify = (target: string, index: number, from: OutcomeKind, to: OutcomeKind, detail: string): void => {
    summary.targets[target]![COUNTER[from]]--;
    summary.targets[target]!.findings = summary.targets[target]!.findings.filter((f) => !(f.index === index && f.kind === from));
    record(target, index, to, detail);
  };

  while (true) {
    const batches = planJobs(options, summary.targets);
    if (batches.length === 0) break;
    const jobs = batches[0]!;
    let begun: { target: string; i: number } | undefined;
    let lastEnded: { target: string; i: number; kind: OutcomeKind } | undefined;
    let stray: { target?: string; i?: number; message: string } | undefined;
    let fuzzerError: string | undefined;
    // Wall time between consecutive outcomes (generation, writing and parsing; not the child's start-up).
    let lastMark = Date.now();
    const result = await runChild({ workDir: options.workDir, seed: options.seed, knownBugs, jobs }, options, (line) => {
      if (line.t === 'ready') lastMark = Date.now();
      else if (line.t === 'begin') {
        begun = { target: line.target, i: line.i };
      } else if (line.t === 'end') {
        const s = summary.targets[line.target]!;
        const expected = targetNamed(line.target).expectedCodes;
        let kind: OutcomeKind;
        let detail = '';
        if (line.outcome === 'ok') kind = 'ok';
        else if (line.outcome === 'non-error') {
          kind = 'non-error';
          detail = `threw a non-Error: ${line.message}`;
        } else {
          const key = line.code ?? line.name;
          s.codes[key] = (s.codes[key] ?? 0) + 1;
          kind = line.code !== undefined && expected.includes(line.code) ? 'js-error' : 'unexpected-error';
          detail = `${line.name}${line.code ? ` [${line.code}]` : ''}: ${line.message}`;
        }
        s.total++;
        s.nextIndex = line.i + 1;
        if (line.ms > s.slowestMs) {
          s.slowestMs = Math.round(line.ms);
          s.slowestIndex = line.i;
        }
        record(line.target, line.i, kind, detail);
        begun = undefined;
        lastEnded = { target: line.target, i: line.i, kind };
        s.seconds += (Date.now() - lastMark) / 1000;
        lastMark = Date.now();
      } else if (line.t === 'uncaught') stray = line;
      else if (line.t === 'fuzzer-error') fuzzerError = `${line.target} #${line.i}: ${line.message}`;
    });
    if (fuzzerError !== undefined) throw new Error(`fuzzer bug (not a parser finding): ${fuzzerError}`);
    if (!result.sawReady) throw new Error(`fuzz child failed to start (exit ${result.exitCode}, signal ${result.signal}): ${result.stderrTail}`);
    if (result.sawDone && result.exitCode === 0) {
      options.onProgress?.(summary);
      continue;
    }
    const how = result.killedForHang
      ? `no progress for ${options.inputTimeoutMs} ms (killed)`
      : stray !== undefined
        ? `uncaught exception: ${stray.message}`
        : `process died (exit ${result.exitCode}, signal ${result.signal}): ${result.stderrTail.trim().split('\n').slice(-3).join(' | ')}`;
    const kind: OutcomeKind = result.killedForHang ? 'hang' : 'crash';
    const culprit = begun ?? (stray?.target !== undefined ? { target: stray.target, i: stray.i! } : undefined);
    if (culprit !== undefined && (lastEnded === undefined || lastEnded.target !== culprit.target || lastEnded.i !== culprit.i)) {
      const s = summary.targets[culprit.target]!;
      s.total++;
      s.nextIndex = culprit.i + 1;
      record(culprit.target, culprit.i, kind, how);
    } else if (lastEnded !== undefined) {
      reclassify(lastEnded.target, lastEnded.i, lastEnded.kind, kind, `after the input finished: ${how}`);
    } else {
      throw new Error(`fuzz child stopped before its first input: ${how}`);
    }
    options.onProgress?.(summary);
  }
  fs.rmSync(casesDirOf(options.workDir), { recursive: true, force: true });
  return summary;
}

function saveInput(options: FuzzRunOptions, target: string, index: number, kind: OutcomeKind, detail: string, input: FuzzCase): string {
  const dir = path.join(options.crashDir, `${target}-seed${options.seed}-${index}-${kind}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'files'), { recursive: true });
  for (const file of input.files) {
    const at = path.join(dir, 'files', file.name);
    fs.mkdirSync(path.dirname(at), { recursive: true });
    fs.writeFileSync(at, file.data);
  }
  const info = { target, seed: options.seed, index, kind, detail, params: input.params, mutations: input.log, knownBugs: options.knownBugs ?? false };
  fs.writeFileSync(path.join(dir, 'info.json'), JSON.stringify(info, null, 2) + '\n');
  return dir;
}

/** Files that tar entries could have written outside their input's folder (should be none). */
export function findEscapes(workDir: string): string[] {
  const found: string[] = [];
  for (const probe of escapeProbes(jailDirOf(workDir), canaryDirOf(workDir))) if (fs.existsSync(probe)) found.push(probe);
  for (const dir of [canaryDirOf(workDir), path.join(workDir, 'jail')]) {
    for (const name of fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]) : []) {
      const full = path.join(dir, name);
      if (!fs.statSync(full).isDirectory()) found.push(full);
    }
  }
  return found;
}

/** A fixed-width table of the counts, one row per target. */
export function formatTable(summary: FuzzSummary): string {
  const header = ['parser', 'total', 'ok', 'js-error', 'unexpected', 'non-error', 'crash', 'hang', 'slowest ms', 'seconds'];
  const rows = Object.values(summary.targets).map((s) => [s.target, s.total, s.ok, s.jsError, s.unexpectedError, s.nonError, s.crash, s.hang, s.slowestMs, s.seconds.toFixed(1)].map(String));
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const format = (cells: string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [format(header), format(widths.map((w) => '-'.repeat(w))), ...rows.map(format)].join('\n');
}
