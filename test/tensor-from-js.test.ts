// tt.tensor() on random nested JS values: each either round-trips exactly
// (under the documented dtype rules) or throws a TypeError / RangeError
// with code ERR_TORCHTS_ARG; never a silent NaN or a changed value. The
// expected outcome comes from an independent reading of the rules below.
import t from 'tap';
import * as tt from '../lib';
import { random } from './helpers/synthetic';

type Target = tt.DType | undefined;
const TARGETS: Target[] = [undefined, undefined, 'float32', 'float64', 'int64', 'int32', 'int8', 'uint8', 'bool'];
const RANGES: Partial<Record<tt.DType, [bigint, bigint]>> = {
  uint8: [0n, 255n],
  int8: [-128n, 127n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
};

function leaf(next: () => number): unknown {
  const pick = [
    () => Math.round((next() - 0.5) * 400),
    () => (next() - 0.5) * 10,
    () => -0,
    () => NaN,
    () => (next() < 0.5 ? Infinity : -Infinity),
    () => 2 ** 53 + 2,
    () => next() < 0.5,
    () => BigInt(Math.round((next() - 0.5) * 1000)),
    () => 2n ** 40n,
    () => 'a',
    () => ({}),
    () => null,
    () => undefined,
    () => Symbol('s'),
  ];
  // Mostly valid numbers, so that many cases reach the conversion rules.
  const index = next() < 0.6 ? Math.floor(next() * 3) : Math.floor(next() * pick.length);
  return pick[index]!();
}

function nested(next: () => number, shape: number[], numbersOnly: boolean): unknown {
  if (shape.length === 0) return numbersOnly ? Math.round((next() - 0.5) * 100) : leaf(next);
  const [size, ...rest] = shape;
  if (rest.length === 0 && next() < 0.15) {
    return next() < 0.5 ? Float32Array.from({ length: size! }, () => (next() - 0.5) * 8) : Int32Array.from({ length: size! }, () => Math.round((next() - 0.5) * 300));
  }
  return Array.from({ length: size! }, () => nested(next, rest, numbersOnly));
}

/** A random value: a rectangular nest of random leaves, sometimes made ragged. */
function randomData(next: () => number): unknown {
  const rank = Math.floor(next() * 4);
  const shape = Array.from({ length: rank }, () => Math.floor(next() * 4));
  const data = nested(next, shape, next() < 0.3);
  if (rank > 1 && shape[0]! > 1 && next() < 0.15) (data as unknown[])[1] = next() < 0.5 ? [1] : 7; // ragged
  return data;
}

const isLevel = (v: unknown): v is ArrayLike<unknown> => Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));

/** The shape of rectangular data with valid leaves, or null. */
function shapeOf(v: unknown, leaves: unknown[]): number[] | null {
  if (!isLevel(v)) {
    if (!['number', 'boolean', 'bigint'].includes(typeof v)) return null;
    leaves.push(v);
    return [];
  }
  let inner: number[] | null | undefined;
  for (let i = 0; i < v.length; i++) {
    const s = shapeOf(v[i], leaves);
    if (s === null || (inner !== undefined && inner!.join() !== s.join())) return null;
    inner = s;
  }
  return [v.length, ...(inner ?? [])];
}

type Expected = { ok: false } | { ok: true; dtype: tt.DType; shape: number[]; values: (number | bigint)[] };

function expectedOf(data: unknown, target: Target): Expected {
  const leaves: unknown[] = [];
  const shape = shapeOf(data, leaves);
  if (shape === null) return { ok: false };
  const kinds = new Set(leaves.map((v) => typeof v));
  if (target === undefined && kinds.has('bigint') && kinds.size > 1) return { ok: false };
  // A typed array given whole keeps its own type; nested arrays of numbers default to float32.
  const own = data instanceof Float32Array ? 'float32' : data instanceof Int32Array ? 'int32' : undefined;
  const dtype: tt.DType = target ?? own ?? (kinds.has('bigint') ? 'int64' : kinds.size > 0 && !kinds.has('number') ? 'bool' : 'float32');
  const values: (number | bigint)[] = [];
  for (const v of leaves as (number | boolean | bigint)[]) {
    if (dtype === 'bool') values.push(Number(typeof v === 'boolean' ? v : typeof v === 'bigint' ? v !== 0n : v !== 0));
    else if (dtype === 'float32' || dtype === 'float64') {
      const n = typeof v === 'boolean' ? Number(v) : Number(v);
      values.push(dtype === 'float32' ? Math.fround(n) : n);
    } else {
      let big: bigint;
      if (typeof v === 'boolean') big = v ? 1n : 0n;
      else if (typeof v === 'bigint') big = v;
      else if (Number.isInteger(v) && (dtype !== 'int64' || Number.isSafeInteger(v))) big = BigInt(v);
      else return { ok: false };
      const [low, high] = RANGES[dtype]!;
      if (big < low || big > high) return { ok: false };
      values.push(dtype === 'int64' ? big : Number(big)); // as dataSync() holds them
    }
  }
  return { ok: true, dtype, shape, values };
}

const render = (v: unknown): string => {
  try {
    return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : typeof x === 'number' && !Number.isFinite(x) ? String(x) : x === undefined ? 'undefined' : typeof x === 'symbol' ? 'symbol' : ArrayBuffer.isView(x) ? `${x.constructor.name}(${Array.from(x as unknown as ArrayLike<number>)})` : x));
  } catch {
    return String(v);
  }
};

t.test('random nested values: exact round trip or a TypeError/RangeError with ERR_TORCHTS_ARG', (t) => {
  const next = random(2026);
  let roundTrips = 0;
  let refusals = 0;
  const cases = 3000;
  for (let i = 0; i < cases; i++) {
    const data = randomData(next);
    const target = TARGETS[Math.floor(next() * TARGETS.length)];
    const expected = expectedOf(data, target);
    const label = `${render(data)} as ${target ?? 'default'}`;
    let made: tt.Tensor | undefined;
    let error: (Error & { code?: string }) | undefined;
    try {
      made = tt.tensor(data as number[], target === undefined ? {} : { dtype: target });
    } catch (caught) {
      error = caught as Error & { code?: string };
    }
    if (!expected.ok) {
      refusals++;
      if (!(error instanceof TypeError || error instanceof RangeError) || (error as { code?: string }).code !== 'ERR_TORCHTS_ARG') {
        t.fail(`${label}: expected a TypeError/RangeError with ERR_TORCHTS_ARG, got ${error ? `${error.name} ${error.code}: ${error.message}` : `tensor ${made!.toString()}`}`);
      }
      made?.dispose();
      continue;
    }
    if (error !== undefined) {
      t.fail(`${label}: expected a ${expected.dtype} tensor, got ${error.name}: ${error.message}`);
      continue;
    }
    roundTrips++;
    const got = Array.from(made!.dataSync() as ArrayLike<unknown>);
    const sameValues = got.length === expected.values.length && got.every((v, k) => Object.is(v, expected.values[k]));
    if (made!.dtype !== expected.dtype || made!.shape.join() !== expected.shape.join() || !sameValues) {
      t.fail(`${label}: got ${made!.dtype} [${made!.shape}] ${render(got)}, expected ${expected.dtype} [${expected.shape}] ${render(expected.values)}`);
    }
    made!.dispose();
  }
  t.ok(roundTrips > 500 && refusals > 500, `${roundTrips} round trips and ${refusals} refusals in ${cases} cases`);
  t.end();
});

t.test('typed arrays into integer and bool dtypes are checked per element', (t) => {
  t.throws(() => tt.tensor(new Float32Array([1, NaN]), { dtype: 'int32' }), { name: 'RangeError', code: 'ERR_TORCHTS_ARG', message: /element \[1\] is NaN, which int32 cannot hold/ });
  t.throws(() => tt.tensor(new Float64Array([0.5]), { dtype: 'int64' }), { code: 'ERR_TORCHTS_ARG', message: /element \[0\] is 0.5/ });
  t.throws(() => tt.tensor(new Int32Array([1000]), { dtype: 'int8' }), { code: 'ERR_TORCHTS_ARG', message: /outside int8's range/ });
  t.same(tt.tensor(new Uint8Array([0, 2, 255]), { dtype: 'bool' }).arraySync(), [false, true, true], 'uint8 bytes become proper booleans');
  t.same(tt.tensor(new Float32Array([1.5, -0]), { dtype: 'float64' }).arraySync(), [1.5, -0], 'float to float keeps values and -0');
  t.ok(Object.is((tt.tensor([-0]).arraySync() as number[])[0], -0), '-0 survives');
  t.throws(() => tt.tensor(new Uint16Array(2), { dtype: 'int32' }), { code: 'ERR_TORCHTS_ARG', message: /Uint16Array holds raw 16-bit floats.*not 'int32'/ });
  t.end();
});

t.test('the other creation functions refuse values they would change', (t) => {
  t.throws(() => tt.full([2], NaN, { dtype: 'int64' }), { name: 'RangeError', code: 'ERR_TORCHTS_ARG', message: /full\(\): value NaN cannot be held exactly by int64/ });
  t.throws(() => tt.full([2], 2 ** 60, { dtype: 'int64' }), { code: 'ERR_TORCHTS_ARG', message: /beyond 2\^53/ });
  t.throws(() => tt.full([2], 'a' as unknown as number), { name: 'TypeError', code: 'ERR_TORCHTS_ARG', message: /fill_value' must be a number or boolean/ });
  t.throws(() => tt.scalarTensor(1.5, { dtype: 'int32' }), { code: 'ERR_TORCHTS_ARG', message: /scalarTensor\(\): value 1.5 .*not an integer/ });
  t.throws(() => tt.arange(0, Infinity), { name: 'RangeError', code: 'ERR_TORCHTS_ARG', message: /arange\(\): end must be finite, got Infinity/ });
  t.throws(() => tt.arange(NaN), { code: 'ERR_TORCHTS_ARG', message: /arange\(\): end must be finite, got NaN/ });
  t.throws(() => tt.arange(0, 3, '1' as unknown as number), { name: 'TypeError', code: 'ERR_TORCHTS_ARG', message: /arange\(\): step must be a number, got string/ });
  t.throws(() => tt.linspace(0, 1, 2.5), { code: 'ERR_TORCHTS_ARG', message: /'steps' must be an integer, got 2.5/ });
  t.throws(() => tt.fromBytesAs('abc' as unknown as ArrayBuffer, undefined, 'float32'), { code: 'ERR_TORCHTS_ARG', message: /fromBytesAs\(data\) must be an ArrayBuffer, Buffer or TypedArray, got string/ });
  t.throws(() => tt.zeros([NaN]), { code: 'ERR_TORCHTS_ARG', message: /shape must hold non-negative integers, got \[NaN\]/ });
  t.same((tt.full([2], -0).arraySync() as number[]).map((v) => Object.is(v, -0)), [true, true], 'full keeps -0');
  t.ok(Object.is(tt.scalarTensor(-0, { dtype: 'float64' }).item(), -0), 'scalarTensor keeps -0');
  t.ok(Object.is((tt.fullLike(tt.ones([1]), -0).arraySync() as number[])[0], -0), 'fullLike keeps -0');
  t.ok(Object.is((tt.full([1], -0, { dtype: 'int32' }).arraySync() as number[])[0], 0), 'an integer fill of -0 is 0');
  t.same(tt.full([1], Infinity).arraySync(), [Infinity], 'infinities are fine in float tensors');
  t.end();
});
