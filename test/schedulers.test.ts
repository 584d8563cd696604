// Learning-rate schedules against torch.optim.lr_scheduler, computed at test
// time by test/reference/schedulers.py with real SGD / Adam optimizers (two
// parameter groups each), over whole runs; plus resuming from a JSON state and
// argument errors.
//
// Exactness: every schedule without a cosine must match PyTorch bit for bit.
// Those with a cosine (CosineAnnealingLR, cos-annealed OneCycleLR, and
// SequentialLRs containing them) use a correctly rounded cos, while Python's
// math.cos is glibc's, which is not correctly rounded for about 0.1% of
// arguments (and whose result depends on the glibc version and CPU); so for
// them we allow 1e-12 relative and report how many values matched exactly.
import t from 'tap';
import * as tt from '../lib';
import {
  CosineAnnealingLR,
  cosineWithWarmup,
  LinearLR,
  LRScheduler,
  MultiStepLR,
  OneCycleLR,
  ReduceLROnPlateau,
  SequentialLR,
  StepLR,
  type CosineAnnealingLROptions,
  type LinearLROptions,
  type LrSchedule,
  type MultiStepLROptions,
  type OneCycleLROptions,
  type ReduceLROnPlateauOptions,
  type SchedulerState,
  type StepLROptions,
} from '../lib/optim/schedulers';
import type { GroupOptions, SchedulableOptimizer } from '../lib/optim/types';
import { cos, powInt } from '../lib/optim/schedules/exact-math';
import { runReferenceWithMetadata } from './helpers/python';

// ---------------------------------------------------------------------------
// A stand-in optimizer: group options in plain objects, copied in and out as
// the real optimizer does.

function copyOptions<T extends Partial<GroupOptions>>(options: T): T {
  const copy = { ...options };
  if (options.betas !== undefined) copy.betas = [...options.betas] as [number, number];
  return copy;
}

class FakeOptimizer implements SchedulableOptimizer {
  private readonly groups: GroupOptions[];

  constructor(groups: GroupOptions[]) {
    this.groups = groups.map(copyOptions);
  }

  get groupCount(): number {
    return this.groups.length;
  }

  private group(index: number): GroupOptions {
    const group = this.groups[index];
    if (group === undefined) throw new RangeError(`no parameter group ${index}`);
    return group;
  }

  getGroupOptions(index: number): GroupOptions {
    return copyOptions(this.group(index));
  }

  setGroupOptions(index: number, options: Partial<GroupOptions>): void {
    Object.assign(this.group(index), copyOptions(options));
  }
}

// ---------------------------------------------------------------------------
// Cases, written once as PyTorch specs (snake_case keyword arguments); the
// TypeScript side is built from the same spec unless a case says otherwise.

interface OptimizerSpec {
  type: 'sgd' | 'adam';
  lrs: number[];
  momentum?: number;
  betas?: [number, number];
}

type Kwargs = Record<string, number | boolean | string | number[]>;
type ScheduleSpec =
  | { type: 'StepLR' | 'MultiStepLR' | 'LinearLR' | 'CosineAnnealingLR' | 'OneCycleLR' | 'ReduceLROnPlateau'; kwargs: Kwargs }
  | { type: 'SequentialLR'; schedulers: ScheduleSpec[]; milestones: number[] };

interface Case {
  name: string;
  optimizer: OptimizerSpec;
  schedule: ScheduleSpec;
  steps: number;
  /** ReduceLROnPlateau: the metric passed at each step. */
  metrics?: number[];
  /** Try one step more than the run and expect PyTorch's error (OneCycleLR). */
  step_past_end?: boolean;
  /** Builds the TypeScript schedule when it is not the literal translation of `schedule`. */
  build?: (optimizer: FakeOptimizer) => Schedule;
  /** Involves math.cos: compared within 1e-12 relative (see the top of this file). */
  usesCos?: boolean;
}

type Schedule = LRScheduler | ReduceLROnPlateau;

const SGD: OptimizerSpec = { type: 'sgd', lrs: [0.1, 0.02], momentum: 0.9 };
const ADAM: OptimizerSpec = { type: 'adam', lrs: [1e-3, 3e-4], betas: [0.9, 0.999] };

// Park-Miller: deterministic noise, so both sides see the same metric values.
function noise(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
}

/** A loss that falls, then wanders on a plateau. */
function lossCurve(steps: number, seed: number): number[] {
  const random = noise(seed);
  return Array.from({ length: steps }, (_, i) => 2.0 * Math.exp(-Math.min(i, 40) / 12) + 0.3 + 0.04 * random());
}

/** An accuracy that rises, then wanders on a plateau. */
function accuracyCurve(steps: number, seed: number): number[] {
  const random = noise(seed);
  return Array.from({ length: steps }, (_, i) => 0.9 - 0.8 * Math.exp(-Math.min(i, 30) / 8) + 0.02 * random());
}

const CASES: Case[] = [
  { name: 'StepLR sgd', optimizer: SGD, schedule: { type: 'StepLR', kwargs: { step_size: 7, gamma: 0.1 } }, steps: 60 },
  { name: 'StepLR adam', optimizer: ADAM, schedule: { type: 'StepLR', kwargs: { step_size: 3, gamma: 0.5 } }, steps: 50 },
  { name: 'StepLR default gamma', optimizer: SGD, schedule: { type: 'StepLR', kwargs: { step_size: 30 } }, steps: 100 },
  {
    name: 'MultiStepLR repeated milestone',
    optimizer: SGD,
    schedule: { type: 'MultiStepLR', kwargs: { milestones: [10, 25, 25, 40], gamma: 0.1 } },
    steps: 60,
  },
  { name: 'MultiStepLR unsorted', optimizer: ADAM, schedule: { type: 'MultiStepLR', kwargs: { milestones: [30, 5, 15], gamma: 0.3 } }, steps: 40 },
  { name: 'LinearLR defaults', optimizer: SGD, schedule: { type: 'LinearLR', kwargs: {} }, steps: 30 },
  {
    name: 'LinearLR warmup',
    optimizer: ADAM,
    schedule: { type: 'LinearLR', kwargs: { start_factor: 0.01, end_factor: 1.0, total_iters: 40 } },
    steps: 60,
  },
  {
    name: 'LinearLR decay to zero',
    optimizer: SGD,
    schedule: { type: 'LinearLR', kwargs: { start_factor: 1.0, end_factor: 0.0, total_iters: 20 } },
    steps: 30,
  },
  { name: 'CosineAnnealingLR past tMax', optimizer: SGD, schedule: { type: 'CosineAnnealingLR', kwargs: { T_max: 50 } }, steps: 120, usesCos: true },
  {
    name: 'CosineAnnealingLR etaMin',
    optimizer: ADAM,
    schedule: { type: 'CosineAnnealingLR', kwargs: { T_max: 17, eta_min: 1e-5 } },
    steps: 80,
    usesCos: true,
  },
  {
    name: 'cosineWithWarmup sgd',
    optimizer: SGD,
    schedule: {
      type: 'SequentialLR',
      schedulers: [
        { type: 'LinearLR', kwargs: { start_factor: 0.01, end_factor: 1.0, total_iters: 10 } },
        { type: 'CosineAnnealingLR', kwargs: { T_max: 90, eta_min: 1e-4 } },
      ],
      milestones: [10],
    },
    build: (optimizer) => cosineWithWarmup(optimizer, { warmupSteps: 10, totalSteps: 100, warmupStartFactor: 0.01, etaMin: 1e-4 }),
    steps: 100,
    usesCos: true,
  },
  {
    name: 'cosineWithWarmup defaults, run past the end',
    optimizer: ADAM,
    schedule: {
      type: 'SequentialLR',
      schedulers: [
        { type: 'LinearLR', kwargs: { total_iters: 5 } },
        { type: 'CosineAnnealingLR', kwargs: { T_max: 45 } },
      ],
      milestones: [5],
    },
    build: (optimizer) => cosineWithWarmup(optimizer, { warmupSteps: 5, totalSteps: 50 }),
    steps: 60,
    usesCos: true,
  },
  {
    name: 'cosineWithWarmup without warmup',
    optimizer: SGD,
    schedule: {
      type: 'SequentialLR',
      schedulers: [
        { type: 'LinearLR', kwargs: { start_factor: 0.1, end_factor: 1.0, total_iters: 0 } },
        { type: 'CosineAnnealingLR', kwargs: { T_max: 30 } },
      ],
      milestones: [0],
    },
    build: (optimizer) => cosineWithWarmup(optimizer, { warmupSteps: 0, totalSteps: 30, warmupStartFactor: 0.1 }),
    steps: 30,
    usesCos: true,
  },
  {
    name: 'SequentialLR of three',
    optimizer: ADAM,
    schedule: {
      type: 'SequentialLR',
      schedulers: [
        { type: 'LinearLR', kwargs: { start_factor: 0.1, total_iters: 5 } },
        { type: 'StepLR', kwargs: { step_size: 10, gamma: 0.5 } },
        { type: 'MultiStepLR', kwargs: { milestones: [3, 8], gamma: 0.2 } },
      ],
      milestones: [5, 30],
    },
    steps: 50,
  },
  {
    name: 'SequentialLR into OneCycleLR',
    optimizer: SGD,
    schedule: {
      type: 'SequentialLR',
      schedulers: [
        { type: 'StepLR', kwargs: { step_size: 4, gamma: 0.5 } },
        { type: 'OneCycleLR', kwargs: { max_lr: [0.3, 0.05], total_steps: 30 } },
      ],
      milestones: [8],
    },
    steps: 38,
    usesCos: true,
  },
  {
    name: 'OneCycleLR cos sgd',
    optimizer: SGD,
    schedule: { type: 'OneCycleLR', kwargs: { max_lr: [0.1, 0.05], total_steps: 100 } },
    steps: 100,
    step_past_end: true,
    usesCos: true,
  },
  {
    name: 'OneCycleLR linear adam, epochs x stepsPerEpoch',
    optimizer: ADAM,
    schedule: {
      type: 'OneCycleLR',
      kwargs: {
        max_lr: 0.01,
        epochs: 4,
        steps_per_epoch: 25,
        anneal_strategy: 'linear',
        pct_start: 0.25,
        div_factor: 10,
        final_div_factor: 100,
      },
    },
    steps: 100,
    step_past_end: true,
  },
  {
    name: 'OneCycleLR three phase cos',
    optimizer: SGD,
    schedule: {
      type: 'OneCycleLR',
      kwargs: { max_lr: 0.2, total_steps: 90, three_phase: true, base_momentum: [0.8, 0.85], max_momentum: [0.9, 0.95] },
    },
    steps: 90,
    usesCos: true,
  },
  {
    name: 'OneCycleLR three phase linear adam',
    optimizer: ADAM,
    schedule: {
      type: 'OneCycleLR',
      kwargs: { max_lr: [0.004, 0.002], total_steps: 77, three_phase: true, anneal_strategy: 'linear', pct_start: 0.4 },
    },
    steps: 77,
  },
  {
    name: 'OneCycleLR without momentum cycling',
    optimizer: SGD,
    schedule: { type: 'OneCycleLR', kwargs: { max_lr: 0.5, total_steps: 40, cycle_momentum: false, anneal_strategy: 'linear' } },
    steps: 40,
  },
  {
    name: 'ReduceLROnPlateau defaults',
    optimizer: SGD,
    schedule: { type: 'ReduceLROnPlateau', kwargs: {} },
    steps: 120,
    metrics: lossCurve(120, 7),
  },
  {
    name: 'ReduceLROnPlateau max abs cooldown minLr per group',
    optimizer: ADAM,
    schedule: {
      type: 'ReduceLROnPlateau',
      kwargs: { mode: 'max', factor: 0.5, patience: 2, threshold: 0.01, threshold_mode: 'abs', cooldown: 3, min_lr: [2e-4, 1e-4] },
    },
    steps: 100,
    metrics: accuracyCurve(100, 11),
  },
  {
    name: 'ReduceLROnPlateau min abs, patience 0, eps',
    optimizer: SGD,
    schedule: {
      type: 'ReduceLROnPlateau',
      kwargs: { threshold_mode: 'abs', threshold: 0.05, patience: 0, factor: 0.3, min_lr: 0.001, eps: 1e-3 },
    },
    steps: 60,
    metrics: lossCurve(60, 3),
  },
  {
    name: 'ReduceLROnPlateau max rel',
    optimizer: ADAM,
    schedule: { type: 'ReduceLROnPlateau', kwargs: { mode: 'max', patience: 4, factor: 0.2 } },
    steps: 80,
    metrics: accuracyCurve(80, 5),
  },
];

// ---------------------------------------------------------------------------
// The TypeScript side.

function fakeOptimizer(spec: OptimizerSpec): FakeOptimizer {
  return new FakeOptimizer(
    spec.lrs.map((lr) => (spec.type === 'sgd' ? { lr, momentum: spec.momentum!, weightDecay: 0 } : { lr, betas: spec.betas!, weightDecay: 0 })),
  );
}

function camelCase(key: string): string {
  return key === 'T_max' ? 'tMax' : key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function buildSchedule(optimizer: FakeOptimizer, spec: ScheduleSpec): Schedule {
  if (spec.type === 'SequentialLR') {
    const schedulers = spec.schedulers.map((child) => buildSchedule(optimizer, child) as LRScheduler);
    return new SequentialLR(optimizer, { schedulers, milestones: spec.milestones });
  }
  const options: unknown = Object.fromEntries(Object.entries(spec.kwargs).map(([key, value]) => [camelCase(key), value]));
  switch (spec.type) {
    case 'StepLR':
      return new StepLR(optimizer, options as StepLROptions);
    case 'MultiStepLR':
      return new MultiStepLR(optimizer, options as MultiStepLROptions);
    case 'LinearLR':
      return new LinearLR(optimizer, options as LinearLROptions);
    case 'CosineAnnealingLR':
      return new CosineAnnealingLR(optimizer, options as CosineAnnealingLROptions);
    case 'OneCycleLR':
      return new OneCycleLR(optimizer, options as OneCycleLROptions);
    case 'ReduceLROnPlateau':
      return new ReduceLROnPlateau(optimizer, options as ReduceLROnPlateauOptions);
  }
}

interface Run {
  lr: number[][];
  momentum: number[][];
  lastEpoch: number[];
  /** The optimizer's own lrs, which must equal getLastLr(). */
  groupLr: number[][];
  stepError: string | null;
}

function momentumsOf(optimizer: SchedulableOptimizer): number[] {
  return Array.from({ length: optimizer.groupCount }, (_, i) => {
    const options = optimizer.getGroupOptions(i);
    return options.betas !== undefined ? options.betas[0] : options.momentum!;
  });
}

function stepOnce(schedule: Schedule, c: Case, index: number): void {
  if (schedule instanceof ReduceLROnPlateau) schedule.step(c.metrics![index]!);
  else schedule.step();
}

function emptyRun(): Run {
  return { lr: [], momentum: [], lastEpoch: [], groupLr: [], stepError: null };
}

function snapshot(run: Run, schedule: LrSchedule, optimizer: SchedulableOptimizer): void {
  run.lr.push(schedule.getLastLr());
  run.momentum.push(momentumsOf(optimizer));
  run.lastEpoch.push(schedule.lastEpoch);
  run.groupLr.push(Array.from({ length: optimizer.groupCount }, (_, i) => optimizer.getGroupOptions(i).lr));
}

function makeSchedule(c: Case, optimizer: FakeOptimizer): Schedule {
  return c.build ? c.build(optimizer) : buildSchedule(optimizer, c.schedule);
}

function runTs(c: Case): Run {
  const optimizer = fakeOptimizer(c.optimizer);
  const schedule = makeSchedule(c, optimizer);
  const run = emptyRun();
  snapshot(run, schedule, optimizer);
  for (let i = 0; i < c.steps; i++) {
    stepOnce(schedule, c, i);
    snapshot(run, schedule, optimizer);
  }
  if (c.step_past_end) {
    try {
      stepOnce(schedule, c, c.steps);
    } catch (error) {
      run.stepError = (error as Error).message;
    }
  }
  return run;
}

/** Runs `at` steps, saves the state through JSON, resumes on a fresh optimizer and schedule, and finishes the run. */
function runTsResumed(c: Case, at: number): Run {
  const first = fakeOptimizer(c.optimizer);
  const before = makeSchedule(c, first);
  const run = emptyRun();
  snapshot(run, before, first);
  for (let i = 0; i < at; i++) {
    stepOnce(before, c, i);
    snapshot(run, before, first);
  }
  const saved = JSON.parse(JSON.stringify(before.stateDict())) as SchedulerState;
  const second = fakeOptimizer(c.optimizer);
  const after = makeSchedule(c, second);
  after.loadStateDict(saved);
  for (let i = at; i < c.steps; i++) {
    stepOnce(after, c, i);
    snapshot(run, after, second);
  }
  return run;
}

// ---------------------------------------------------------------------------
// Comparison.

interface SeriesComparison {
  ok: boolean;
  exact: number;
  total: number;
  maxRelativeDiff: number;
  firstMismatch: string;
}

function compareSeries(actual: number[][], expected: number[][], relativeTolerance: number): SeriesComparison {
  const result: SeriesComparison = { ok: actual.length === expected.length, exact: 0, total: 0, maxRelativeDiff: 0, firstMismatch: '' };
  if (!result.ok) result.firstMismatch = `${actual.length} snapshots vs ${expected.length}`;
  expected.forEach((row, step) => {
    row.forEach((want, group) => {
      const got = actual[step]?.[group];
      result.total++;
      if (got === want) {
        result.exact++;
        return;
      }
      const relative = got === undefined ? Infinity : Math.abs(got - want) / Math.abs(want);
      result.maxRelativeDiff = Math.max(result.maxRelativeDiff, relative);
      if (!(relative <= relativeTolerance) && result.ok) {
        result.ok = false;
        result.firstMismatch = `step ${step} group ${group}: ${got} vs PyTorch ${want}`;
      }
    });
  });
  return result;
}

// ---------------------------------------------------------------------------

// Arguments for the libm comparison: the cosine arguments schedules produce, and powers of typical gammas.
const LIBM_ARGUMENTS = {
  cos: [
    ...Array.from({ length: 200 }, (_, k) => (Math.PI * k) / 50),
    ...Array.from({ length: 1000 }, (_, k) => Math.PI * (k / 999)),
    ...Array.from({ length: 1000 }, (_, k) => (k * Math.PI) / 997),
    0,
    -1.5,
    1e-9,
    1e-30,
    Math.PI / 2,
    1e22,
    1e300,
  ],
  pow: [0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.95, 1 / 3, -0.3, 1.1].flatMap((base) => Array.from({ length: 30 }, (_, n): [number, number] => [base, n])),
};

// One Python run (start-up costs seconds) for every case, made when a test first needs it.
let referenceMetadata: Record<string, string> | undefined;
function pytorchResults(): Record<string, string> {
  referenceMetadata ??= runReferenceWithMetadata('schedulers.py', { dummy: tt.zeros([1]) }, { cases: CASES, libm: LIBM_ARGUMENTS }).metadata;
  return referenceMetadata;
}

t.test('cos and integer powers are correctly rounded, as the C library (almost always) is', (t) => {
  const libm = JSON.parse(pytorchResults().libm!) as { cos: number[]; pow: number[] };
  const powMismatches = LIBM_ARGUMENTS.pow.filter(([base, n], i) => powInt(base, n) !== libm.pow[i]);
  t.same(powMismatches, [], 'float ** int: every power identical');
  let identical = 0;
  let withinOneUlp = 0;
  LIBM_ARGUMENTS.cos.forEach((x, i) => {
    const got = cos(x);
    const want = libm.cos[i]!;
    if (got === want) identical++;
    if (Math.abs(got - want) <= Math.abs(want) * 2 ** -52) withinOneUlp++;
  });
  const total = LIBM_ARGUMENTS.cos.length;
  t.equal(withinOneUlp, total, 'math.cos: every value within one ulp');
  // glibc's cos is not correctly rounded for about 0.1% of arguments.
  t.ok(identical >= 0.99 * total, `math.cos: ${identical}/${total} identical`);
  // cos(1e22) = 0.52321478539513894549..., the classic test of argument reduction.
  t.equal(cos(1e22), 0.523214785395139, 'cos(1e22)');
  t.ok(Number.isNaN(cos(Infinity)) && Number.isNaN(cos(NaN)), 'cos of Infinity and NaN is NaN');
  t.equal(powInt(0.5, 0), 1);
  t.equal(powInt(0, 3), 0);
  t.throws(() => powInt(2, 0.5), RangeError);
  t.end();
});

t.test('schedules match torch.optim.lr_scheduler over whole runs', (t) => {
  const metadata = pytorchResults();
  const reference = JSON.parse(metadata.results!) as Record<string, Run>;
  t.comment(`PyTorch ${metadata.torch}`);
  for (const c of CASES) {
    t.test(c.name, (t) => {
      const expected = reference[c.name]!;
      const actual = runTs(c);
      const tolerance = c.usesCos ? 1e-12 : 0;
      const lr = compareSeries(actual.lr, expected.lr, tolerance);
      t.ok(lr.ok, `lr over ${c.steps} steps: ${lr.exact}/${lr.total} bit-identical, max rel diff ${lr.maxRelativeDiff.toExponential(2)} ${lr.firstMismatch}`);
      const momentum = compareSeries(actual.momentum, expected.momentum, tolerance);
      t.ok(momentum.ok, `momentum / beta1: ${momentum.exact}/${momentum.total} bit-identical ${momentum.firstMismatch}`);
      t.same(actual.lastEpoch, expected.lastEpoch, 'lastEpoch at every step');
      t.same(actual.groupLr, actual.lr, "getLastLr() is the optimizer's lr");
      if (c.step_past_end) {
        t.match(expected.stepError, /Tried to step \d+ times/, 'PyTorch refuses a step past the end');
        t.match(actual.stepError, new RegExp(`tried to step ${c.steps + 1} times; the specified number of total steps is ${c.steps}`), 'so do we');
      }
      t.end();
    });
  }
  t.end();
});

t.test('a schedule resumed from its JSON state continues exactly as one never interrupted', (t) => {
  const resumePoints: Record<string, number[]> = {
    'StepLR sgd': [0, 13, 14],
    'MultiStepLR repeated milestone': [24, 25, 26],
    'LinearLR warmup': [1, 17, 40, 41],
    'CosineAnnealingLR past tMax': [1, 50, 51, 77],
    'cosineWithWarmup sgd': [0, 5, 9, 10, 11, 60],
    'cosineWithWarmup without warmup': [0, 1, 15],
    'SequentialLR of three': [4, 5, 6, 30, 31, 45],
    'SequentialLR into OneCycleLR': [7, 8, 9, 20],
    'OneCycleLR linear adam, epochs x stepsPerEpoch': [0, 30, 99],
    'OneCycleLR three phase cos': [1, 45, 70],
    'OneCycleLR without momentum cycling': [12],
    'ReduceLROnPlateau defaults': [0, 50, 90],
    'ReduceLROnPlateau max abs cooldown minLr per group': [3, 20, 37, 38, 39],
  };
  for (const [name, points] of Object.entries(resumePoints)) {
    const c = CASES.find((candidate) => candidate.name === name)!;
    const uninterrupted = runTs(c);
    for (const at of points) {
      const resumed = runTsResumed(c, at);
      const same =
        compareSeries(resumed.lr, uninterrupted.lr, 0).ok &&
        compareSeries(resumed.groupLr, uninterrupted.groupLr, 0).ok &&
        compareSeries(resumed.momentum, uninterrupted.momentum, 0).ok &&
        resumed.lastEpoch.join() === uninterrupted.lastEpoch.join();
      t.ok(same, `${name}, resumed after step ${at}`);
    }
  }
  t.end();
});

t.test('states are plain JSON, infinities included', (t) => {
  const optimizer = fakeOptimizer(SGD);
  const plateau = new ReduceLROnPlateau(optimizer);
  const state = plateau.stateDict();
  t.equal(state.best, 'Infinity', 'best starts at +Infinity, written as a string');
  t.same(JSON.parse(JSON.stringify(state)), state, 'survives JSON unchanged');

  const sequential = cosineWithWarmup(fakeOptimizer(SGD), { warmupSteps: 3, totalSteps: 10 });
  const sequentialState = sequential.stateDict();
  t.equal((sequentialState.schedulers as SchedulerState[]).length, 2, "SequentialLR's state holds its children's");
  t.same(JSON.parse(JSON.stringify(sequentialState)), sequentialState);
  t.end();
});

t.test('loadStateDict refuses states it cannot resume', (t) => {
  const optimizer = fakeOptimizer(SGD);
  const step = new StepLR(optimizer, { stepSize: 3 });
  const cosine = new CosineAnnealingLR(fakeOptimizer(SGD), { tMax: 10 });
  t.throws(() => cosine.loadStateDict(step.stateDict()), { name: 'TypeError', message: /state is for "StepLR", not 'CosineAnnealingLR'/ });
  const { lastEpoch: _dropped, ...withoutEpoch } = step.stateDict();
  t.throws(() => step.loadStateDict(withoutEpoch as SchedulerState), { name: 'TypeError', message: /field 'lastEpoch' must be an integer/ });
  t.throws(() => step.loadStateDict({ ...step.stateDict(), baseLrs: [0.1] }), { name: 'TypeError', message: /field 'baseLrs' must be an array of 2 numbers/ });
  t.throws(() => step.loadStateDict(null as unknown as SchedulerState), { name: 'TypeError', message: /state must be an object/ });
  const before = step.stateDict();
  t.throws(() => step.loadStateDict({ ...step.stateDict(), lastEpoch: 7, gamma: 'x' }));
  t.same(step.stateDict(), before, 'a rejected state changes nothing');
  t.end();
});

t.test('bad arguments throw errors that name them', (t) => {
  const sgd = (): FakeOptimizer => fakeOptimizer(SGD);
  const cases: [string, () => unknown, 'TypeError' | 'RangeError', RegExp][] = [
    ['optimizer without group options', () => new StepLR({} as SchedulableOptimizer, { stepSize: 1 }), 'TypeError', /StepLR: optimizer must have groupCount/],
    ['NaN group lr', () => new StepLR(new FakeOptimizer([{ lr: NaN }]), { stepSize: 1 }), 'RangeError', /lr of parameter group 0 must be a finite number >= 0, got NaN/],
    ['negative group lr', () => new LinearLR(new FakeOptimizer([{ lr: 0.1 }, { lr: -1 }])), 'RangeError', /lr of parameter group 1/],
    ['fractional stepSize', () => new StepLR(sgd(), { stepSize: 2.5 }), 'RangeError', /StepLR: stepSize must be an integer >= 1, got 2.5/],
    ['string stepSize', () => new StepLR(sgd(), { stepSize: '3' as unknown as number }), 'TypeError', /stepSize must be an integer, got "3"/],
    ['zero stepSize', () => new StepLR(sgd(), { stepSize: 0 }), 'RangeError', /stepSize/],
    ['NaN gamma', () => new StepLR(sgd(), { stepSize: 2, gamma: NaN }), 'RangeError', /StepLR: gamma must be a finite number >= 0, got NaN/],
    ['negative milestone', () => new MultiStepLR(sgd(), { milestones: [1, -2] }), 'RangeError', /milestones\[1\] must be an integer >= 0/],
    ['milestones not an array', () => new MultiStepLR(sgd(), { milestones: 3 as unknown as number[] }), 'TypeError', /milestones must be an array/],
    ['startFactor 0', () => new LinearLR(sgd(), { startFactor: 0 }), 'RangeError', /startFactor must be a finite number > 0 and <= 1/],
    ['endFactor above 1', () => new LinearLR(sgd(), { endFactor: 1.5 }), 'RangeError', /endFactor/],
    ['fractional totalIters', () => new LinearLR(sgd(), { totalIters: 1.5 }), 'RangeError', /totalIters/],
    ['tMax 0', () => new CosineAnnealingLR(sgd(), { tMax: 0 }), 'RangeError', /tMax must be an integer >= 1/],
    ['negative etaMin', () => new CosineAnnealingLR(sgd(), { tMax: 5, etaMin: -1 }), 'RangeError', /etaMin/],
    ['NaN maxLr', () => new OneCycleLR(sgd(), { maxLr: NaN, totalSteps: 10 }), 'RangeError', /OneCycleLR: maxLr must be a finite number >= 0/],
    ['negative maxLr in a list', () => new OneCycleLR(sgd(), { maxLr: [0.1, -0.1], totalSteps: 10 }), 'RangeError', /maxLr\[1\]/],
    ['maxLr list of the wrong length', () => new OneCycleLR(sgd(), { maxLr: [0.1], totalSteps: 10 }), 'RangeError', /maxLr must be one value per parameter group \(2\)/],
    ['no total steps', () => new OneCycleLR(sgd(), { maxLr: 0.1, epochs: 3 }), 'TypeError', /totalSteps or both epochs and stepsPerEpoch/],
    ['fractional totalSteps', () => new OneCycleLR(sgd(), { maxLr: 0.1, totalSteps: 10.5 }), 'RangeError', /totalSteps must be an integer >= 1/],
    ['pctStart above 1', () => new OneCycleLR(sgd(), { maxLr: 0.1, totalSteps: 10, pctStart: 1.5 }), 'RangeError', /pctStart/],
    [
      'unknown annealStrategy',
      () => new OneCycleLR(sgd(), { maxLr: 0.1, totalSteps: 10, annealStrategy: 'cosine' as 'cos' }),
      'RangeError',
      /annealStrategy must be one of 'cos', 'linear', got "cosine"/,
    ],
    ['divFactor 0', () => new OneCycleLR(sgd(), { maxLr: 0.1, totalSteps: 10, divFactor: 0 }), 'RangeError', /divFactor must be a finite number > 0/],
    [
      'cycleMomentum without momentum',
      () => new OneCycleLR(new FakeOptimizer([{ lr: 0.1 }]), { maxLr: 0.1, totalSteps: 10 }),
      'TypeError',
      /cycleMomentum needs an optimizer whose groups have momentum or betas/,
    ],
    ['factor 1', () => new ReduceLROnPlateau(sgd(), { factor: 1 }), 'RangeError', /ReduceLROnPlateau: factor must be a finite number >= 0 and < 1, got 1/],
    ['unknown mode', () => new ReduceLROnPlateau(sgd(), { mode: 'minimum' as 'min' }), 'RangeError', /mode must be one of 'min', 'max', got "minimum"/],
    ['unknown thresholdMode', () => new ReduceLROnPlateau(sgd(), { thresholdMode: 'relative' as 'rel' }), 'RangeError', /thresholdMode/],
    ['negative patience', () => new ReduceLROnPlateau(sgd(), { patience: -1 }), 'RangeError', /patience must be an integer >= 0/],
    ['minLr list of the wrong length', () => new ReduceLROnPlateau(sgd(), { minLr: [0.1] }), 'RangeError', /minLr must be one value per parameter group/],
    ['NaN minLr', () => new ReduceLROnPlateau(sgd(), { minLr: NaN }), 'RangeError', /minLr must be a finite number >= 0/],
    ['metric not a number', () => new ReduceLROnPlateau(sgd()).step('0.5' as unknown as number), 'TypeError', /step: metric must be a number/],
    ['no schedulers', () => new SequentialLR(sgd(), { schedulers: [], milestones: [] }), 'RangeError', /schedulers must be at least one scheduler/],
    [
      'milestones not increasing',
      () => {
        const optimizer = sgd();
        const schedulers = [new LinearLR(optimizer), new StepLR(optimizer, { stepSize: 2 }), new StepLR(optimizer, { stepSize: 3 })];
        return new SequentialLR(optimizer, { schedulers, milestones: [10, 5] });
      },
      'RangeError',
      /SequentialLR: milestones must be strictly increasing, got \[10, 5\]/,
    ],
    [
      'one milestone too many',
      () => {
        const optimizer = sgd();
        return new SequentialLR(optimizer, { schedulers: [new LinearLR(optimizer)], milestones: [5] });
      },
      'RangeError',
      /milestones must be 0 steps \(one fewer than schedulers\)/,
    ],
    [
      'ReduceLROnPlateau in a sequence',
      () => {
        const optimizer = sgd();
        const plateau = new ReduceLROnPlateau(optimizer) as unknown as LRScheduler;
        return new SequentialLR(optimizer, { schedulers: [new LinearLR(optimizer), plateau], milestones: [5] });
      },
      'TypeError',
      /schedulers\[1\] must be a StepLR, MultiStepLR, LinearLR, CosineAnnealingLR or OneCycleLR, got a ReduceLROnPlateau/,
    ],
    [
      'schedulers of another optimizer',
      () => {
        const optimizer = sgd();
        return new SequentialLR(optimizer, { schedulers: [new LinearLR(optimizer), new LinearLR(sgd())], milestones: [5] });
      },
      'TypeError',
      /schedulers\[1\] \(LinearLR\) belongs to a different optimizer/,
    ],
    ['cosineWithWarmup too short', () => cosineWithWarmup(sgd(), { warmupSteps: 10, totalSteps: 10 }), 'RangeError', /cosineWithWarmup: totalSteps must be an integer >= 11/],
  ];
  for (const [what, thunk, name, message] of cases) t.throws(thunk, { name, message }, what);
  t.end();
});

t.test('OneCycleLR drives betas[0] of Adam-like optimizers and leaves beta2 alone', (t) => {
  const optimizer = fakeOptimizer(ADAM);
  const schedule = new OneCycleLR(optimizer, { maxLr: 0.01, totalSteps: 10, baseMomentum: 0.8, maxMomentum: 0.9 });
  t.equal(optimizer.getGroupOptions(0).betas![0], 0.9, 'starts at maxMomentum');
  for (let i = 0; i < 2; i++) schedule.step();
  t.equal(optimizer.getGroupOptions(0).betas![0], 0.8, 'reaches baseMomentum at the lr peak');
  t.equal(optimizer.getGroupOptions(1).betas![1], 0.999, 'beta2 untouched');
  t.equal(optimizer.getGroupOptions(0).momentum, undefined, 'no momentum option added');
  t.end();
});
