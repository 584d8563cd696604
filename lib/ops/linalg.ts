// Matrix products.
import { Tensor } from '../tensor';
import { handleOf, handlesOf, wrap } from './registry';
import { callOp, op } from './op';

const MATMUL = op('aten::matmul');
const MM = op('aten::mm');
const BMM = op('aten::bmm');
const DOT = op('aten::dot');
const OUTER = op('aten::outer');
const EINSUM = op('aten::einsum');

/** Matrix product with NumPy broadcasting rules (torch.matmul). */
export const matmul = (a: Tensor, b: Tensor): Tensor => wrap(callOp(MATMUL.handle, handleOf(a, 'matmul(a)'), handleOf(b, 'matmul(b)')));
export const mm = (a: Tensor, b: Tensor): Tensor => wrap(callOp(MM.handle, handleOf(a, 'mm(a)'), handleOf(b, 'mm(b)')));
export const bmm = (a: Tensor, b: Tensor): Tensor => wrap(callOp(BMM.handle, handleOf(a, 'bmm(a)'), handleOf(b, 'bmm(b)')));
export const dot = (a: Tensor, b: Tensor): Tensor => wrap(callOp(DOT.handle, handleOf(a, 'dot(a)'), handleOf(b, 'dot(b)')));
export const outer = (a: Tensor, b: Tensor): Tensor => wrap(callOp(OUTER.handle, handleOf(a, 'outer(a)'), handleOf(b, 'outer(b)')));
export const einsum = (equation: string, ...tensors: Tensor[]): Tensor =>
  wrap(callOp(EINSUM.handle, equation, handlesOf(tensors, 'einsum(tensors)'), null));
