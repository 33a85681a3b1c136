import { UsageError } from '../core/errors.js';

/** Parse a positive number of seconds from a flag value. */
export function parseSeconds(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new UsageError(
      `${flag} expects a positive number of seconds, got ${JSON.stringify(value)}`,
      {
        hint: `for example ${flag} 30`,
      },
    );
  }
  return n;
}
