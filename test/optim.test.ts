// Optimizers against torch.optim over the same gradient sequences: final
// parameters after 20 steps and the state (momentum buffers, moments, step
// counts) in PyTorch's state_dict layout; and a mid-run export/import that
// continues exactly.
//
// Tolerance: rtol 1e-5, atol 1e-7. libtorch's C++ optimizers mirror
// PyTorch's single-tensor algorithms but not every elementwise spelling
// (e.g. `mul_().add_()` vs `lerp_`), so float32 results differ by an ulp or
// two per step; over 20 steps that stays well inside 1e-5 relative.
import t from 'tap';
import * as tt from '../lib';
import { Adam, AdamW, type Optimizer, RMSprop, SGD } from '../lib/optim';
import { compareTensors } from './helpers/compare';
import { runReference } from './helpers/python';

interface Group {
  indices: number[];
  options: Record<string, unknown>;
}
interface Case {
  id: string;
  kind: 'sgd' | 'adam' | 'adamw' | 'rmsprop';
  defaults: Record<string, unknown>;
  groups?: Group[];
}

const SHAPES = [[4, 3], [3], [2, 2, 2]];
const STEPS = 20;
const TOL = { rtol: 1e-5, atol: 1e-7 };

const CASES: Case[] = [
  { id: 'sgd_plain', kind: 'sgd', defaults: { lr: 0.1 } },
  { id: 'sgd_momentum_dampening', kind: 'sgd', defaults: { lr: 0.05, momentum: 0.9, dampening: 0.1 } },
  { id: 'sgd_nesterov_wd', kind: 'sgd', defaults: { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 } },
  {
    id: 'sgd_groups',
    kind: 'sgd',
    defaults: { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
    groups: [
      { indices: [0], options: {} },
      { indices: [1, 2], options: { weightDecay: 0, lr: 0.02 } },
    ],
  },
  { id: 'adam', kind: 'adam', defaults: { lr: 1e-2 } },
  { id: 'adam_wd_amsgrad', kind: 'adam', defaults: { lr: 1e-2, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 1e-2, amsgrad: true } },
  { id: 'adamw', kind: 'adamw', defaults: { lr: 1e-2, weightDecay: 0.05 } },
  {
    id: 'adamw_groups_amsgrad',
    kind: 'adamw',
    defaults: { lr: 3e-3, weightDecay: 0.1, amsgrad: true },
    groups: [
      { indices: [0, 2], options: {} },
      { indices: [1], options: { weightDecay: 0 } },
    ],
  },
  { id: 'rmsprop', kind: 'rmsprop', defaults: { lr: 1e-2 } },
  { id: 'rmsprop_centered_momentum', kind: 'rmsprop', defaults: { lr: 1e-2, alpha: 0.9, momentum: 0.5, centered: true, weightDecay: 1e-3 } },
];

function makeOptimizer(c: Case, params: tt.Tensor[]): Optimizer {
  const groups = (c.groups ?? [{ indices: params.map((_, i) => i), options: {} }]).map((g) => ({ params: g.indices.map((i) => params[i]!), ...g.options }));
  const defaults = c.defaults as never;
  switch (c.kind) {
    case 'sgd':
      return new SGD(groups, defaults);
    case 'adam':
      return new Adam(groups, defaults);
    case 'adamw':
      return new AdamW(groups, defaults);
    case 'rmsprop':
      return new RMSprop(groups, defaults);
  }
}

function leaves(initial: tt.Tensor[]): tt.Tensor[] {
  return initial.map((p) => p.clone().requiresGrad_(true));
}

function run(optimizer: Optimizer, params: tt.Tensor[], grads: tt.Tensor[][], from: number, to: number): void {
  for (let step = from; step < to; step++) {
    params.forEach((p, k) => (p.grad = grads[step]![k]!.clone()));
    optimizer.step();
  }
}

t.test('optimizers match torch.optim over 20 steps, and resume exactly from exported state', (t) => {
  tt.manualSeed(3);
  const sent = new Map<string, tt.Tensor>();
  const results: { c: Case; final: tt.Tensor[]; resumed: tt.Tensor[]; state: Map<string, tt.Tensor> }[] = [];
  for (const c of CASES) {
    const initial = SHAPES.map((shape) => tt.randn(shape));
    initial.forEach((p, k) => sent.set(`${c.id}.p${k}`, p));
    const grads = Array.from({ length: STEPS }, (_, step) =>
      SHAPES.map((shape, k) => {
        const g = tt.randn(shape);
        sent.set(`${c.id}.g${step}.${k}`, g);
        return g;
      }),
    );
    // Uninterrupted run.
    const params = leaves(initial);
    const optimizer = makeOptimizer(c, params);
    run(optimizer, params, grads, 0, STEPS);
    const state = optimizer.stateDict().state;
    // Interrupted run: 10 steps, export, rebuild everything, import, 10 more.
    const firstHalf = leaves(initial);
    const first = makeOptimizer(c, firstHalf);
    run(first, firstHalf, grads, 0, STEPS / 2);
    const saved = first.stateDict();
    const secondHalf = firstHalf.map((p) => p.detach().clone().requiresGrad_(true));
    const second = makeOptimizer(c, secondHalf);
    second.loadStateDict(saved);
    first.dispose();
    run(second, secondHalf, grads, STEPS / 2, STEPS);
    results.push({ c, final: params, resumed: secondHalf, state });
  }
  const expected = runReference('optim.py', sent, {
    cases: CASES.map((c) => ({
      id: c.id,
      kind: c.kind,
      defaults: c.defaults,
      count: SHAPES.length,
      steps: STEPS,
      groups: c.groups ?? [{ indices: SHAPES.map((_, i) => i), options: {} }],
    })),
  });
  for (const { c, final, resumed, state } of results) {
    final.forEach((p, k) => {
      const result = compareTensors(p.detach(), expected.get(`${c.id}.final${k}`)!, TOL);
      t.ok(result.ok, `${c.id} param ${k} after ${STEPS} steps: ${result.message}`);
      const exact = compareTensors(resumed[k]!.detach(), p.detach(), { rtol: 0, atol: 0 });
      t.ok(exact.ok, `${c.id} param ${k}: export at step 10 + import continues identically (${exact.message})`);
    });
    const referenceKeys = [...expected.keys()].filter((key) => key.startsWith(`${c.id}.state.`)).map((key) => key.slice(c.id.length + 1));
    t.same([...state.keys()].sort(), referenceKeys.sort(), `${c.id}: state names match torch.optim's state_dict`);
    for (const key of referenceKeys) {
      const result = compareTensors(state.get(key)!, expected.get(`${c.id}.${key}`)!, TOL);
      t.ok(result.ok, `${c.id} ${key}: ${result.message}`);
    }
  }
  t.end();
});

t.test('group options are readable and writable; bad options are clear errors', (t) => {
  const params = [tt.randn([3]).requiresGrad_(true), tt.randn([2]).requiresGrad_(true)];
  const sgd = new SGD([{ params: [params[0]!] }, { params: [params[1]!], weightDecay: 0 }], { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
  t.equal(sgd.groupCount, 2);
  t.same(sgd.getGroupOptions(1), { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false });
  sgd.setLr(0.01);
  t.same([sgd.getLr(0), sgd.getLr(1)], [0.01, 0.01]);
  sgd.setGroupOptions(0, { momentum: 0.8 });
  t.equal(sgd.getGroupOptions(0).momentum, 0.8);
  t.throws(() => new SGD(params, { lr: NaN }), /lr must be a finite number, got NaN/);
  t.throws(() => new SGD(params, { lr: -1 }), /lr must be >= 0/);
  t.throws(() => new SGD(params, { lr: 0.1, nesterov: true }), /Nesterov momentum requires a momentum and zero dampening/);
  t.throws(() => new Adam(params, { betas: [0.9, 1.5] }), /beta2 must be in \[0, 1\)/);
  t.throws(() => new Adam(params, { lrr: 0.1 } as never), /unknown option 'lrr'/);
  t.throws(() => new SGD([], { lr: 0.1 }), /no parameters|group 0 is empty/);
  t.throws(() => new SGD([tt.tensor([1, 2], { dtype: 'int64' })], { lr: 0.1 }), /only floating-point tensors can be optimized/);
  t.throws(() => sgd.getGroupOptions(5), /group index 5 is out of range/);
  const adam = new Adam(params);
  t.throws(() => adam.loadStateDict(sgd.stateDict()), /optimizer state is for sgd, this optimizer is adam/);
  t.end();
});

t.test('clipGradNorm scales gradients like torch.nn.utils.clip_grad_norm_', (t) => {
  const a = tt.tensor([3, 4]).requiresGrad_(true);
  const b = tt.tensor([12]).requiresGrad_(true);
  a.grad = tt.tensor([3, 4]);
  b.grad = tt.tensor([12]);
  const total = tt.clipGradNorm([a, b], 1.3);
  t.ok(Math.abs(total.item() - 13) < 1e-5, 'returns the pre-clip norm');
  const scale = 1.3 / (13 + 1e-6);
  t.ok(Math.abs(a.grad!.arraySync()[0] as number - 3 * scale) < 1e-6);
  t.ok(Math.abs(b.grad!.arraySync()[0] as number - 12 * scale) < 1e-6);
  a.grad = tt.tensor([0.1, 0.1]);
  tt.clipGradNorm([a], 5);
  t.same(a.grad!.arraySync(), [0.10000000149011612, 0.10000000149011612], 'below the limit: unchanged');
  t.end();
});
