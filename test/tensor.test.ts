// Tensor creation, properties, conversion, data out and printing.
import t from 'tap';
import * as tt from '../lib';
import { runReferenceWithMetadata } from './helpers/python';

t.test('creation from nested arrays infers shape and dtype', (t) => {
  const a = tt.tensor([[1, 2, 3], [4, 5, 6]]);
  t.same(a.shape, [2, 3]);
  t.equal(a.dtype, 'float32');
  t.equal(a.device, 'cpu');
  t.same(a.arraySync(), [[1, 2, 3], [4, 5, 6]]);
  t.equal(tt.tensor([true, false]).dtype, 'bool');
  t.same(tt.tensor([true, false]).arraySync(), [true, false]);
  t.equal(tt.tensor([1n, 2n]).dtype, 'int64');
  t.same(tt.tensor(3.5).shape, []);
  t.equal(tt.tensor(3.5).item(), 3.5);
  t.equal(tt.tensor([1, 2], { dtype: 'int32' }).dtype, 'int32');
  t.same(tt.tensor([1.5, 2.25], { dtype: 'float16' }).dataSync(), new Float32Array([1.5, 2.25]));
  t.same(tt.tensor([1.5, 2.25], { dtype: 'bfloat16' }).dataSync(), new Float32Array([1.5, 2.25]));
  t.throws(() => tt.tensor([[1, 2], [3]]), /ragged/);
  t.throws(() => tt.tensor([1], { dtype: 'float8' as tt.DType }), /unknown dtype 'float8'/);
  t.end();
});

t.test('creation from typed arrays and raw bytes', (t) => {
  const f = tt.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  t.same(f.shape, [2, 3]);
  t.same(Array.from(f.dataSync()), [1, 2, 3, 4, 5, 6]);
  const i = tt.tensor(new Int32Array([1, -2]));
  t.equal(i.dtype, 'int32');
  const converted = tt.tensor(new Int32Array([1, 2]), { dtype: 'float64' });
  t.equal(converted.dtype, 'float64');
  t.same(Array.from(converted.dataSync()), [1, 2]);
  const bytes = Buffer.from(new Float32Array([0.5, -1]).buffer);
  const raw = tt.tensor(bytes, { dtype: 'float32' });
  t.same(Array.from(raw.dataSync()), [0.5, -1]);
  t.same(raw.bytes(), new Uint8Array(bytes));
  const big = tt.tensor(new BigInt64Array([1n, 9007199254740993n]));
  t.same(big.dataSync(), new BigInt64Array([1n, 9007199254740993n]));
  t.same(big.arraySync(), [1, 9007199254740993n]);
  t.throws(() => tt.tensor(new Float32Array(5), [2, 3]), /holds 20 bytes but shape \[2, 3\] of Float needs 24/);
  t.throws(() => tt.tensor(new Uint16Array(2)), /Uint16Array holds raw 16-bit floats/);
  t.throws(() => tt.tensor(new Float32Array(4), [2, -2]), /non-negative integers/);
  t.end();
});

t.test('factories', (t) => {
  t.same(tt.zeros([2, 2]).arraySync(), [[0, 0], [0, 0]]);
  t.same(tt.ones([3], { dtype: 'int64' }).arraySync(), [1, 1, 1]);
  t.same(tt.full([2], 7).arraySync(), [7, 7]);
  t.same(tt.arange(4).arraySync(), [0, 1, 2, 3]);
  t.equal(tt.arange(4).dtype, 'int64');
  t.same(tt.arange(0, 1, 0.25).arraySync(), [0, 0.25, 0.5, 0.75]);
  t.same(tt.linspace(0, 1, 5).arraySync(), [0, 0.25, 0.5, 0.75, 1]);
  t.same(tt.eye(2).arraySync(), [[1, 0], [0, 1]]);
  t.same(tt.zerosLike(tt.ones([2, 3])).shape, [2, 3]);
  t.equal(tt.scalarTensor(true).dtype, 'bool');
  t.throws(() => tt.arange(0, 1, 0), /step must be non-zero/);
  t.throws(() => tt.randint(5, 5, [2]), /high \(5\) must be greater than low \(5\)/);
  t.end();
});

t.test('properties and conversion', (t) => {
  const a = tt.randn([2, 3, 4, 5]);
  t.equal(a.ndim, 4);
  t.equal(a.numel(), 120);
  t.equal(a.size(-1), 5);
  t.same(a.stride(), [60, 20, 5, 1]);
  t.ok(a.isContiguous());
  const cl = a.to('channelsLast');
  t.ok(cl.isContiguous('channelsLast'));
  t.notOk(cl.isContiguous());
  t.same(cl.stride(), [60, 1, 15, 3]);
  t.equal(a.to('float64').dtype, 'float64');
  t.equal(a.to({ dtype: 'float16' }).dtype, 'float16');
  t.equal(a.to('cpu').device, 'cpu');
  t.equal(a.long().dtype, 'int64');
  t.equal(a.t === undefined, false);
  t.throws(() => a.to('gpu' as tt.Device), /to\(device\) must be 'cpu', 'cuda' or 'cuda:N', got "gpu"/);
  t.throws(() => a.size(4), /dim 4 is out of range/);
  t.end();
});

t.test('toString prints like PyTorch, and manualSeed draws like torch.manual_seed', (t) => {
  const seed = 20240;
  tt.manualSeed(seed);
  const ours = { randn: tt.randn([3, 4]), rand: tt.rand([5]), randint: tt.randint(0, 10, [6]), randperm: tt.randperm(8) };
  tt.manualSeed(3);
  const samples: Record<string, tt.Tensor> = {
    small: tt.tensor([[1.5, -2.25], [3, 4.125]]),
    ints_as_float: tt.tensor([1, 2, 300]),
    sci: tt.tensor([1e-7, 1, 12345.678]),
    large: tt.randn([30, 40]),
    vector_wrap: tt.randn([25]),
    int64: tt.arange(12).reshape([3, 4]),
    int32: tt.tensor([1, -20, 300], { dtype: 'int32' }),
    bool: tt.tensor([true, false, true]),
    float64: tt.tensor([0.1, 0.2], { dtype: 'float64' }),
    scalar: tt.tensor(2.5),
    empty: tt.zeros([0, 4]),
    nonfinite: tt.tensor([NaN, Infinity, -1.5]),
    three_d: tt.randn([2, 2, 3]),
    long_1d: tt.arange(1500),
    grad_leaf: tt.tensor([1, 2]),
    grad_fn: tt.tensor([1, 2]),
  };
  const { tensors, metadata } = runReferenceWithMetadata('repr.py', samples, {
    seed,
    requires_grad: { grad_leaf: true, grad_fn: true },
    grad_fn: ['grad_fn'],
  });
  const reprs = JSON.parse(metadata.reprs!) as Record<string, string>;
  for (const [name, tensor] of Object.entries(samples)) {
    let shown = tensor;
    if (name === 'grad_leaf' || name === 'grad_fn') shown = tensor.clone().requiresGrad_(true);
    if (name === 'grad_fn') shown = shown.mul(tt.scalarTensor(2)); // Python wraps the 2 as a tensor: MulBackward0
    t.equal(shown.toString(), reprs[name], `repr of ${name}`);
  }
  for (const [name, value] of Object.entries(ours)) {
    t.same(value.arraySync(), tensors.get(name)!.arraySync(), `${name} after manualSeed(${seed}) equals torch`);
  }
  t.end();
});
