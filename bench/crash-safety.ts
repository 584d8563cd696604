// Crash safety: a training child is killed with SIGKILL at random moments
// (during steps and during checkpoint writes), restarted with resume each
// time; after every kill the latest checkpoint must load, and the finished
// run's per-epoch losses must equal an uninterrupted run's exactly.
//
// Run: npx ts-node --transpile-only bench/crash-safety.ts [kills=20] [seed=1]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCheckpoint } from '../lib/train/checkpoint';
import { random } from '../test/helpers/synthetic';

const register = require.resolve('ts-node/register/transpile-only');
const CHILD = path.join(__dirname, '..', 'test', 'helpers', 'crash-child.ts');
const STEPS_PER_EPOCH = 8; // 64 images, batch 8 (test/helpers/crash-child.ts)

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Starts the child; calls `onStep(stepsSoFar, kill)` for every STEP line. */
function runChild(runDir: string, epochs: number, onStep?: (steps: number, kill: () => void) => void): Promise<ChildRun> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, ['-r', register, '-e', `require(${JSON.stringify(CHILD)})`, '--', runDir, String(epochs)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let steps = 0;
    const kill = () => child.kill('SIGKILL');
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of chunk.toString().split('\n')) {
        if (line.startsWith('STEP ')) onStep?.(++steps, kill);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code, signal) => resolve({ code, signal, output }));
  });
}

function history(output: string): unknown {
  const line = output.split('\n').find((l) => l.startsWith('DONE '));
  if (line === undefined) throw new Error(`the child did not finish:\n${output.slice(-2000)}`);
  return JSON.parse(line.slice(5));
}

export interface CrashReport {
  kills: number;
  killedDuringWrite: number;
  checkpointsLoaded: number;
  identical: boolean;
  reference: unknown;
  resumed: unknown;
}

/**
 * Kills a training child `kills` times (fewer only if the run finishes
 * first: the report counts real kills). A kill before the first checkpoint
 * restarts the run from scratch, so the run is made long enough (two epochs
 * per requested kill) for the kills to fit.
 */
export async function crashTrial(kills: number, seed = 1): Promise<CrashReport> {
  const epochs = Math.max(6, 2 * kills);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-crash-'));
  try {
    const reference = await runChild(path.join(root, 'reference'), epochs);
    if (reference.code !== 0) throw new Error(`reference run failed:\n${reference.output.slice(-2000)}`);
    const runDir = path.join(root, 'killed');
    const next = random(seed);
    let killedDuringWrite = 0;
    let checkpointsLoaded = 0;
    let killed = 0;
    for (let k = 0; k < kills; k++) {
      // Kill after a random number of steps plus a random delay, so kills land
      // in steps, between them, and (half of them aimed there) inside the
      // checkpoint writes that follow each epoch's last step.
      const atEpochEnd = next() < 0.5;
      const afterSteps = atEpochEnd ? STEPS_PER_EPOCH * (1 + Math.floor(next() * 2)) : 1 + Math.floor(next() * 12);
      const delay = next() * (atEpochEnd ? 800 : 400);
      const run = await runChild(runDir, epochs, (steps, kill) => {
        if (steps === afterSteps) setTimeout(kill, delay);
      });
      if (run.code === 0) break; // finished before the kill: nothing left to interrupt
      if (run.signal !== 'SIGKILL') throw new Error(`child exited unexpectedly (${run.code}):\n${run.output.slice(-2000)}`);
      killed += 1;
      if (fs.readdirSync(runDir).some((name) => name.includes('.tmp-'))) killedDuringWrite += 1;
      const last = path.join(runDir, 'last.safetensors');
      if (fs.existsSync(last)) {
        const contents = loadCheckpoint(last); // throws if torn
        contents.model.forEach((t) => t.dispose());
        contents.ema?.forEach((t) => t.dispose());
        contents.optimizer?.state.forEach((t) => t.dispose());
        contents.rngState?.dispose();
        checkpointsLoaded += 1;
      }
    }
    const final = await runChild(runDir, epochs);
    if (final.code !== 0) throw new Error(`final resume failed:\n${final.output.slice(-2000)}`);
    const expected = history(reference.output);
    const actual = history(final.output);
    return { kills: killed, killedDuringWrite, checkpointsLoaded, identical: JSON.stringify(expected) === JSON.stringify(actual), reference: expected, resumed: actual };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const kills = Number(process.argv[2] ?? 20);
  const seed = Number(process.argv[3] ?? 1);
  crashTrial(kills, seed).then((report) => {
    console.log(`kills: ${report.kills}, during checkpoint writes: ${report.killedDuringWrite}, checkpoints loaded after a kill: ${report.checkpointsLoaded}`);
    console.log(`final losses identical to an uninterrupted run: ${report.identical}`);
    if (!report.identical) {
      console.log(JSON.stringify(report, null, 2));
      process.exit(1);
    }
  });
}
