import { describe, expect, it } from 'vitest';
import { progressBar, renderStatus } from '../../src/cli/pipeline.js';
import type { RunStatus } from '../../src/pipeline/index.js';

const unit = (over: Partial<RunStatus['units'][number]>): RunStatus['units'][number] => ({
  unit: 'gen@1',
  stage: 'gen',
  step: 1,
  total: 10,
  done: 0,
  failed: 0,
  running: 0,
  pending: 0,
  missing: 10,
  interrupted: 0,
  jobIds: [],
  ...over,
});

const status = (units: RunStatus['units'], complete = false): RunStatus => ({
  run: 'rg',
  runDir: '/runs/rg',
  host: 'local',
  complete,
  units,
  invalidated: [],
});

describe('pipeline status text', () => {
  it('draws done, running and failed tasks in the bar, each kind visible', () => {
    expect(progressBar(unit({ done: 5, running: 2, failed: 1, missing: 2 }))).toBe(
      `[${'#'.repeat(10)}${'>'.repeat(4)}${'!'.repeat(2)}${'.'.repeat(4)}]`,
    );
    expect(progressBar(unit({ total: 1000, done: 990, running: 1, missing: 9 }))).toBe(
      `[${'#'.repeat(18)}>.]`,
    );
    expect(progressBar(unit({ total: 0, missing: 0 }))).toBe(`[${'#'.repeat(20)}]`);
    expect(progressBar(unit({}))).toBe(`[${'.'.repeat(20)}]`);
  });

  it('shows running tasks, interrupted ones among the missing, and says the run is running', () => {
    const text = renderStatus(
      status([
        unit({ done: 4, running: 2, missing: 4, interrupted: 0 }),
        unit({ unit: 'hist@1', stage: 'hist', total: 1, missing: 1 }),
      ]),
    );
    const [head, gen, hist, last] = text.split('\n');
    expect(head).toMatch(/^UNIT\s+PROGRESS\s+DONE\s+RUNNING\s+FAILED\s+PENDING\s+MISSING$/);
    expect(gen).toMatch(/^gen@1\s+\[#{8}>{4}\.{8}\]\s+4\/10\s+2\s+0\s+0\s+4$/);
    expect(hist).toMatch(/^hist@1\s+\[\.{20}\]\s+0\/1\s+0\s+0\s+0\s+1$/);
    expect(last).toBe('rg: running (2 task(s) running or pending)');
  });

  it('after a killed run: interrupted tasks are missing, and resume is the way on', () => {
    const text = renderStatus(status([unit({ done: 7, missing: 3, interrupted: 2 })]));
    expect(text).toMatch(/gen@1\s+\[#{14}\.{6}\]\s+7\/10\s+0\s+0\s+0\s+3 \(2 interrupted\)/);
    expect(text.split('\n').at(-1)).toBe('rg: incomplete; berth pipeline resume rg');
    expect(renderStatus(status([unit({ done: 10, missing: 0 })], true))).toMatch(/rg: complete$/);
  });
});
