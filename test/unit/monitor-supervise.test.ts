import { describe, expect, it } from 'vitest';
import { afterExitBudget, parseSchedstat, readRunDelayMs } from '../../src/monitor/run.js';
import {
  forwardedSignal,
  type Input,
  initialState,
  outcome,
  type SupervisorState,
  shouldRefine,
  step,
} from '../../src/monitor/supervise.js';

const o = { graceSeconds: 30, gapMs: 5000, stopSelfOnTstp: false };
const sig = (signal: string, at: number): Input => ({ kind: 'signal', signal, at });
const tick = (at: number, childState: string | null = 'S'): Input => ({
  kind: 'tick',
  at,
  childState,
});

function play(inputs: Input[], opts = o) {
  let s: SupervisorState = initialState(0);
  const events: Array<[string, number, Record<string, unknown>]> = [];
  const actions: string[] = [];
  for (const i of inputs) {
    const r = step(s, i, opts);
    s = r.state;
    for (const e of r.events) events.push([e.type, e.at, e.data]);
    actions.push(...r.actions);
  }
  return { s, events, actions };
}

const SIGNALS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
const num = (n: string) => SIGNALS[n] ?? 0;

describe('step: signals', () => {
  it('SIGTSTP pauses once, SIGCONT resumes with the paused time', () => {
    const { events, s } = play([sig('SIGTSTP', 1000), sig('SIGTSTP', 1500), sig('SIGCONT', 4000)]);
    expect(events).toEqual([
      ['PAUSED', 1000, { source: 'signal', signal: 'SIGTSTP' }],
      ['RESUMED', 4000, { source: 'signal', signal: 'SIGCONT', pausedMs: 3000 }],
    ]);
    expect(s.paused).toBeNull();
  });

  it('stops itself after SIGTSTP only when asked (terminal job control)', () => {
    expect(play([sig('SIGTSTP', 1)]).actions).toEqual([]);
    expect(play([sig('SIGTSTP', 1)], { ...o, stopSelfOnTstp: true }).actions).toEqual([
      'stop_self',
    ]);
  });

  it('SIGTERM records TERMINATING once and starts the grace period once', () => {
    const { events, actions, s } = play([
      sig('SIGTERM', 10),
      sig('SIGTERM', 20),
      sig('SIGINT', 30),
    ]);
    expect(events).toEqual([['TERMINATING', 10, { signal: 'SIGTERM', graceSeconds: 30 }]]);
    expect(actions).toEqual(['start_grace']);
    expect(s.signals).toEqual(['SIGTERM', 'SIGTERM', 'SIGINT']);
  });

  it('SIGINT, SIGHUP, SIGUSR1, SIGUSR2 are forwarded without events', () => {
    const { events, actions } = play(
      ['SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'].map((x) => sig(x, 5)),
    );
    expect(events).toEqual([]);
    expect(actions).toEqual([]);
    expect(forwardedSignal('SIGTSTP')).toBe('SIGSTOP');
    expect(forwardedSignal('SIGUSR1')).toBe('SIGUSR1');
  });

  it('the grace period running out kills the group', () => {
    const { actions, s } = play([sig('SIGTERM', 1), { kind: 'grace_expired', at: 30_001 }]);
    expect(actions).toEqual(['start_grace', 'kill_group']);
    expect(s.killedAfterGrace).toBe(true);
  });
});

describe('step: stops nobody announced', () => {
  it('a clock jump (the cgroup freezer) gives an estimated PAUSED and a RESUMED', () => {
    const { events } = play([tick(1000), tick(2000), tick(62_000), tick(63_000)]);
    expect(events).toEqual([
      ['PAUSED', 2000, { source: 'clock_gap', estimated: true }],
      ['RESUMED', 62_000, { source: 'clock_gap', pausedMs: 60_000 }],
    ]);
  });

  it('a late tick explained by waiting for a CPU or by the loop being busy is no pause', () => {
    const late = { ...tick(9000), explainedMs: 7500 };
    expect(play([tick(1000), late, tick(10_000)]).events).toEqual([]);
    const frozen = { ...tick(9000), explainedMs: 1000 };
    expect(play([tick(1000), frozen]).events.map((e) => e[0])).toEqual(['PAUSED', 'RESUMED']);
    const cont = { ...sig('SIGCONT', 20_000), explainedMs: 18_500 };
    expect(play([tick(1000), cont]).events).toEqual([]);
  });

  it('reads the run delay from schedstat', () => {
    expect(parseSchedstat('158966 685399 2\n')).toBeCloseTo(0.685399);
    expect(parseSchedstat('')).toBeNull();
    expect(parseSchedstat('garbage here')).toBeNull();
    expect(readRunDelayMs()).toEqual(expect.any(Number));
  });

  it('a SIGCONT after a jump (SIGSTOP) counts; a SIGCONT without one does not', () => {
    expect(play([tick(1000), sig('SIGCONT', 1500)]).events).toEqual([]);
    const { events } = play([tick(1000), sig('SIGCONT', 20_000), tick(20_001)]);
    expect(events.map((e) => e[0])).toEqual(['PAUSED', 'RESUMED']);
  });

  it('after SIGTSTP, the thaw is one RESUMED whichever of tick and SIGCONT comes first', () => {
    const a = play([tick(1000), sig('SIGTSTP', 1500), tick(60_000), sig('SIGCONT', 60_001)]);
    const b = play([tick(1000), sig('SIGTSTP', 1500), sig('SIGCONT', 60_000), tick(60_001)]);
    for (const { events } of [a, b]) expect(events.map((e) => e[0])).toEqual(['PAUSED', 'RESUMED']);
  });

  it('a child stopped for two ticks is PAUSED; running again is RESUMED', () => {
    const { events } = play([tick(1000, 'T'), tick(2000, 'T'), tick(3000, 'T'), tick(4000, 'S')]);
    expect(events).toEqual([
      ['PAUSED', 2000, { source: 'child_stopped' }],
      ['RESUMED', 4000, { source: 'child_stopped', pausedMs: 2000 }],
    ]);
  });
});

describe('outcome', () => {
  it('keeps the exit code; death by signal n is 128+n', () => {
    expect(outcome({ code: 0, signal: null }, null, num)).toEqual({
      type: 'COMPLETED',
      exitCode: 0,
      signal: null,
      reason: null,
    });
    expect(outcome({ code: 3, signal: null }, null, num)).toMatchObject({
      exitCode: 3,
      reason: 'exit_code',
    });
    expect(outcome({ code: null, signal: 'SIGINT' }, null, num)).toMatchObject({
      type: 'FAILED',
      exitCode: 130,
      reason: 'signal',
    });
    expect(outcome({ code: null, signal: 'SIGKILL' }, null, num).exitCode).toBe(137);
  });

  it('the scheduler reason wins, even over exit 0 (a checkpoint on SIGTERM did not finish)', () => {
    expect(outcome({ code: null, signal: 'SIGTERM' }, 'cancelled', num)).toMatchObject({
      type: 'FAILED',
      exitCode: 143,
      signal: 'SIGTERM',
      reason: 'cancelled',
    });
    expect(outcome({ code: 0, signal: null }, 'timeout', num)).toMatchObject({
      type: 'FAILED',
      exitCode: 0,
      reason: 'timeout',
    });
  });

  it('asks the scheduler only when something went wrong', () => {
    const s = initialState(0);
    expect(shouldRefine(s, { code: 0, signal: null })).toBe(false);
    expect(shouldRefine(s, { code: 1, signal: null })).toBe(true);
    expect(shouldRefine(s, { code: null, signal: 'SIGKILL' })).toBe(true);
    expect(shouldRefine({ ...s, signals: ['SIGTERM'] }, { code: 0, signal: null })).toBe(true);
  });
});

describe('the time left after the command ends', () => {
  it('shares what the grace left of KillWait between the lookup and delivery', () => {
    expect(afterExitBudget(null, 30, 5000)).toEqual({ lookupMs: 6000, deliverMs: 10_000 });
    // stopped at once after the SIGTERM: the most time for both
    expect(afterExitBudget(1000, 25, 1500)).toEqual({ lookupMs: 6000, deliverMs: 10_000 });
    // the whole grace used: the floor (2 s + 3 s), as before
    expect(afterExitBudget(1000, 25, 26_000)).toEqual({ lookupMs: 2000, deliverMs: 3000 });
    // in between: the lookup gets 40 %, delivery the rest
    const mid = afterExitBudget(0, 25, 19_000);
    expect(mid.lookupMs).toBe(4000);
    expect(mid.deliverMs).toBe(6000);
  });
});
