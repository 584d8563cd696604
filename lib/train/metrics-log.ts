// The metrics log: one JSON line per epoch (and, optionally, every N steps)
// in <runDir>/metrics.jsonl, appended as training goes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeTextAtomic } from '../io/atomic';
import type { BatchLogs, Callback, EpochLogs, TrainContext } from './callbacks';

export class MetricsLogger implements Callback {
  #file = '';

  constructor(private readonly everySteps = 0) {}

  onTrainBegin(context: TrainContext): void {
    this.#file = path.join(context.runDir, 'metrics.jsonl');
    // A resumed run starts from its checkpoint's history: records of epochs
    // after it (from before a crash) are dropped, so the log never repeats one.
    const lines = context.history.map((logs) => JSON.stringify({ type: 'epoch', ...logs }));
    writeTextAtomic(this.#file, lines.length > 0 ? `${lines.join('\n')}\n` : '');
  }

  onBatchEnd(logs: BatchLogs): void {
    if (this.everySteps === 0 || logs.batch % this.everySteps !== 0) return;
    const { loss, accuracy } = logs.metrics();
    this.append({ type: 'step', epoch: logs.epoch, batch: logs.batch, loss, accuracy, lr: logs.lr, time: new Date().toISOString() });
  }

  onEpochEnd(logs: EpochLogs): void {
    this.append({ type: 'epoch', ...logs, time: new Date().toISOString() });
  }

  private append(record: Record<string, unknown>): void {
    fs.appendFileSync(this.#file, `${JSON.stringify(record)}\n`);
  }
}

/** Reads a metrics log; a line torn by a crash mid-append is skipped. */
export function readMetricsLog(file: string): Record<string, unknown>[] {
  if (!fs.existsSync(file)) return [];
  const records: Record<string, unknown>[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // torn by a crash mid-append
    }
  }
  return records;
}
