// Shows ProgressEvents to a person: a cli-progress bar on a terminal, plain
// lines (at most one per phase per 10% or 5 s) when output is a file or CI log.
import * as cliProgress from 'cli-progress';
import type { ProgressEvent, ProgressListener, ProgressPhase } from './types';

const LABELS: Record<ProgressPhase, string> = { download: 'download', read: 'read', decode: 'decode', cache: 'cache' };

function formatAmount(phase: ProgressPhase, value: number): string {
  if (phase === 'download' || phase === 'read') return `${(value / 1e6).toFixed(1)} MB`;
  return String(value);
}

/** A listener that prints to `stream` (default stderr); call `.stop()` when done. */
export function createProgressPrinter(stream: NodeJS.WriteStream = process.stderr): ProgressListener & { stop(): void } {
  return stream.isTTY ? barPrinter(stream) : linePrinter(stream);
}

function barPrinter(stream: NodeJS.WriteStream): ProgressListener & { stop(): void } {
  let bar: cliProgress.SingleBar | undefined;
  let phase: ProgressPhase | undefined;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
    phase = undefined;
  };
  const listener = (event: ProgressEvent): void => {
    if (event.message !== undefined && event.total === undefined) {
      stop();
      stream.write(`${event.message}\n`);
      return;
    }
    if (event.total === undefined) return;
    if (phase !== event.phase || bar === undefined) {
      stop();
      phase = event.phase;
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: `${LABELS[event.phase].padEnd(8)} [{bar}] {percentage}% | {amount} | ETA {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(event.total, 0, { amount: '' });
    }
    bar.setTotal(event.total);
    bar.update(event.done, { amount: `${formatAmount(event.phase, event.done)} / ${formatAmount(event.phase, event.total)}` });
    if (event.done >= event.total) stop();
  };
  return Object.assign(listener, { stop });
}

function linePrinter(stream: NodeJS.WriteStream): ProgressListener & { stop(): void } {
  let phase: ProgressPhase | undefined;
  let lastFraction = 0;
  let lastTime = 0;
  const listener = (event: ProgressEvent): void => {
    if (event.message !== undefined) stream.write(`${event.message}\n`);
    if (event.total === undefined || event.total === 0) return;
    const fraction = event.done / event.total;
    const now = Date.now();
    if (phase !== event.phase) {
      phase = event.phase;
      lastFraction = 0;
      lastTime = now;
    }
    const finished = event.done >= event.total;
    if (finished || fraction - lastFraction >= 0.1 || now - lastTime >= 5000) {
      stream.write(`${LABELS[event.phase]}: ${formatAmount(event.phase, event.done)} / ${formatAmount(event.phase, event.total)} (${Math.floor(fraction * 100)}%)\n`);
      lastFraction = fraction;
      lastTime = now;
    }
    if (finished) phase = undefined;
  };
  return Object.assign(listener, { stop: () => undefined });
}
