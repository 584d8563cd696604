// Numeric comparison of tensors with explicit tolerances.
import type { Tensor } from '../../lib/tensor';

export interface Tolerance {
  rtol: number;
  atol: number;
}

export interface Comparison {
  ok: boolean;
  message: string;
  maxAbsDiff: number;
}

function toNumbers(t: Tensor): Float64Array {
  const data = t.dataSync();
  if (data instanceof BigInt64Array) return Float64Array.from(data, Number);
  return Float64Array.from(data as ArrayLike<number>);
}

/** |actual - expected| <= atol + rtol * |expected| everywhere (NaN matches NaN), same shape and dtype. */
export function compareTensors(actual: Tensor, expected: Tensor, tol: Tolerance): Comparison {
  const shapeA = actual.shape.join(',');
  const shapeE = expected.shape.join(',');
  if (shapeA !== shapeE) return { ok: false, message: `shape [${shapeA}] != expected [${shapeE}]`, maxAbsDiff: Infinity };
  if (actual.dtype !== expected.dtype) return { ok: false, message: `dtype ${actual.dtype} != expected ${expected.dtype}`, maxAbsDiff: Infinity };
  const a = toNumbers(actual);
  const e = toNumbers(expected);
  let maxAbsDiff = 0;
  let worst = -1;
  let failures = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = e[i]!;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    const diff = Math.abs(x - y);
    if (!(diff <= tol.atol + tol.rtol * Math.abs(y))) {
      failures++;
      if (worst < 0 || !(diff <= maxAbsDiff)) worst = i;
    }
    if (diff > maxAbsDiff || Number.isNaN(diff)) maxAbsDiff = Number.isNaN(diff) ? Infinity : diff;
  }
  if (failures === 0) return { ok: true, message: `max |diff| ${maxAbsDiff.toExponential(2)}`, maxAbsDiff };
  return {
    ok: false,
    message: `${failures}/${a.length} elements differ; max |diff| ${maxAbsDiff.toExponential(3)}; e.g. [${worst}] ${a[worst]} vs ${e[worst]}`,
    maxAbsDiff,
  };
}
