// Training curves: loss, accuracy and learning rate against epoch, drawn as
// an SVG (three panels) and rasterised to PNG with sharp after each epoch.
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic, writeAll } from '../io/atomic';
import type { Callback, EpochLogs, TrainContext } from './callbacks';
import { describeModel } from './progress';

interface Series {
  label: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
}

const PANEL = { width: 360, height: 260, top: 60, left: 60, gap: 60 };
const WIDTH = PANEL.left + 3 * (PANEL.width + PANEL.gap);
const HEIGHT = 380;

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Round tick values covering [min, max]. */
function ticks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function formatTick(value: number, log: boolean): string {
  if (log) return value.toExponential(0);
  return Math.abs(value) >= 100 ? value.toFixed(0) : Number(value.toPrecision(3)).toString();
}

function panel(x0: number, title: string, series: Series[], epochs: number, options: { log?: boolean; legendAtBottom?: boolean } = {}): string {
  const { width, height, top } = PANEL;
  const transform = (v: number) => (options.log ? Math.log10(Math.max(v, 1e-12)) : v);
  const values = series.flatMap((s) => s.points.map(([, y]) => transform(y))).filter(Number.isFinite);
  let yMin = values.length ? Math.min(...values) : 0;
  let yMax = values.length ? Math.max(...values) : 1;
  if (yMax - yMin < 1e-9) {
    yMin -= 0.5;
    yMax += 0.5;
  }
  const pad = (yMax - yMin) * 0.05;
  yMin -= pad;
  yMax += pad;
  const xMax = Math.max(epochs, 1);
  const px = (epoch: number) => x0 + (epoch / xMax) * width;
  const py = (v: number) => top + height - ((transform(v) - yMin) / (yMax - yMin)) * height;
  const parts: string[] = [];
  parts.push(`<text x="${x0 + width / 2}" y="${top - 22}" text-anchor="middle" font-size="16" font-weight="bold">${escape(title)}</text>`);
  parts.push(`<rect x="${x0}" y="${top}" width="${width}" height="${height}" fill="none" stroke="#888"/>`);
  const yTicks = options.log ? ticks(Math.floor(yMin), Math.ceil(yMax), 4).map((e) => e) : ticks(yMin, yMax);
  for (const t of yTicks) {
    const y = options.log ? top + height - ((t - yMin) / (yMax - yMin)) * height : py(t);
    if (y < top - 0.5 || y > top + height + 0.5) continue;
    parts.push(`<line x1="${x0}" x2="${x0 + width}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 - 6}" y="${y + 4}" text-anchor="end" font-size="11">${formatTick(options.log ? 10 ** t : t, Boolean(options.log))}</text>`);
  }
  for (const t of ticks(0, xMax, Math.min(xMax, 6)).filter((v) => Number.isInteger(v))) {
    parts.push(`<text x="${px(t)}" y="${top + height + 16}" text-anchor="middle" font-size="11">${t}</text>`);
  }
  parts.push(`<text x="${x0 + width / 2}" y="${top + height + 34}" text-anchor="middle" font-size="12">epoch</text>`);
  for (const s of series) {
    const points = s.points.filter(([, y]) => Number.isFinite(transform(y)));
    if (points.length === 0) continue;
    const d = points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const [x, y] of points) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
  }
  // Legend last, on a white box, so no curve runs through its text.
  const legendWidth = 110;
  const legendHeight = series.length * 16 + 6;
  const legendTop = options.legendAtBottom ? top + height - legendHeight - 4 : top + 4;
  parts.push(`<rect x="${x0 + width - legendWidth - 6}" y="${legendTop}" width="${legendWidth}" height="${legendHeight}" fill="white" fill-opacity="0.9" stroke="#ccc"/>`);
  series.forEach((s, index) => {
    const ly = legendTop + 16 + index * 16;
    parts.push(`<line x1="${x0 + width - legendWidth}" x2="${x0 + width - legendWidth + 20}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${x0 + width - legendWidth + 25}" y="${ly}" font-size="12">${escape(s.label)}</text>`);
  });
  return parts.join('\n');
}

/** An SVG with three panels: loss, accuracy and learning rate by epoch. */
export function renderCurves(history: readonly EpochLogs[], options: { title?: string; epochs?: number } = {}): string {
  const epochs = Math.max(options.epochs ?? 0, history.length);
  const series = (pick: (h: EpochLogs) => number | undefined): [number, number][] =>
    history.filter((h) => pick(h) !== undefined).map((h) => [h.epoch, pick(h)!]);
  const hasVal = history.some((h) => h.valLoss !== undefined);
  const lossSeries: Series[] = [{ label: 'train', color: '#1f77b4', points: series((h) => h.trainLoss) }];
  const accSeries: Series[] = [{ label: 'train', color: '#1f77b4', points: series((h) => h.trainAccuracy) }];
  if (hasVal) {
    lossSeries.push({ label: 'validation', color: '#d62728', points: series((h) => h.valLoss), dashed: true });
    accSeries.push({ label: 'validation', color: '#d62728', points: series((h) => h.valAccuracy), dashed: true });
  }
  const x = (i: number) => PANEL.left + i * (PANEL.width + PANEL.gap);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    options.title ? `<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="14" fill="#444">${escape(options.title)}</text>` : '',
    panel(x(0), 'Loss', lossSeries, epochs),
    panel(x(1), 'Accuracy', accSeries, epochs, { legendAtBottom: true }),
    panel(x(2), 'Learning rate', [{ label: 'lr', color: '#2ca02c', points: series((h) => h.lr) }], epochs, { log: true }),
    '</svg>',
  ].join('\n');
}

/** Writes curves.svg and curves.png into `dir` (atomically). */
export async function writeCurves(dir: string, history: readonly EpochLogs[], options: { title?: string; epochs?: number } = {}): Promise<{ svg: string; png: string }> {
  const svg = renderCurves(history, options);
  const svgFile = path.join(dir, 'curves.svg');
  const pngFile = path.join(dir, 'curves.png');
  writeFileAtomic(svgFile, (fd) => writeAll(fd, Buffer.from(svg)));
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  writeFileAtomic(pngFile, (fd) => writeAll(fd, png));
  return { svg: svgFile, png: pngFile };
}

export class CurvesPlotter implements Callback {
  async onEpochEnd(_logs: EpochLogs, context: TrainContext): Promise<void> {
    if (!fs.existsSync(context.runDir)) return;
    const { model, stem } = context.config;
    const title = describeModel(model, stem);
    await writeCurves(context.runDir, context.history, { title, epochs: context.epochs });
  }
}
