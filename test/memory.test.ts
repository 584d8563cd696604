// Scopes, keep(), dispose() and the live-tensor ledger.
import * as path from 'node:path';
import t from 'tap';
import * as tt from '../lib';
import { runTsSync } from './helpers/child';

const live = (): number => tt.memory().liveTensors;

t.test('scope frees what it created, except returned and kept tensors', (t) => {
  const base = live();
  const a = tt.ones([4]);
  let kept: tt.Tensor | undefined;
  const result = tt.scope(() => {
    const b = a.add(1);
    const c = b.mul(3);
    kept = tt.keep(c.sub(1));
    return { sum: c.sum(), list: [b.neg()] };
  });
  t.equal(live(), base + 1 + 1 + 2, 'a, kept, and the two returned tensors remain');
  t.equal(result.sum.item(), 24);
  t.same(result.list[0]!.arraySync(), [-2, -2, -2, -2]);
  t.same(kept!.arraySync(), [5, 5, 5, 5]);
  tt.dispose(result, kept, a);
  t.equal(live(), base);
  t.end();
});

// The rule (lib/memory.ts, README "Memory"): a tensor reachable from the
// returned value through arrays, Maps (keys and values), Sets, plain objects
// and class instances' own enumerable properties survives, at any depth and
// through cycles; anything else the scope created is freed.
class Holder {
  constructor(readonly inner: tt.Tensor) {}
}

class Hidden {
  readonly #inner: tt.Tensor;
  constructor(inner: tt.Tensor) {
    this.#inner = inner;
  }
  get inner(): tt.Tensor {
    return this.#inner;
  }
}

function deeplyNested(leaf: unknown, depth: number): unknown {
  let value = leaf;
  for (let level = 0; level < depth; level++) value = level % 2 === 0 ? [value] : { next: value };
  return value;
}

const survivors: [string, (made: tt.Tensor) => unknown, (result: never) => tt.Tensor][] = [
  ['an array', (x) => [1, x], (r: unknown[]) => r[1] as tt.Tensor],
  ['a structure 40 levels deep', (x) => deeplyNested(x, 40), (r: unknown) => {
    let value = r;
    while (!(value instanceof tt.Tensor)) value = Array.isArray(value) ? value[0] : (value as { next: unknown }).next;
    return value;
  }],
  ['a Map value', (x) => new Map([['w', x]]), (r: Map<string, tt.Tensor>) => r.get('w')!],
  ['a Map key', (x) => new Map([[x, 'weight']]), (r: Map<tt.Tensor, string>) => [...r.keys()][0]!],
  ['a Set', (x) => new Set([x]), (r: Set<tt.Tensor>) => [...r][0]!],
  ['a plain object', (x) => ({ loss: { value: x } }), (r: { loss: { value: tt.Tensor } }) => r.loss.value],
  ['a class instance', (x) => new Holder(x), (r: Holder) => r.inner],
  ['a cycle', (x) => {
    const node: { self?: unknown; value: tt.Tensor } = { value: x };
    node.self = [node];
    return node;
  }, (r: { value: tt.Tensor }) => r.value],
];

for (const [container, wrap, unwrap] of survivors) {
  t.test(`scope keeps a tensor returned inside ${container}`, (t) => {
    const base = live();
    const result = tt.scope(() => {
      tt.ones([3]).mul(7); // garbage the scope must free
      return wrap(tt.ones([3]).add(1));
    });
    t.equal(live(), base + 1, 'only the returned tensor is left');
    const kept = unwrap(result as never);
    t.same(kept.arraySync(), [2, 2, 2], 'and it is usable');
    tt.dispose(result);
    t.equal(live(), base, 'dispose() finds it in the same structure');
    t.end();
  });
}

t.test('scope does not see a tensor behind a private field: keep() it', (t) => {
  const base = live();
  const lost = tt.scope(() => new Hidden(tt.ones([2])));
  t.equal(live(), base, 'freed, as the documented rule says');
  t.throws(() => lost.inner.add(1), { name: 'TensorDisposedError' }, 'and using it is a clear error');
  const kept = tt.scope(() => new Hidden(tt.keep(tt.ones([2]))));
  t.same(kept.inner.arraySync(), [1, 1], 'keep() makes it survive');
  kept.inner.dispose();
  t.equal(live(), base);
  t.end();
});

t.test('.grad returns one cached tensor per gradient, so reading it in a loop holds one handle', (t) => {
  const p = tt.ones([3], { requiresGrad: true });
  t.equal(p.grad, null, 'no gradient yet');
  p.mul(2).sum().backward();
  const base = live();
  const first = p.grad!;
  let same = 0;
  for (let i = 0; i < 1000; i++) if (p.grad === first) same++;
  t.equal(same, 1000, 'every read returns the same object');
  t.equal(live(), base + 1, '1000 reads, one live handle');
  t.same(first.arraySync(), [2, 2, 2]);
  p.mul(3).sum().backward();
  t.equal(p.grad, first, 'accumulation is in place: still the same tensor');
  t.same(first.arraySync(), [5, 5, 5], 'and it shows the new values');
  p.zeroGrad({ setToNone: false });
  t.equal(p.grad, first, 'zeroing in place keeps it');
  t.same(first.arraySync(), [0, 0, 0]);
  p.grad = tt.full([3], 9);
  const replaced = p.grad!;
  t.not(replaced, first, 'a replaced gradient is a new tensor');
  t.same(replaced.arraySync(), [9, 9, 9]);
  t.same(first.arraySync(), [0, 0, 0], 'the old one is still a valid (detached) tensor');
  first.dispose();
  replaced.dispose();
  const reread = p.grad!;
  t.ok(!reread.isDisposed, 'a disposed cached .grad is not handed out again');
  t.same(reread.arraySync(), [9, 9, 9]);
  p.zeroGrad({ setToNone: true });
  t.equal(p.grad, null, 'set to none: null');
  tt.scope(() => {
    p.mul(1).sum().backward();
    t.ok(p.grad !== null);
  });
  const afterScope = p.grad!;
  t.ok(!afterScope.isDisposed, 'a .grad read inside a scope that freed it is re-made outside');
  t.same(afterScope.arraySync(), [1, 1, 1]);
  t.end();
});

t.test('nested scopes hand returned tensors to the enclosing scope', (t) => {
  const base = live();
  tt.scope(() => {
    const inner = tt.scope(() => tt.ones([2]).add(1));
    t.equal(inner.isDisposed, false, 'returned from inner scope');
    t.equal(tt.scopeDepth(), 1);
  });
  t.equal(live(), base, 'outer scope freed the inner result');
  t.end();
});

t.test('an exception inside a scope still frees its tensors', (t) => {
  const base = live();
  t.throws(() =>
    tt.scope(() => {
      tt.ones([3]).add(2);
      throw new Error('boom');
    }),
  /boom/);
  t.equal(live(), base);
  t.throws(() => tt.scope((async () => tt.ones([1])) as unknown as () => tt.Tensor), /synchronous function/);
  t.equal(live(), base);
  t.end();
});

t.test('using a disposed tensor is a clear JS error', (t) => {
  const a = tt.ones([2]);
  a.dispose();
  a.dispose(); // idempotent
  t.ok(a.isDisposed);
  t.throws(() => a.add(1), { name: 'TensorDisposedError', code: 'ERR_TORCHTS_DISPOSED' });
  t.throws(() => a.shape, /was disposed/);
  t.equal(a.toString(), 'tensor(<disposed>)');
  const b = tt.scope(() => tt.ones([2]));
  t.notOk(b.isDisposed, 'returned tensor outlives the scope');
  let escaped: tt.Tensor | undefined;
  tt.scope(() => {
    escaped = tt.ones([2]);
  });
  t.throws(() => escaped!.sum(), /disposed/, 'a tensor smuggled out of its scope is disposed');
  {
    using c = tt.ones([3]);
    t.equal(c.numel(), 3);
    escaped = c;
  }
  t.ok(escaped.isDisposed, '`using` disposes at block end');
  t.end();
});

t.test('memory() counts storages once across views and reports bytes by device', (t) => {
  const base = tt.memory();
  const a = tt.zeros([256], { dtype: 'float32' });
  const view = a.view([16, 16]);
  const after = tt.memory();
  t.equal(after.liveTensors, base.liveTensors + 2);
  t.equal(after.storages, base.storages + 1, 'a view shares its base storage');
  t.equal((after.bytes.cpu ?? 0) - (base.bytes.cpu ?? 0), 1024);
  tt.dispose(a, view);
  t.equal(tt.memory().bytes.cpu ?? 0, base.bytes.cpu ?? 0);
  t.end();
});

t.test('100k small ops inside scopes leave the live-tensor count at baseline', (t) => {
  const x = tt.randn([8]);
  const base = live();
  for (let step = 0; step < 1000; step++) {
    tt.scope(() => {
      let y = x;
      for (let i = 0; i < 100; i++) y = y.mul(0.5).add(1);
      return undefined;
    });
  }
  t.equal(live(), base, `live tensors after 100,000 ops: ${live()} (baseline ${base})`);
  x.dispose();
  t.end();
});

t.test('the finalizer frees forgotten handles', (t) => {
  // In a child with --expose-gc: allocate without disposing, collect, count.
  const script = `
    const tt = require(${JSON.stringify(path.join(__dirname, '..', 'lib'))});
    const base = tt.memory().liveTensors;
    for (let i = 0; i < 2000; i++) tt.ones([64]);
    const before = tt.memory().liveTensors;
    for (let i = 0; i < 5; i++) global.gc();
    setImmediate(() => { global.gc(); console.log(JSON.stringify({ base, before, after: tt.memory().liveTensors })); });
  `;
  const result = runTsSync(script, [], { code: true, nodeArgs: ['--expose-gc'] });
  t.equal(result.status, 0, result.stderr);
  const counts = JSON.parse(result.stdout.trim().split('\n').pop()!) as { base: number; before: number; after: number };
  t.equal(counts.before, counts.base + 2000);
  t.ok(counts.after < counts.base + 100, `GC released forgotten tensors (${counts.before} -> ${counts.after})`);
  t.end();
});
