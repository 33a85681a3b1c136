import { describe, expect, it } from 'vitest';
import { parseArraySpec } from '../../src/core/jobid.js';
import {
  ARRAY_OFFSET_ENV,
  type ArrayChunk,
  chunkLogicalIndices,
  logicalIndex,
  planArrayChunks,
  planArraySpec,
  specForChunk,
} from '../../src/scheduler/slurm/arrays.js';
import { parseJobSpec } from '../../src/scheduler/spec.js';

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Every chunk obeys the limits, and the chunks cover the logical indices exactly once. */
function checkChunks(chunks: ArrayChunk[], logical: number[], max: number, maxArg = 10_000) {
  const covered = chunks.flatMap(chunkLogicalIndices);
  expect(covered).toEqual([...new Set(logical)].sort((a, b) => a - b));
  for (const c of chunks) {
    expect(Math.max(...c.indices)).toBeLessThan(max);
    expect(Math.min(...c.indices)).toBeGreaterThanOrEqual(0);
    expect(c.arrayArg.length).toBeLessThanOrEqual(maxArg);
    const parsed = parseArraySpec(c.arrayArg);
    expect(parsed.indices).toEqual(c.indices);
    expect(parsed.throttle).toBe(c.throttle);
  }
}

describe('planArrayChunks', () => {
  it('splits 2500 tasks with MaxArraySize 1001 into 3 chunks', () => {
    const logical = range(0, 2499);
    const chunks = planArrayChunks(logical, { maxArraySize: 1001 });
    expect(chunks.map((c) => [c.offset, c.arrayArg])).toEqual([
      [0, '0-1000'],
      [1001, '0-1000'],
      [2002, '0-497'],
    ]);
    checkChunks(chunks, logical, 1001);
    expect(logicalIndex(chunks[2]!, 497)).toBe(2499);
  });

  it('keeps one chunk at offset 0 when every index fits', () => {
    const chunks = planArrayChunks([3, 7, 12, 13, 14, 15], { maxArraySize: 1001 });
    expect(chunks).toEqual([{ offset: 0, indices: [3, 7, 12, 13, 14, 15], arrayArg: '3,7,12-15' }]);
  });

  it('keeps a sparse list of missing indices above 1000 sparse', () => {
    const missing = [5, 999, 1000, 1001, 1200, 1201, 1202, 2999, 5000];
    const chunks = planArrayChunks(missing, { maxArraySize: 1001 });
    expect(chunks.map((c) => [c.offset, c.arrayArg])).toEqual([
      [5, '0,994-996'],
      [1200, '0-2'],
      [2999, '0'],
      [5000, '0'],
    ]);
    checkChunks(chunks, missing, 1001);
  });

  it('splits where the --array text would get too long', () => {
    // Every other index: no ranges, so the text grows by one number per task.
    const logical = range(0, 999).filter((i) => i % 2 === 0);
    const chunks = planArrayChunks(logical, { maxArraySize: 1001, maxArgLength: 100 });
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((c) => c.offset === 0)).toBe(true);
    checkChunks(chunks, logical, 1001, 100);
  });

  it('counts the throttle in the length and puts it on every chunk', () => {
    const logical = range(0, 2499);
    const chunks = planArrayChunks(logical, { maxArraySize: 1001, throttle: 50 });
    expect(chunks.map((c) => c.arrayArg)).toEqual(['0-1000%50', '0-1000%50', '0-497%50']);
    const tight = planArrayChunks(
      range(0, 300).filter((i) => i % 3 === 0),
      {
        maxArraySize: 1001,
        maxArgLength: 40,
        throttle: 5,
      },
    );
    checkChunks(
      tight,
      range(0, 300).filter((i) => i % 3 === 0),
      1001,
      40,
    );
  });

  it('handles MaxArraySize 1 (every task its own array)', () => {
    const chunks = planArrayChunks([0, 1, 2], { maxArraySize: 1 });
    expect(chunks.map((c) => [c.offset, c.arrayArg])).toEqual([
      [0, '0'],
      [1, '0'],
      [2, '0'],
    ]);
  });

  it('covers large random sparse sets exactly once', () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 20; round++) {
      const logical = Array.from({ length: 500 }, () => Math.floor(rand() * 20_000));
      const max = 1 + Math.floor(rand() * 3000);
      const maxArg = 20 + Math.floor(rand() * 500);
      checkChunks(
        planArrayChunks(logical, { maxArraySize: max, maxArgLength: maxArg }),
        logical,
        max,
        maxArg,
      );
    }
  });

  it('returns no chunks for no indices and refuses bad input', () => {
    expect(planArrayChunks([])).toEqual([]);
    expect(() => planArrayChunks([-1])).toThrow(/whole numbers/);
    expect(() => planArrayChunks([1], { maxArraySize: 0 })).toThrow(/too small/);
  });
});

describe('planArraySpec and specForChunk', () => {
  it('plans from an array spec, keeping its throttle', () => {
    const chunks = planArraySpec('0-2499%10', { maxArraySize: 1001 });
    expect(chunks.map((c) => c.arrayArg)).toEqual(['0-1000%10', '0-1000%10', '0-497%10']);
  });

  it('gives each chunk its --array and BERTH_ARRAY_OFFSET', () => {
    const spec = parseJobSpec({ command: ['task'], array: '0-2499', env: { A: '1' } });
    const chunks = planArraySpec(spec.array!, { maxArraySize: 1001 });
    const second = specForChunk(spec, chunks[1]!);
    expect(second.array).toBe('0-1000');
    expect(second.env).toEqual({ A: '1', [ARRAY_OFFSET_ENV]: '1001' });
    expect(specForChunk(spec, chunks[0]!).env[ARRAY_OFFSET_ENV]).toBe('0');
    expect(spec.env).toEqual({ A: '1' });
  });
});
