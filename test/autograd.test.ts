// Autograd entry points and gradient modes.
import t from 'tap';
import * as tt from '../lib';

t.test('backward fills leaf gradients; retainGrad keeps a non-leaf one', (t) => {
  const x = tt.tensor([1, 2, 3], { requiresGrad: true });
  t.ok(x.requiresGrad);
  t.ok(x.isLeaf);
  const y = x.mul(x).retainGrad();
  t.equal(y.gradFn, 'MulBackward0');
  t.notOk(y.isLeaf);
  y.sum().backward();
  t.same(x.grad!.arraySync(), [2, 4, 6]);
  t.same(y.grad!.arraySync(), [1, 1, 1]);
  // Gradients accumulate until cleared.
  x.mul(3).sum().backward();
  t.same(x.grad!.arraySync(), [5, 7, 9]);
  x.zeroGrad({ setToNone: false });
  t.same(x.grad!.arraySync(), [0, 0, 0]);
  x.zeroGrad();
  t.equal(x.grad, null);
  t.end();
});

t.test('non-scalar backward needs a gradient', (t) => {
  const x = tt.tensor([1, 2], { requiresGrad: true });
  const y = x.mul(2);
  t.throws(() => y.backward(), /grad can be implicitly created only for scalar outputs/);
  y.backward(tt.tensor([1, 10]));
  t.same(x.grad!.arraySync(), [2, 20]);
  t.end();
});

t.test('retainGraph allows a second backward; otherwise libtorch refuses', (t) => {
  const x = tt.tensor([2], { requiresGrad: true });
  const y = x.exp().sum();
  y.backward(null, { retainGraph: true });
  y.backward();
  t.ok(Math.abs(x.grad!.item() - 2 * Math.exp(2)) < 1e-4);
  t.throws(() => y.backward(), /backward through the graph a second time/);
  t.end();
});

t.test('noGrad, enableGrad, inferenceMode and detach', (t) => {
  const x = tt.ones([2], { requiresGrad: true });
  const a = tt.noGrad(() => x.mul(2));
  t.notOk(a.requiresGrad);
  t.ok(tt.isGradEnabled());
  const b = tt.noGrad(() => tt.enableGrad(() => x.mul(2)));
  t.ok(b.requiresGrad);
  const c = tt.inferenceMode(() => {
    t.ok(tt.isInferenceMode());
    return x.mul(2);
  });
  t.notOk(tt.isInferenceMode());
  t.notOk(c.requiresGrad);
  t.notOk(x.mul(2).detach().requiresGrad);
  t.throws(() => tt.noGrad((async () => 1) as unknown as () => number), /synchronous/);
  t.ok(tt.isGradEnabled(), 'mode restored after a throwing callback');
  t.end();
});

t.test('backward() from several roots', (t) => {
  const x = tt.tensor([1, 2], { requiresGrad: true });
  tt.backward([x.mul(2).sum(), x.mul(x).sum()]);
  t.same(x.grad!.arraySync(), [4, 6]);
  t.end();
});
