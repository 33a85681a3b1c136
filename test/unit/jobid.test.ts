import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import {
  formatArraySpec,
  formatJobId,
  type JobId,
  parseArraySpec,
  parseJobId,
} from '../../src/core/jobid.js';

describe('parseJobId', () => {
  const cases: Array<[string, JobId]> = [
    ['123', { kind: 'job', jobId: 123 }],
    ['123_7', { kind: 'array_task', jobId: 123, taskId: 7 }],
    [
      '123_[2-4%25]',
      { kind: 'array_range', jobId: 123, tasks: { indices: [2, 3, 4], throttle: 25 } },
    ],
    ['123_[1,3,5-7]', { kind: 'array_range', jobId: 123, tasks: { indices: [1, 3, 5, 6, 7] } }],
    ['123+1', { kind: 'het', jobId: 123, hetOffset: 1 }],
    ['123.4', { kind: 'job', jobId: 123, step: { kind: 'numbered', id: 4 } }],
    ['123.batch', { kind: 'job', jobId: 123, step: { kind: 'batch' } }],
    ['123.extern', { kind: 'job', jobId: 123, step: { kind: 'extern' } }],
    ['123.interactive', { kind: 'job', jobId: 123, step: { kind: 'interactive' } }],
    ['123_7.0', { kind: 'array_task', jobId: 123, taskId: 7, step: { kind: 'numbered', id: 0 } }],
    ['123_7.batch', { kind: 'array_task', jobId: 123, taskId: 7, step: { kind: 'batch' } }],
    ['123+1.0', { kind: 'het', jobId: 123, hetOffset: 1, step: { kind: 'numbered', id: 0 } }],
    ['123.0+1', { kind: 'job', jobId: 123, step: { kind: 'numbered', id: 0, hetComponent: 1 } }],
  ];
  for (const [text, id] of cases) {
    it(`parses ${text}`, () => {
      expect(parseJobId(text)).toEqual(id);
    });
    it(`formats ${text} back`, () => {
      expect(formatJobId(id)).toBe(text);
    });
  }

  it('trims surrounding whitespace', () => {
    expect(parseJobId(' 42\n')).toEqual({ kind: 'job', jobId: 42 });
  });

  for (const bad of [
    '',
    'abc',
    '12a',
    '-1',
    '123_',
    '123_[]',
    '123_[2-4%25].0',
    '123.',
    '123.foo',
    '123_[4-2]',
    '123 456',
    '123;cluster',
    '$(id)',
  ]) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      expect(() => parseJobId(bad)).toThrow(UsageError);
    });
  }
});

describe('parseArraySpec', () => {
  it('reads ranges, lists, steps and the throttle', () => {
    expect(parseArraySpec('0-99%10')).toEqual({
      indices: Array.from({ length: 100 }, (_, i) => i),
      throttle: 10,
    });
    expect(parseArraySpec('1,3,5-7')).toEqual({ indices: [1, 3, 5, 6, 7] });
    expect(parseArraySpec('0-15:4')).toEqual({ indices: [0, 4, 8, 12] });
    expect(parseArraySpec('7')).toEqual({ indices: [7] });
  });

  it('sorts and drops duplicates', () => {
    expect(parseArraySpec('9,1-3,2,1')).toEqual({ indices: [1, 2, 3, 9] });
  });

  for (const bad of ['', '%2', '1-', '3-1', '1,,2', '1%0', '1%x', '1%2%3', 'a-b', '0-9:0', '-1']) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      expect(() => parseArraySpec(bad)).toThrow(/invalid array spec/);
    });
  }

  it('refuses arrays too large to hold', () => {
    expect(() => parseArraySpec('0-99999999')).toThrow(/too many tasks/);
  });
});

describe('formatArraySpec', () => {
  it('compresses into ranges', () => {
    expect(formatArraySpec([3, 7, 12, 13, 14, 15])).toBe('3,7,12-15');
    expect(formatArraySpec([15, 12, 14, 13, 3, 7, 7])).toBe('3,7,12-15');
    expect(formatArraySpec([0, 1, 2], 2)).toBe('0-2%2');
    expect(formatArraySpec([5])).toBe('5');
  });

  it('round-trips with parseArraySpec', () => {
    for (const text of ['0-99%10', '1,3,5-7', '0', '2-4%25', '1,1000-1999,5000']) {
      const spec = parseArraySpec(text);
      expect(formatArraySpec(spec.indices, spec.throttle)).toBe(text);
    }
  });

  it('refuses an empty list and bad indices', () => {
    expect(() => formatArraySpec([])).toThrow(UsageError);
    expect(() => formatArraySpec([-1])).toThrow(UsageError);
    expect(() => formatArraySpec([1.5])).toThrow(UsageError);
  });
});
