// Scheduler states as plain JSON values, so a checkpoint can keep them in its
// JSON metadata and a later run can resume the schedule exactly.
import { ArgumentTypeError } from '../../errors';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What stateDict() returns and loadStateDict() accepts: `kind` names the scheduler class. */
export interface SchedulerState {
  kind: string;
  [key: string]: JsonValue;
}

/** A double as JSON: JSON has no Infinity or NaN (ReduceLROnPlateau starts with best = +-Infinity). */
export type JsonFloat = number | 'Infinity' | '-Infinity' | 'NaN';

export function encodeFloat(value: number): JsonFloat {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

export function encodeFloats(values: readonly number[]): JsonFloat[] {
  return values.map(encodeFloat);
}

function decodeFloat(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  if (value === 'NaN') return NaN;
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads the fields of a state, with errors naming the scheduler and the field. */
export class StateReader {
  private readonly fields: Record<string, unknown>;

  constructor(state: unknown, private readonly kind: string) {
    if (!isPlainObject(state)) throw new ArgumentTypeError(`${kind}.loadStateDict: state must be an object, got ${String(state)}`);
    if (state.kind !== kind) {
      throw new ArgumentTypeError(`${kind}.loadStateDict: state is for ${JSON.stringify(state.kind)}, not '${kind}'`);
    }
    this.fields = state;
  }

  private invalid(key: string, expected: string): TypeError {
    return new ArgumentTypeError(`${this.kind}.loadStateDict: field '${key}' must be ${expected}, got ${JSON.stringify(this.fields[key])}`);
  }

  float(key: string): number {
    const value = decodeFloat(this.fields[key]);
    if (value === undefined) throw this.invalid(key, 'a number');
    return value;
  }

  nullableFloat(key: string): number | null {
    return this.fields[key] === null ? null : this.float(key);
  }

  integer(key: string): number {
    const value = this.fields[key];
    if (typeof value !== 'number' || !Number.isInteger(value)) throw this.invalid(key, 'an integer');
    return value;
  }

  boolean(key: string): boolean {
    const value = this.fields[key];
    if (typeof value !== 'boolean') throw this.invalid(key, 'true or false');
    return value;
  }

  choice<T extends string>(key: string, choices: readonly T[]): T {
    const value = this.fields[key];
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
      throw this.invalid(key, `one of ${choices.map((c) => `'${c}'`).join(', ')}`);
    }
    return value as T;
  }

  /** An array of numbers; with `length`, exactly that many. */
  floats(key: string, length?: number): number[] {
    const value = this.fields[key];
    const expected = length === undefined ? 'an array of numbers' : `an array of ${length} numbers`;
    if (!Array.isArray(value) || (length !== undefined && value.length !== length)) throw this.invalid(key, expected);
    return value.map((item) => {
      const decoded = decodeFloat(item);
      if (decoded === undefined) throw this.invalid(key, expected);
      return decoded;
    });
  }

  nullableFloats(key: string, length: number): number[] | null {
    return this.fields[key] === null ? null : this.floats(key, length);
  }

  integers(key: string): number[] {
    const value = this.fields[key];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'number' && Number.isInteger(item))) {
      throw this.invalid(key, 'an array of integers');
    }
    return value as number[];
  }

  array(key: string, length: number): unknown[] {
    const value = this.fields[key];
    if (!Array.isArray(value) || value.length !== length) throw this.invalid(key, `an array of ${length} entries`);
    return value;
  }
}
