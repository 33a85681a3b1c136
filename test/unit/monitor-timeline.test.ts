import { describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../src/monitor/events.js';
import { jobFromEvents } from '../../src/monitor/fold.js';
import { formatDuration, renderTimeline } from '../../src/monitor/timeline.js';

const t0 = Date.UTC(2026, 10, 23, 19, 14, 2, 708);
const context = {
  host: 'berth',
  node: 'n1',
  user: 'alice',
  command: 'sleep 60',
  slurm: { jobId: '42', schedulerId: '42', arrayJobId: null, arrayTaskId: null, jobName: 'wrap' },
};
const ev = (i: number, type: MonitorEvent['type'], dt: number, data: Record<string, unknown>) => ({
  id: `01J000000000000000000000${String(i).padStart(2, '0')}`,
  jobKey: 'berth:42',
  type,
  at: t0 + dt,
  data: { ...data, context },
});

const events = [
  ev(1, 'RUNNING', 0, { pid: 4121 }),
  ev(2, 'PAUSED', 2412, { source: 'signal', signal: 'SIGTSTP' }),
  ev(3, 'RESUMED', 8500, { source: 'signal', signal: 'SIGCONT', pausedMs: 6088 }),
  ev(4, 'TERMINATING', 11_105, { signal: 'SIGTERM', graceSeconds: 25 }),
  ev(5, 'FAILED', 11_190, {
    exitCode: 143,
    signal: 'SIGTERM',
    reason: 'cancelled',
    slurmState: 'CANCELLED',
  }),
];

describe('renderTimeline', () => {
  it('draws the job and its events (any order in, time order out)', () => {
    const job = jobFromEvents(events)!;
    const text = renderTimeline(job, [...events].reverse(), { timeZone: 'UTC' });
    expect(text).toBe(
      [
        'job berth:42  cancelled (exit 143, SIGTERM)',
        'host berth  node n1  user alice  slurm 42 (wrap)',
        'command sleep 60',
        '',
        '2026-11-23 19:14:02.708  +0.0s     RUNNING      pid 4121',
        '2026-11-23 19:14:05.120  +2.4s     PAUSED       SIGTSTP',
        '2026-11-23 19:14:11.208  +8.5s     RESUMED      SIGCONT, after 6.1s paused',
        '2026-11-23 19:14:13.813  +11.1s    TERMINATING  SIGTERM, grace 25s',
        '2026-11-23 19:14:13.898  +11.2s    FAILED       exit 143, SIGTERM, reason cancelled, slurm CANCELLED',
        '',
        'took 11.2s, of which 6.1s paused',
      ].join('\n'),
    );
  });

  it('works with events only, and with no events', () => {
    expect(renderTimeline(null, events.slice(0, 1), { timeZone: 'UTC' }).split('\n')[0]).toBe(
      'job berth:42',
    );
    expect(renderTimeline(jobFromEvents(events)!, [])).toMatch(/\(no events\)$/);
  });

  it('formats durations', () => {
    expect(formatDuration(950)).toBe('0.9s');
    expect(formatDuration(61_000)).toBe('1m01s');
    expect(formatDuration(3_700_000)).toBe('1h01m40s');
  });
});
