import { UsageError } from '../core/errors.js';

const SAFE_WORD = /^[A-Za-z0-9_/.,:@%+=^-]+$/;

/**
 * POSIX shell quoting: the one and only way a user value enters shell text in berth.
 * The result is a single shell word that expands to exactly `value`, byte for byte.
 */
export function quote(value: string): string {
  if (value.includes('\0')) {
    throw new UsageError('a shell argument contains a NUL byte', {
      hint: 'NUL cannot be passed through a command line; remove it from the value',
    });
  }
  if (value === '') return "''";
  if (SAFE_WORD.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Quote every element of argv and join them into one command line. */
export function quoteArgs(argv: readonly string[]): string {
  return argv.map(quote).join(' ');
}
