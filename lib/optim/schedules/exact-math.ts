// Correctly rounded cos and integer powers, so schedules reproduce PyTorch's
// learning rates bit for bit.
//
// PyTorch's schedulers call Python's math.cos and float ** int, which use the
// C library's cos() and pow(); glibc's are correctly rounded in practice. V8's
// Math.cos and ** (fdlibm ports) differ from them in the last bit for a few
// percent of inputs, and the recursive schedule formulas carry such a bit on
// to every later step. Computing the exact value in BigInt fixed point and
// rounding it once gives glibc's result. Each call costs microseconds, and a
// schedule makes a handful per step.
import { ArgumentRangeError } from '../../errors';

const MANTISSA_BITS = 53;

/** Splits a finite, nonzero double into an integer mantissa and exponent: x = mantissa * 2^exponent. */
function decompose(x: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const biasedExponent = Number(bits >> 52n);
  const fraction = bits & ((1n << 52n) - 1n);
  if (biasedExponent === 0) return { mantissa: fraction, exponent: -1074 };
  return { mantissa: fraction | (1n << 52n), exponent: biasedExponent - 1075 };
}

/** 2^e as a double, exactly; e must lie in the normal range. */
function powerOfTwo(e: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(e + 1023) << 52n);
  return view.getFloat64(0);
}

/** q * 2^e, exact whenever the result is a normal double (steps keep each factor representable). */
function scaleByPowerOfTwo(q: number, e: number): number {
  let result = q;
  let remaining = e;
  while (remaining > 1000) {
    result *= powerOfTwo(1000);
    remaining -= 1000;
  }
  while (remaining < -1000) {
    result *= powerOfTwo(-1000);
    remaining += 1000;
  }
  return result * powerOfTwo(remaining);
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** The double nearest to value * 2^-fractionBits (ties to even). */
function fixedToDouble(value: bigint, fractionBits: number): number {
  if (value === 0n) return 0;
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const shift = bitLength(magnitude) - MANTISSA_BITS;
  let q = magnitude;
  if (shift > 0) {
    q = magnitude >> BigInt(shift);
    const remainder = magnitude - (q << BigInt(shift));
    const half = 1n << BigInt(shift - 1);
    if (remainder > half || (remainder === half && (q & 1n) === 1n)) q += 1n;
  }
  const result = scaleByPowerOfTwo(Number(q), Math.max(shift, 0) - fractionBits);
  return negative ? -result : result;
}

// pi in fixed point, from Machin's formula, cached at the largest precision asked for.
let cachedPi: { bits: number; value: bigint } | undefined;

function arctanOfInverse(m: bigint, one: bigint): bigint {
  const mSquared = m * m;
  let term = one / m;
  let sum = term;
  for (let k = 1n; term !== 0n; k++) {
    term /= mSquared;
    const contribution = term / (2n * k + 1n);
    sum += k % 2n === 1n ? -contribution : contribution;
  }
  return sum;
}

function piFixed(fractionBits: number): bigint {
  if (cachedPi === undefined || cachedPi.bits < fractionBits) {
    // Guard bits absorb the truncation of every series term.
    const bits = Math.max(fractionBits, 512) + 64;
    const one = 1n << BigInt(bits);
    cachedPi = { bits, value: 16n * arctanOfInverse(5n, one) - 4n * arctanOfInverse(239n, one) };
  }
  return cachedPi.value >> BigInt(cachedPi.bits - fractionBits);
}

/** Taylor series of cos (startsWithOne) or sin around 0, for |r| <= pi/4, in fixed point. */
function taylor(r: bigint, fractionBits: number, startsWithOne: boolean): bigint {
  const shift = BigInt(fractionBits);
  const rSquared = (r * r) >> shift;
  let term = startsWithOne ? 1n << shift : r;
  let sum = term;
  // Each term is the previous times -r^2 / (n (n + 1)): n = 1, 3, 5... for cos, 2, 4, 6... for sin.
  for (let n = startsWithOne ? 1 : 2; term !== 0n; n += 2) {
    term = -((term * rSquared) >> shift) / BigInt(n * (n + 1));
    sum += term;
  }
  return sum;
}

/** cos(x) correctly rounded (as glibc's cos, and so Python's math.cos). */
export function cos(x: number): number {
  if (!Number.isFinite(x)) return NaN;
  const magnitude = Math.abs(x);
  // Below 2^-27, x^2/2 is under half an ulp of 1.
  if (magnitude < 2 ** -27) return 1;
  const { mantissa, exponent } = decompose(magnitude);
  // The result is never below about 2^-62 (doubles stay that far from multiples of pi/2),
  // so 256 bits after the reduction leave far more than 53 correct; the reduction
  // multiplies pi's error by x / (pi/2), which the extra bits cover.
  const fractionBits = 256 + Math.max(0, exponent + MANTISSA_BITS);
  const xFixed = mantissa << BigInt(exponent + fractionBits);
  const halfPi = piFixed(fractionBits) >> 1n;
  const quadrant = (xFixed + (halfPi >> 1n)) / halfPi;
  const r = xFixed - quadrant * halfPi;
  let value: bigint;
  switch (Number(quadrant % 4n)) {
    case 0:
      value = taylor(r, fractionBits, true);
      break;
    case 1:
      value = -taylor(r, fractionBits, false);
      break;
    case 2:
      value = -taylor(r, fractionBits, true);
      break;
    default:
      value = taylor(r, fractionBits, false);
  }
  return fixedToDouble(value, fractionBits);
}

/** base ** exponent for an integer exponent >= 0, correctly rounded (as glibc's pow, and so Python's float ** int). */
export function powInt(base: number, exponent: number): number {
  if (!Number.isInteger(exponent) || exponent < 0) throw new ArgumentRangeError(`powInt: exponent must be an integer >= 0, got ${exponent}`);
  if (exponent === 0) return 1;
  if (!Number.isFinite(base) || base === 0) return base ** exponent;
  const { mantissa, exponent: baseExponent } = decompose(base);
  // mantissa^n * 2^(e*n) is exact in BigInt; only the final rounding loses anything.
  const exact = mantissa ** BigInt(exponent);
  const magnitude = fixedToDouble(exact, -baseExponent * exponent);
  return base < 0 && exponent % 2 === 1 ? -magnitude : magnitude;
}
