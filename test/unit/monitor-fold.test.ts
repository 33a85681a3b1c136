import { describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../src/monitor/events.js';
import { applyEvent, jobFromEvents } from '../../src/monitor/fold.js';

const context = {
  host: 'berth',
  node: 'n1',
  user: 'alice',
  command: 'sleep 60',
  argv: ['sleep', '60'],
  cwd: '/home/alice',
  slurm: { jobId: '42', schedulerId: '100_3', arrayJobId: '100', arrayTaskId: 3, jobName: 'train' },
  resources: { nodes: 1 },
};

let n = 0;
function ev(
  type: MonitorEvent['type'],
  at: number,
  data: Record<string, unknown> = {},
): MonitorEvent {
  n += 1;
  return {
    id: `01J${String(n).padStart(23, '0')}`,
    jobKey: 'berth:100_3',
    type,
    at,
    data: { ...data, context },
  };
}

const run = [
  ev('RUNNING', 1000, { pid: 7 }),
  ev('PAUSED', 2000, { signal: 'SIGTSTP' }),
  ev('RESUMED', 3000, { pausedMs: 1000 }),
  ev('HEARTBEAT', 3500),
  ev('TERMINATING', 4000, { signal: 'SIGTERM' }),
  ev('FAILED', 5000, { exitCode: 143, signal: 'SIGTERM', reason: 'cancelled' }),
];

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) =>
    permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]),
  );
}

describe('applyEvent', () => {
  it('folds a run into the job row', () => {
    expect(jobFromEvents(run)).toEqual({
      key: 'berth:100_3',
      host: 'berth',
      scheduler: 'slurm',
      schedulerId: '100_3',
      arrayId: '100',
      arrayTask: 3,
      name: 'train',
      user: 'alice',
      command: 'sleep 60',
      resources: { nodes: 1 },
      state: 'cancelled',
      exitCode: 143,
      signal: 'SIGTERM',
      reason: 'cancelled',
      startedAt: 1000,
      endedAt: 5000,
      extra: { node: 'n1', heartbeatAt: 3500, stateEventAt: 5000, stateEventId: run[5]!.id },
    });
  });

  it('gives the same row for every arrival order and for replays', () => {
    const want = jobFromEvents(run);
    for (const order of permutations(run)) expect(jobFromEvents(order)).toEqual(want);
    expect(jobFromEvents([...run, ...run, run[1]!])).toEqual(want);
  });

  it('tracks the state step by step', () => {
    const states: string[] = [];
    let job: ReturnType<typeof applyEvent> | undefined;
    for (const e of run) {
      job = applyEvent(job, e);
      states.push(job.state);
    }
    expect(states).toEqual([
      'running',
      'suspended',
      'running',
      'running',
      'completing',
      'cancelled',
    ]);
  });

  it('maps every failure reason to a state; COMPLETED is exit 0', () => {
    const cases: Array<[string, string]> = [
      ['exit_code', 'failed'],
      ['signal', 'failed'],
      ['timeout', 'timeout'],
      ['out_of_memory', 'out_of_memory'],
      ['node_fail', 'node_fail'],
      ['preempted', 'preempted'],
      ['cancelled', 'cancelled'],
      ['something new', 'failed'],
    ];
    for (const [reason, state] of cases) {
      expect(applyEvent(undefined, ev('FAILED', 1, { reason, exitCode: 1 })).state).toBe(state);
    }
    expect(applyEvent(undefined, ev('COMPLETED', 9, {}))).toMatchObject({
      state: 'completed',
      exitCode: 0,
      reason: null,
      endedAt: 9,
    });
  });

  it('keeps what the row already says (a submit record) and does not modify its input', () => {
    const base = {
      key: 'berth:100_3',
      host: 'cluster',
      scheduler: 'slurm' as const,
      state: 'pending',
      name: 'given-name',
      submittedAt: 500,
    };
    const copy = structuredClone(base);
    const job = jobFromEvents(run.slice(0, 1), base)!;
    expect(base).toEqual(copy);
    expect(job).toMatchObject({
      host: 'cluster',
      name: 'given-name',
      submittedAt: 500,
      state: 'running',
    });
  });

  it('a later RUNNING (requeue) wins over an earlier end; SUBMITTED keeps the earliest time', () => {
    const requeued = jobFromEvents([run[0]!, run[5]!, ev('RUNNING', 9000, {})])!;
    expect(requeued).toMatchObject({
      state: 'running',
      exitCode: null,
      endedAt: null,
      startedAt: 1000,
    });
    const sub = jobFromEvents([ev('SUBMITTED', 300), ev('SUBMITTED', 200)])!;
    expect(sub).toMatchObject({ state: 'pending', submittedAt: 200 });
  });

  it('a HEARTBEAT alone never sets a state', () => {
    expect(applyEvent(undefined, ev('HEARTBEAT', 5)).state).toBe('unknown');
  });
});
