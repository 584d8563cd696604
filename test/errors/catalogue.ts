// Bad inputs and the JS errors they must produce. Run in a child process by
// test/errors.test.ts, so a crash (abort, segfault) fails the test instead of
// killing the runner. Each case names the problem its message must mention.
import * as tt from '../../lib';

export interface ErrorCase {
  area: string;
  name: string;
  run: () => unknown;
  /** What the error message must say. */
  message: RegExp;
}

export const CASES: ErrorCase[] = [
  { area: 'tensor', name: 'mismatched shapes in add', run: () => tt.ones([2, 3]).add(tt.ones([4])), message: /size of tensor a \(3\) must match the size of tensor b \(4\)/ },
  { area: 'tensor', name: 'matmul with incompatible shapes', run: () => tt.ones([2, 3]).matmul(tt.ones([2, 3])), message: /shapes cannot be multiplied \(2x3 and 2x3\)/ },
  { area: 'tensor', name: 'view with the wrong element count', run: () => tt.ones([2, 3]).view([5]), message: /shape '\[5\]' is invalid for input of size 6/ },
  { area: 'tensor', name: 'dim out of range', run: () => tt.ones([2, 3]).sum(7), message: /Dimension out of range/ },
  { area: 'tensor', name: 'index out of range', run: () => tt.ones([2, 3]).select(0, 5), message: /index 5 out of range/ },
  { area: 'tensor', name: 'wrong dtype for an index', run: () => tt.ones([4]).indexSelect(0, tt.ones([2])), message: /index_select\(\): Expected dtype int32 or int64 for index/ },
  { area: 'tensor', name: 'unknown dtype name', run: () => tt.zeros([2], { dtype: 'complex32' as tt.DType }), message: /unknown dtype 'complex32'/ },
  { area: 'tensor', name: 'negative size', run: () => tt.zeros([2, -1]), message: /non-negative integers/ },
  { area: 'tensor', name: 'non-integer size', run: () => tt.zeros([2.5]), message: /non-negative integers/ },
  { area: 'tensor', name: 'data length does not match the shape', run: () => tt.tensor(new Float32Array(3), [2, 2]), message: /holds 12 bytes but shape \[2, 2\]/ },
  { area: 'tensor', name: 'ragged nested arrays', run: () => tt.tensor([[1], [2, 3]]), message: /ragged/ },
  { area: 'tensor', name: 'a string where a tensor is expected', run: () => tt.ones([2]).add('1' as unknown as number), message: /add\(other\) must be a Tensor or a number, got string/ },
  { area: 'tensor', name: 'null where a tensor is expected', run: () => tt.cat([tt.ones([1]), null as unknown as tt.Tensor]), message: /cat\(tensors\)\[1\] must be a Tensor, got null/ },
  { area: 'tensor', name: 'a disposed tensor', run: () => { const a = tt.ones([1]); a.dispose(); return a.add(1); }, message: /Tensor was disposed/ },
  { area: 'tensor', name: 'non-integer where an int is expected', run: () => tt.ones([2, 3]).sum(0.5), message: /argument 'dim' must be an integer, got 0.5/ },
  { area: 'tensor', name: 'CUDA asked for where there is none', run: () => tt.ones([1], { device: 'cuda' }), message: /cannot use device 'cuda'/ },
  { area: 'tensor', name: 'an invalid device string', run: () => tt.ones([1]).to('tpu' as tt.Device), message: /must be 'cpu', 'cuda' or 'cuda:N', got "tpu"/ },
  { area: 'tensor', name: 'item() of a multi-element tensor', run: () => tt.ones([3]).item(), message: /a Tensor with 3 elements cannot be converted to Scalar/ },
  { area: 'tensor', name: 'backward of a non-scalar without a gradient', run: () => tt.ones([2], { requiresGrad: true }).mul(2).backward(), message: /grad can be implicitly created only for scalar outputs/ },
  { area: 'tensor', name: 'backward through a tensor that does not require grad', run: () => tt.ones([2]).sum().backward(), message: /does not require grad/ },
  { area: 'tensor', name: 'cross-entropy target out of range', run: () => tt.F.crossEntropy(tt.ones([2, 3]), tt.tensor([0, 5], { dtype: 'int64' })), message: /Target 5 is out of bounds/ },
  { area: 'tensor', name: 'conv2d channel mismatch', run: () => tt.F.conv2d(tt.ones([1, 3, 4, 4]), tt.ones([2, 4, 3, 3])), message: /expected input\[1, 3, 4, 4\] to have 4 channels, but got 3 channels/ },
  { area: 'tensor', name: 'an unknown ATen operator', run: () => tt.callByName('aten::definitely_not_an_op'), message: /unknown operator aten::definitely_not_an_op/ },
  { area: 'tensor', name: 'too many arguments to an operator', run: () => tt.callByName('aten::neg', tt.ones([1]), 1, 2), message: /aten::neg takes 1 arguments but 3 were given/ },
  { area: 'tensor', name: 'NaN probability for dropout', run: () => tt.F.dropout(tt.ones([2]), NaN), message: /p must be in \[0, 1\], got NaN/ },
  { area: 'tensor', name: 'an async function in scope()', run: () => tt.scope((async () => 1) as unknown as () => number), message: /scope\(\) needs a synchronous function/ },
];
