// Memory over a longer run (a smaller version of bench/long-run.ts): the
// live-tensor count is exactly flat after warm-up, and RSS, sampled after a
// forced V8 collection (uncollected JS garbage once made it 67 MB in CI),
// stays within 32 MB of its post-warm-up level (allocator noise; a leak of even one
// 16x16 batch per step would add ~4 MB per 100 steps and break the bound).
import t from 'tap';
import { longRun } from '../bench/long-run';

t.test('live tensors and RSS stay flat over 600 steps', async (t) => {
  const samples = await longRun(600, 50);
  const after = samples.filter((s) => s.step >= 150);
  t.equal(new Set(after.map((s) => s.liveTensors)).size, 1, `live tensors: ${after.map((s) => s.liveTensors).join(', ')}`);
  const growth = Math.max(...after.map((s) => s.rssBytes)) - after[0]!.rssBytes;
  const mb = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);
  t.ok(growth < 32 * 1024 ** 2, `RSS growth after warm-up ${mb(growth)} MB < 32 MB (RSS after GC: ${after.map((s) => mb(s.rssBytes)).join(', ')} MB)`);
  t.end();
});
