// Modes and scopes are entered and left around a synchronous call; an async
// callback would leave the mode while its awaited work still runs.
import { ArgumentTypeError } from '../errors';

export function isPromiseLike(value: unknown): boolean {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/** Throws when a callback that must be synchronous returned a promise. */
export function assertSync(result: unknown, what: string, advice = ''): void {
  if (isPromiseLike(result)) {
    throw new ArgumentTypeError(`${what} needs a synchronous function: the mode would not hold across an await.${advice ? ' ' + advice : ''}`);
  }
}
