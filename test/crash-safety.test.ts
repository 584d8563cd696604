// SIGKILL at random moments, then resume: the last checkpoint always loads
// and the finished run equals an uninterrupted one. (A small count here; run
// bench/crash-safety.ts for 20+ kills.)
import t from 'tap';
import { crashTrial } from '../bench/crash-safety';

t.test('killed training resumes to the same losses as an uninterrupted run', async (t) => {
  const report = await crashTrial(4, 7);
  t.equal(report.kills, 4, 'every requested kill happened before the run finished');
  t.ok(report.checkpointsLoaded >= 1, `checkpoints loaded after kills: ${report.checkpointsLoaded}`);
  t.ok(report.identical, `per-epoch losses identical after ${report.kills} kills (${report.killedDuringWrite} during checkpoint writes)`);
  t.end();
});
