import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quote, quoteArgs } from '../../src/transport/quote.js';

/** Deterministic pseudo-random strings: every byte 1..255 and multi-byte characters. */
function fuzzStrings(count: number, seed = 42): string[] {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x;
  };
  const alphabet = [
    ...Array.from({ length: 127 }, (_, i) => String.fromCharCode(i + 1)),
    'é',
    'ü',
    '✓',
    '日',
    '🚀',
    '\u00a0',
    '\u2028',
  ];
  return Array.from({ length: count }, () => {
    const len = next() % 24;
    return Array.from({ length: len }, () => alphabet[next() % alphabet.length]).join('');
  });
}

/** bash prints each argument it received, NUL-terminated. */
function throughBash(words: string[]): string[] {
  const script = `printf '%s\\0' ${quoteArgs(words)}`;
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', maxBuffer: 1 << 24 });
  expect(r.status).toBe(0);
  return r.stdout.split('\0').slice(0, -1);
}

describe('transport quoting', () => {
  it('round-trips 2000 random strings (all bytes but NUL, unicode) through a real bash', () => {
    const words = fuzzStrings(2000).filter((w) => w !== '');
    expect(throughBash(words)).toEqual(words);
  });

  it('keeps an empty string as one empty argument', () => {
    expect(throughBash(['', 'a', ''])).toEqual(['', 'a', '']);
  });

  it('is also safe as the argument of bash -c (quoted twice)', () => {
    const word = `it's "$(touch /nonexistent/x)" \`id\` $HOME *`;
    const inner = `printf '%s' ${quote(word)}`;
    const r = spawnSync('bash', ['-c', `bash -c ${quote(inner)}`], { encoding: 'utf8' });
    expect(r.stdout).toBe(word);
  });
});
