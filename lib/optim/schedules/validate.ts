// Argument checks with messages that name the scheduler and the argument.
// TypeError: the value has the wrong type; RangeError: right type, value not allowed.
import { ArgumentRangeError, ArgumentTypeError } from '../../errors';

export interface NumberRange {
  min?: number;
  /** True when min itself is not allowed. */
  minExclusive?: boolean;
  max?: number;
  maxExclusive?: boolean;
}

function describeRange(range: NumberRange): string {
  const parts: string[] = [];
  if (range.min !== undefined) parts.push(`${range.minExclusive ? '>' : '>='} ${range.min}`);
  if (range.max !== undefined) parts.push(`${range.maxExclusive ? '<' : '<='} ${range.max}`);
  return parts.join(' and ');
}

function inRange(value: number, range: NumberRange): boolean {
  if (range.min !== undefined && (range.minExclusive ? !(value > range.min) : !(value >= range.min))) return false;
  if (range.max !== undefined && (range.maxExclusive ? !(value < range.max) : !(value <= range.max))) return false;
  return true;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (typeof value === 'object' && value !== null) return `a ${value.constructor?.name ?? 'object'}`;
  return String(value);
}

/** Checks the arguments of one scheduler; every message starts with its name. */
export class ArgumentChecker {
  constructor(private readonly owner: string) {}

  typeError(name: string, expected: string, value: unknown): TypeError {
    return new ArgumentTypeError(`${this.owner}: ${name} must be ${expected}, got ${show(value)}`);
  }

  rangeError(name: string, expected: string, value: unknown): RangeError {
    return new ArgumentRangeError(`${this.owner}: ${name} must be ${expected}, got ${show(value)}`);
  }

  /** A finite number within range. */
  number(value: unknown, name: string, range: NumberRange = {}): number {
    if (typeof value !== 'number') throw this.typeError(name, 'a number', value);
    const rangeText = describeRange(range);
    const expected = rangeText ? `a finite number ${rangeText}` : 'a finite number';
    if (!Number.isFinite(value) || !inRange(value, range)) throw this.rangeError(name, expected, value);
    return value;
  }

  /** A learning rate (or momentum): finite and >= 0. */
  rate(value: unknown, name: string): number {
    return this.number(value, name, { min: 0 });
  }

  integer(value: unknown, name: string, min: number): number {
    if (typeof value !== 'number') throw this.typeError(name, 'an integer', value);
    if (!Number.isInteger(value) || value < min) throw this.rangeError(name, `an integer >= ${min}`, value);
    return value;
  }

  boolean(value: unknown, name: string): boolean {
    if (typeof value !== 'boolean') throw this.typeError(name, 'true or false', value);
    return value;
  }

  choice<T extends string>(value: unknown, name: string, choices: readonly T[]): T {
    const expected = `one of ${choices.map((c) => `'${c}'`).join(', ')}`;
    if (typeof value !== 'string') throw this.typeError(name, expected, value);
    if (!(choices as readonly string[]).includes(value)) throw this.rangeError(name, expected, value);
    return value as T;
  }

  array(value: unknown, name: string): readonly unknown[] {
    if (!Array.isArray(value)) throw this.typeError(name, 'an array', value);
    return value;
  }

  /** One value for every group, or a single value for all (PyTorch's _format_param). */
  perGroup(value: unknown, name: string, groupCount: number, check: (item: unknown, itemName: string) => number): number[] {
    if (!Array.isArray(value)) return new Array<number>(groupCount).fill(check(value, name));
    if (value.length !== groupCount) {
      throw this.rangeError(name, `one value per parameter group (${groupCount})`, value);
    }
    return value.map((item, i) => check(item, `${name}[${i}]`));
  }
}
