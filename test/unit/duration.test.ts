import { describe, expect, it } from 'vitest';
import {
  formatMemory,
  formatSlurmTime,
  parseDuration,
  parseMemory,
} from '../../src/core/duration.js';
import { UsageError } from '../../src/core/errors.js';

describe('parseDuration', () => {
  const cases: Array<[string, number]> = [
    ['90s', 90],
    ['15m', 900],
    ['2h', 7200],
    ['1d12h', 129_600],
    ['1h30m', 5400],
    ['1.5h', 5400],
    ['2H', 7200],
    ['1d2h3m4s', 93_784],
    // SLURM forms: a bare number is minutes, two fields minutes:seconds, three h:m:s.
    ['30', 1800],
    ['0', 0],
    ['5:30', 330],
    ['1:30:00', 5400],
    ['1-0', 86_400],
    ['1-12', 129_600],
    ['1-12:30', 131_400],
    ['2-03:04:05', 183_845],
    [' 10m ', 600],
  ];
  for (const [text, seconds] of cases) {
    it(`${JSON.stringify(text)} is ${seconds} s`, () => {
      expect(parseDuration(text)).toBe(seconds);
    });
  }

  it('reads UNLIMITED and INFINITE as Infinity', () => {
    expect(parseDuration('UNLIMITED')).toBe(Number.POSITIVE_INFINITY);
    expect(parseDuration('infinite')).toBe(Number.POSITIVE_INFINITY);
  });

  it('passes whole seconds through', () => {
    expect(parseDuration(42)).toBe(42);
  });

  for (const bad of ['', 'abc', '1x', '1:2:3:4', '-5', '1-', '1h 30m', '5.5', '1.2.3h']) {
    it(`refuses ${JSON.stringify(bad)} with a hint`, () => {
      expect(() => parseDuration(bad)).toThrow(UsageError);
      expect(() => parseDuration(bad)).toThrow(/invalid duration/);
    });
  }

  it('refuses negative and fractional numbers of seconds', () => {
    expect(() => parseDuration(-1)).toThrow(UsageError);
    expect(() => parseDuration(1.5)).toThrow(UsageError);
  });
});

describe('formatSlurmTime', () => {
  it('prints HH:MM:SS below a day and D-HH:MM:SS from a day on', () => {
    expect(formatSlurmTime(0)).toBe('00:00:00');
    expect(formatSlurmTime(90)).toBe('00:01:30');
    expect(formatSlurmTime(5400)).toBe('01:30:00');
    expect(formatSlurmTime(86_400)).toBe('1-00:00:00');
    expect(formatSlurmTime(129_600 + 61)).toBe('1-12:01:01');
    expect(formatSlurmTime(Number.POSITIVE_INFINITY)).toBe('UNLIMITED');
  });

  it('round-trips through parseDuration', () => {
    for (const s of [0, 1, 59, 60, 3599, 3600, 86_399, 86_400, 1_000_000]) {
      expect(parseDuration(formatSlurmTime(s))).toBe(s);
    }
  });

  it('refuses negative seconds', () => {
    expect(() => formatSlurmTime(-1)).toThrow(UsageError);
  });
});

describe('parseMemory', () => {
  const cases: Array<[string | number, number]> = [
    ['4G', 4096],
    ['512M', 512],
    ['1.5T', 1_572_864],
    ['4000', 4000],
    [4000, 4000],
    ['2048K', 2],
    ['1K', 1],
    ['4g', 4096],
    ['4GB', 4096],
    ['4GiB', 4096],
    ['0', 0],
    ['0.5G', 512],
  ];
  for (const [text, mb] of cases) {
    it(`${JSON.stringify(text)} is ${mb} MB`, () => {
      expect(parseMemory(text)).toBe(mb);
    });
  }

  for (const bad of ['', 'lots', '4X', '-4G', '4 G B', 'G']) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      expect(() => parseMemory(bad)).toThrow(/invalid memory size/);
    });
  }
});

describe('formatMemory', () => {
  it('uses the largest exact unit', () => {
    expect(formatMemory(4096)).toBe('4G');
    expect(formatMemory(4000)).toBe('4000M');
    expect(formatMemory(1_048_576)).toBe('1T');
    expect(formatMemory(0)).toBe('0M');
  });

  it('round-trips through parseMemory', () => {
    for (const mb of [1, 512, 1024, 1536, 4096, 1_048_576, 3_000_000]) {
      expect(parseMemory(formatMemory(mb))).toBe(mb);
    }
  });
});
