// Threads, build information and CUDA availability.
import t from 'tap';
import * as tt from '../lib';

t.test('thread count can be set and read', (t) => {
  const original = tt.getNumThreads();
  tt.setNumThreads(1);
  t.equal(tt.getNumThreads(), 1);
  tt.setNumThreads(original);
  t.equal(tt.getNumThreads(), original);
  t.throws(() => tt.setNumThreads(0), /threads must be an integer >= 1/);
  t.end();
});

t.test('build info names the libtorch version', (t) => {
  const info = tt.buildInfo();
  t.match(info.torch, /^\d+\.\d+\.\d+/);
  t.type(info.cudaCompiled, 'boolean');
  t.end();
});

t.test('CUDA absent: reported unavailable, CPU keeps working', { skip: tt.cuda.isAvailable() ? 'CUDA is available here' : false }, (t) => {
  t.equal(tt.cuda.isAvailable(), false);
  t.equal(tt.cuda.deviceCount(), 0);
  t.throws(() => tt.ones([2], { device: 'cuda' }), { code: 'ERR_TORCHTS_NO_CUDA', message: /cannot use device 'cuda'/ });
  t.throws(() => tt.ones([2]).to('cuda:1'), { code: 'ERR_TORCHTS_NO_CUDA' });
  t.equal(tt.ones([2]).add(1).sum().item(), 4, 'CPU still works afterwards');
  t.end();
});
