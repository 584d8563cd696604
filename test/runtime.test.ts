// Threads, build information and CUDA availability.
import * as path from 'node:path';
import t from 'tap';
import * as tt from '../lib';
import { runTsSync } from './helpers/child';

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

// The addon fixes glibc's malloc settings at load (native/runtime.cc):
// without it every training step re-mmaps its activation buffers and the
// kernel zero-fills them again. Users who tune malloc themselves, or opt
// out, keep their settings.
const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;

t.test('glibc malloc settings are fixed at load, unless the user opted out', { skip: glibc ? false : 'not a glibc system' }, (t) => {
  const info = tt.buildInfo();
  t.equal(info.allocatorTuned, true, info.allocator);
  t.match(info.allocator, /no mmap, trim threshold 1 GiB/);
  const probe = `const b = require(${JSON.stringify(path.join(__dirname, '..', 'lib'))}).buildInfo(); console.log(JSON.stringify([b.allocatorTuned, b.allocator]))`;
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{ TORCHTS_MALLOC_TUNING: '0' }, /TORCHTS_MALLOC_TUNING=0/],
    [{ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=262144' }, /malloc options set in the environment/],
    [{ MALLOC_MMAP_THRESHOLD_: '1048576' }, /malloc options set in the environment/],
  ];
  for (const [env, note] of cases) {
    const child = runTsSync(probe, [], { code: true, env });
    t.equal(child.status, 0, child.stderr);
    const [tuned, allocator] = JSON.parse(child.stdout.trim()) as [boolean, string];
    t.equal(tuned, false, `${JSON.stringify(env)}: not tuned`);
    t.match(allocator, note);
  }
  t.end();
});
