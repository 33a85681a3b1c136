import { describe, expect, it } from 'vitest';
import type { PollSettings } from '../../src/config/schema.js';
import type { JobState } from '../../src/core/states.js';
import {
  clampMs,
  fastMs,
  jitterMs,
  nextIntervalMs,
  phaseOf,
} from '../../src/scheduler/watcher-cadence.js';

const POLL: PollSettings = {
  minIntervalS: 2,
  submitIntervalS: 2,
  runningIntervalS: 15,
  maxIntervalS: 60,
  backoffFactor: 2,
  jitter: 0.1,
};

describe('watcher cadence', () => {
  it('backs off from the submit interval while queued, to the ceiling', () => {
    const seq = [fastMs(POLL)];
    for (let i = 0; i < 7; i++) seq.push(nextIntervalMs(POLL, seq.at(-1)!, 'quiet', 'queued'));
    expect(seq.map((ms) => ms / 1000)).toEqual([2, 4, 8, 16, 32, 60, 60, 60]);
  });

  it('uses the running interval as the floor while every job runs; a change resets to fast', () => {
    expect(nextIntervalMs(POLL, 2000, 'quiet', 'running')).toBe(15_000);
    expect(nextIntervalMs(POLL, 15_000, 'quiet', 'running')).toBe(30_000);
    expect(nextIntervalMs(POLL, 60_000, 'changed', 'running')).toBe(2000);
    expect(nextIntervalMs(POLL, 8000, 'failed', 'running')).toBe(16_000);
  });

  it('never goes below the site minimum, even when the submit interval is smaller', () => {
    const strict = { ...POLL, minIntervalS: 10, submitIntervalS: 1 };
    expect(fastMs(strict)).toBe(10_000);
    expect(nextIntervalMs(strict, 1000, 'changed', 'queued')).toBe(10_000);
    expect(clampMs(strict, 500)).toBe(10_000);
    expect(clampMs(strict, 1e9)).toBe(60_000);
  });

  it('spreads by ± jitter and keeps the minimum', () => {
    expect(jitterMs(POLL, 10_000, 0)).toBe(9000);
    expect(jitterMs(POLL, 10_000, 0.5)).toBe(10_000);
    expect(jitterMs(POLL, 10_000, 0.999_999)).toBe(11_000);
    expect(jitterMs({ ...POLL, jitter: 0.5 }, 2000, 0)).toBe(2000);
    for (let r = 0; r < 1; r += 0.01) {
      const ms = jitterMs(POLL, 60_000, r);
      expect(ms).toBeGreaterThanOrEqual(54_000);
      expect(ms).toBeLessThanOrEqual(66_000);
    }
  });

  it('calls the phase running only when every live job runs (also while unknown)', () => {
    const run: JobState = { kind: 'running', nodes: [], startedAt: null };
    expect(phaseOf([run, { kind: 'completing', nodes: [] }])).toBe('running');
    expect(phaseOf([run, { kind: 'pending', reason: null }])).toBe('queued');
    expect(phaseOf([{ kind: 'unknown', reason: 'x', since: null, last: run }])).toBe('running');
    expect(phaseOf([{ kind: 'unknown', reason: 'x', since: null }])).toBe('queued');
  });
});
