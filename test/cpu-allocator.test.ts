// The caching CPU allocator (native/cpu_allocator.cc): large blocks freed by
// one step are handed back to the next without new pages, idle memory is
// capped and can be given back, and TORCHTS_CPU_CACHE_LIMIT configures it.
import * as path from 'node:path';
import t from 'tap';
import * as tt from '../lib';
import { runTsSync } from './helpers/child';

const MiB = 2 ** 20;
const lib = JSON.stringify(path.join(__dirname, '..', 'lib'));

// The ASan script turns caching off for the whole run.
const defaults = process.env.TORCHTS_CPU_CACHE_LIMIT === undefined ? {} : { skip: 'TORCHTS_CPU_CACHE_LIMIT is set in this environment' };

function minorFaults(): number {
  return process.resourceUsage().minorPageFault;
}

t.test('on by default, and says so', defaults, (t) => {
  const info = tt.buildInfo();
  t.equal(info.cpuAllocatorCaching, true, info.cpuAllocator);
  t.match(info.cpuAllocator, /caching blocks >= 128 KiB, up to \d+\.\d GiB idle/);
  t.end();
});

t.test('a freed large block is reused: no new pages on the next step', defaults, (t) => {
  const before = tt.memory().cpuCache;
  const faults: number[] = [];
  for (let step = 0; step < 6; step++) {
    const start = minorFaults();
    tt.scope(() => void tt.ones([16, MiB])); // 64 MiB, every page written
    faults.push(minorFaults() - start);
  }
  const after = tt.memory().cpuCache;
  // 64 MiB of fresh pages is 16,384 faults; a reused block needs none.
  t.ok(faults.slice(1).every((count) => count < 1000), `page faults per step: ${faults.join(', ')}`);
  t.ok(after.hits - before.hits >= 5, `served from the cache ${after.hits - before.hits} times`);
  t.ok(after.idleBytes >= 64 * MiB, `the block is idle between steps (${after.idleBytes} bytes)`);
  t.end();
});

t.test('values are right after reuse (a reused block is not zeroed, nor need it be)', defaults, (t) => {
  tt.scope(() => void tt.full([4, MiB], 7));
  const zeros = tt.zeros([4, MiB]);
  t.equal(zeros.abs().sum().item(), 0, 'zeros() on a reused block is all zeros');
  const ramp = tt.arange(0, 4 * MiB);
  t.equal(ramp.sum().item(), ((4 * MiB - 1) * 4 * MiB) / 2);
  tt.dispose(zeros, ramp);
  t.end();
});

t.test('trimMemory() gives idle blocks back to the OS', defaults, (t) => {
  tt.scope(() => void tt.ones([64, MiB])); // 256 MiB, then idle
  const rss = () => process.memoryUsage().rss / MiB;
  const held = rss();
  t.ok(tt.memory().cpuCache.idleBytes >= 256 * MiB, 'idle after the scope');
  t.equal(tt.trimMemory(), true, 'released something');
  t.equal(tt.memory().cpuCache.idleBytes, 0, 'no idle blocks left');
  t.ok(held - rss() > 128, `RSS fell by ${(held - rss()).toFixed(0)} MB`);
  t.end();
});

const probe = (body: string) => `const tt = require(${lib}); ${body}`;

t.test('idle memory stays under TORCHTS_CPU_CACHE_LIMIT; oldest blocks go first', (t) => {
  const child = runTsSync(
    probe(`
      for (const mb of [40, 48, 56, 40]) tt.scope(() => void tt.ones([mb, 2 ** 20 / 4]));
      console.log(JSON.stringify([tt.buildInfo().cpuAllocator, tt.memory().cpuCache]));`),
    [],
    { code: true, env: { TORCHTS_CPU_CACHE_LIMIT: '100M' } },
  );
  t.equal(child.status, 0, child.stderr);
  const [note, stats] = JSON.parse(child.stdout.trim()) as [string, tt.MemoryInfo['cpuCache']];
  t.match(note, /up to 0\.1 GiB idle/);
  t.equal(stats.idleLimit, 100 * MiB);
  t.ok(stats.idleBytes <= 100 * MiB, `idle ${stats.idleBytes / MiB} MiB <= 100 MiB`);
  // Keeping 56 evicted the older 40 and 48 MiB blocks; the last 40 joined it.
  t.equal(stats.idleBytes, 96 * MiB, 'the 56 MiB and the last 40 MiB block are kept');
  t.end();
});

t.test('TORCHTS_CPU_CACHE_LIMIT=0 turns caching off; a bad value is reported, not fatal', (t) => {
  const cases: [string, boolean, RegExp][] = [
    ['0', false, /libtorch default \(TORCHTS_CPU_CACHE_LIMIT=0\)/],
    ['lots', false, /TORCHTS_CPU_CACHE_LIMIT='lots' is not a byte count/],
    ['2G', true, /up to 2\.0 GiB idle/],
    ['512MB', true, /up to 0\.5 GiB idle/],
  ];
  for (const [value, caching, note] of cases) {
    const child = runTsSync(
      probe(`const b = tt.buildInfo(); tt.scope(() => void tt.ones([8, 2 ** 20]).sum()); console.log(JSON.stringify([b.cpuAllocatorCaching, b.cpuAllocator]))`),
      [],
      { code: true, env: { TORCHTS_CPU_CACHE_LIMIT: value } },
    );
    t.equal(child.status, 0, child.stderr);
    const [tuned, text] = JSON.parse(child.stdout.trim()) as [boolean, string];
    t.equal(tuned, caching, `${value}: caching ${caching}`);
    t.match(text, note);
  }
  t.end();
});
