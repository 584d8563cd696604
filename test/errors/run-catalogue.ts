// Child-process side of test/errors.test.ts: runs every case and prints one
// JSON line per case. Reaching the end proves no input crashed the process.
import { CASES } from './catalogue';
import * as tt from '../../lib';

async function runAll(): Promise<void> {
for (const c of CASES) {
  let outcome: { threw: boolean; errorName?: string; errorClass?: string; message?: string; code?: string };
  try {
    await c.run();
    outcome = { threw: false };
  } catch (error) {
    const e = error as Error & { code?: string };
    outcome = { threw: true, errorName: e.name, errorClass: e?.constructor?.name, message: e.message, code: e.code };
  }
  process.stdout.write(JSON.stringify({ area: c.area, name: c.name, ...outcome }) + '\n');
}
// The process must still compute correctly after all of that.
process.stdout.write(JSON.stringify({ done: true, check: tt.ones([3]).add(1).sum().item() }) + '\n');
}

runAll().catch((error) => {
  process.stderr.write(`catalogue runner failed: ${(error as Error).stack}\n`);
  process.exit(2);
});
