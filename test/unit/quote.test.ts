import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { quote, quoteArgs } from '../../src/transport/quote.js';

const HOSTILE = [
  '$(touch x)',
  '`touch x`',
  "it's",
  '"double"',
  'a\nb',
  '*',
  '-rf',
  'a;b',
  'a && b',
  '$HOME',
  '\\',
  'ünïcødé ✓ 日本',
  ' spaced  out ',
  '\t',
  '',
  "'",
  "''",
  '!event',
  '~',
  '#comment',
];

describe('quote', () => {
  it('leaves plain words alone and wraps everything else in single quotes', () => {
    expect(quote('abc-1.2_x/y')).toBe('abc-1.2_x/y');
    expect(quote('')).toBe("''");
    expect(quote("it's")).toBe(`'it'\\''s'`);
    expect(quote('$(x)')).toBe("'$(x)'");
  });

  it('round-trips every hostile string through a real bash byte-exact', () => {
    const script = `printf '%s\\0' ${quoteArgs(HOSTILE)}`;
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(HOSTILE);
  });

  it('refuses a NUL byte with a usage error', () => {
    expect(() => quote('a\0b')).toThrow(UsageError);
  });
});
