import { describe, expect, it } from 'vitest';
import { runIdAt, runIdTime } from '../../src/sessions/layout.js';
import { blankObservation, type RunObservation } from '../../src/sessions/observe.js';
import { deriveState, shouldRestart } from '../../src/sessions/state.js';

const NOW = 1_800_000_000_000;

function obs(over: Partial<RunObservation>): RunObservation {
  return {
    ...blankObservation('s'),
    runId: '20270115T080000.000Z',
    startedAt: NOW - 600_000,
    ...over,
  };
}

const live = {
  session: 's',
  index: '0.0',
  pid: 42,
  dead: false,
  exitStatus: null,
  exitSignal: null,
};
const dead = { ...live, dead: true };

describe('session state', () => {
  it('running, stale only past logs.staleAfter of silence (on the host clock)', () => {
    const o = obs({ pane: live, log: { bytes: 10, modifiedAt: NOW - 120_000 } });
    expect(deriveState({ desired: 'running', observation: o, now: NOW })).toEqual({
      kind: 'running',
      pid: 42,
      stale: false,
      lastOutputAt: NOW - 120_000,
    });
    expect(
      deriveState({ desired: 'running', observation: o, now: NOW, staleAfterS: 60 }),
    ).toMatchObject({ stale: true });
    expect(
      deriveState({ desired: 'running', observation: o, now: NOW, staleAfterS: 300 }),
    ).toMatchObject({ stale: false });
    // no output at all yet: silence is counted from the start
    const quiet = obs({ pane: live });
    expect(
      deriveState({ desired: 'running', observation: quiet, now: NOW, staleAfterS: 60 }),
    ).toMatchObject({ stale: true });
  });

  it('exited: the exit record wins, then the pane status, then a signal', () => {
    expect(
      deriveState({
        desired: 'running',
        observation: obs({ pane: dead, exit: { code: 3, at: NOW } }),
        now: NOW,
      }),
    ).toEqual({
      kind: 'exited',
      exitCode: 3,
      at: NOW,
    });
    expect(
      deriveState({
        desired: 'running',
        observation: obs({ pane: { ...dead, exitStatus: 4 } }),
        now: NOW,
      }),
    ).toMatchObject({ exitCode: 4 });
    expect(
      deriveState({
        desired: 'running',
        observation: obs({ pane: { ...dead, exitSignal: 9 } }),
        now: NOW,
      }),
    ).toMatchObject({ exitCode: 137 });
    expect(
      deriveState({ desired: 'running', observation: obs({ pane: dead }), now: NOW }),
    ).toMatchObject({ kind: 'exited', exitCode: null });
    expect(
      deriveState({
        desired: 'running',
        observation: obs({ exit: { code: 0, at: NOW } }),
        now: NOW,
      }),
    ).toMatchObject({ kind: 'exited', exitCode: 0 });
  });

  it('stopped on request; lost when it should run but nothing is there; unknown when not asked', () => {
    expect(
      deriveState({
        desired: 'stopped',
        observation: obs({ exit: { code: 143, at: NOW } }),
        now: NOW,
      }),
    ).toMatchObject({
      kind: 'stopped',
      exitCode: 143,
    });
    expect(deriveState({ desired: 'running', observation: obs({}), now: NOW })).toEqual({
      kind: 'lost',
    });
    expect(
      deriveState({ desired: 'running', observation: undefined, now: NOW, error: 'ssh: timeout' }),
    ).toEqual({
      kind: 'unknown',
      reason: 'ssh: timeout',
    });
  });

  it('a live pane is running even when berth wanted it stopped', () => {
    expect(
      deriveState({ desired: 'stopped', observation: obs({ pane: live }), now: NOW }).kind,
    ).toBe('running');
  });
  it('pending while a job has not started its run; a lease tenant that ended in an earlier job is exited', () => {
    const job = { id: '52', state: 'RUNNING', node: 'n1' };
    const ended = { code: 0, at: NOW - 1000 };
    // slurm: the successor job runs and will start a new run (the old one has its record)
    const successor = obs({ job, runJob: '51', exit: ended });
    expect(
      deriveState({ desired: 'running', observation: successor, now: NOW, runtime: 'slurm' }),
    ).toEqual({ kind: 'pending', jobId: '52' });
    // slurm-tenant: the lease hopped to job 52; a run that ended in job 51 is not coming back
    expect(
      deriveState({
        desired: 'running',
        observation: successor,
        now: NOW,
        runtime: 'slurm-tenant',
      }),
    ).toEqual({ kind: 'exited', exitCode: 0, at: NOW - 1000 });
    // ... while one the hop ended (SIGHUP, no record) waits for the new job to start it
    expect(
      deriveState({
        desired: 'running',
        observation: obs({ job, runJob: '51' }),
        now: NOW,
        runtime: 'slurm-tenant',
      }).kind,
    ).toBe('pending');
  });
});

describe('restart policy', () => {
  const exited = (code: number | null) => ({ kind: 'exited' as const, exitCode: code, at: NOW });
  it.each([
    ['never', exited(1), false],
    ['on-failure', exited(0), false],
    ['on-failure', exited(2), true],
    ['on-failure', exited(null), true],
    ['always', exited(0), true],
    ['always', { kind: 'lost' as const }, true],
    ['on-failure', { kind: 'lost' as const }, true],
    ['never', { kind: 'lost' as const }, false],
    ['always', { kind: 'running' as const, pid: 1, stale: true, lastOutputAt: null }, false],
    ['always', { kind: 'unknown' as const, reason: 'x' }, false],
  ] as const)('%s after %j: %s', (policy, state, want) => {
    expect(shouldRestart(policy, 'running', state)).toBe(want);
  });

  it('never restarts what was stopped on request', () => {
    expect(shouldRestart('always', 'stopped', exited(1))).toBe(false);
  });
});

describe('run ids', () => {
  it('are UTC start times that sort like the runs and read back', () => {
    const d = new Date(Date.UTC(2027, 0, 15, 8, 0, 1, 23));
    expect(runIdAt(d)).toBe('20270115T080001.023Z');
    expect(runIdTime('20270115T080001.023Z')).toBe(d.getTime());
    expect(runIdTime('nope')).toBeNaN();
    expect(runIdAt(new Date(d.getTime() + 1)) > runIdAt(d)).toBe(true);
  });
});

describe('SLURM session state', () => {
  const job = (state: string | null) => ({
    id: '42',
    state,
    node: state === 'RUNNING' ? 'n1' : null,
  });
  it('is pending while its job is queued, whatever the files say', () => {
    const o = obs({ job: job('PENDING'), exit: { code: 0, at: NOW } });
    expect(deriveState({ desired: 'running', observation: o, now: NOW })).toEqual({
      kind: 'pending',
      jobId: '42',
    });
    expect(shouldRestart('always', 'running', { kind: 'pending', jobId: '42' })).toBe(false);
  });

  it('is pending while its job runs but has not started its run yet', () => {
    const o = obs({ job: job('RUNNING'), runJob: '41', exit: { code: 0, at: NOW } });
    expect(deriveState({ desired: 'running', observation: o, now: NOW })).toEqual({
      kind: 'pending',
      jobId: '42',
    });
    const started = obs({ job: job('RUNNING'), runJob: '42', pane: live });
    expect(deriveState({ desired: 'running', observation: started, now: NOW }).kind).toBe(
      'running',
    );
  });

  it('is unknown when the job runs but its node could not be asked', () => {
    const o = obs({ job: job('RUNNING'), runJob: '42', error: 'srun: error: …' });
    expect(deriveState({ desired: 'running', observation: o, now: NOW })).toEqual({
      kind: 'unknown',
      reason: 'srun: error: …',
    });
  });

  it('is stopped once stopped, even while a lease job it lived in runs on', () => {
    const o = obs({ job: job('RUNNING'), runJob: '41', exit: null });
    expect(deriveState({ desired: 'stopped', observation: o, now: NOW })).toMatchObject({
      kind: 'stopped',
    });
  });

  it('reads the run files once the job has left the queue', () => {
    const o = obs({ job: job(null), exit: { code: 0, at: NOW } });
    expect(deriveState({ desired: 'running', observation: o, now: NOW })).toMatchObject({
      kind: 'exited',
      exitCode: 0,
    });
    expect(
      deriveState({ desired: 'running', observation: obs({ job: job(null) }), now: NOW }),
    ).toEqual({ kind: 'lost' });
  });
});
