/**
 * HostWatcher against a fake observe() and a fake clock: one call per tick for every live
 * job, the cadence (submit, running, back-off, ceiling, minimum, jitter), the terminal
 * cache, failed queries (unknown with the reason, never gone, then recovery), no
 * overlapping calls, tracks during a tick, waitFor, hooks and the per-host registry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PollSettings } from '../../src/config/schema.js';
import { isTerminal, type JobState } from '../../src/core/states.js';
import type { Observation, ObserveHint } from '../../src/scheduler/contract.js';
import {
  closeWatchers,
  HostWatcher,
  type HostWatcherOptions,
  type JobChange,
  type WatcherClock,
  watcherFor,
} from '../../src/scheduler/watcher.js';

const T0 = 1_795_461_140_000;
const S = 1000;

const POLL: PollSettings = {
  minIntervalS: 2,
  submitIntervalS: 2,
  runningIntervalS: 15,
  maxIntervalS: 60,
  backoffFactor: 2,
  jitter: 0,
};

/** Timers that fire only when the test advances time. */
class FakeClock implements WatcherClock {
  t = T0;
  private seq = 0;
  private timers: Array<{ id: number; at: number; fn: () => void }> = [];

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  pending(): number {
    return this.timers.length;
  }

  /** Move time forward, firing due timers in order and letting promises settle between. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id);
      const next = due[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}

interface Call {
  at: number;
  endedAt?: number;
  ids: string[];
  hints?: ReadonlyMap<string, ObserveHint>;
}

/** A scheduler's observe(): states from a table, optionally failing, slow or throwing. */
class FakeScheduler {
  states = new Map<string, JobState>();
  calls: Call[] = [];
  failing: string | null = null;
  throwing: string | null = null;
  delayMs = 0;
  omit = new Set<string>();
  inFlight = 0;
  maxInFlight = 0;

  constructor(private readonly clock: FakeClock) {}

  observe = async (
    ids: readonly string[],
    hints?: ReadonlyMap<string, ObserveHint>,
  ): Promise<Map<string, Observation>> => {
    const call: Call = { at: this.clock.now(), ids: [...ids], ...(hints ? { hints } : {}) };
    this.calls.push(call);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs > 0) {
        await new Promise<void>((r) => this.clock.setTimer(r, this.delayMs));
      }
      if (this.throwing) throw new Error(this.throwing);
      const at = this.clock.now();
      const out = new Map<string, Observation>();
      for (const id of ids) {
        if (this.omit.has(id)) continue;
        if (this.failing) {
          out.set(id, {
            jobId: id,
            state: { kind: 'unknown', reason: this.failing, since: at },
            source: 'error',
            observedAt: at,
          });
          continue;
        }
        const state = this.states.get(id) ?? { kind: 'pending', reason: null };
        out.set(id, { jobId: id, state, source: 'squeue', observedAt: at });
      }
      return out;
    } finally {
      this.inFlight--;
      call.endedAt = this.clock.now();
    }
  };

  /** Seconds between the starts of consecutive calls. */
  gapsS(): number[] {
    return this.calls.slice(1).map((c, i) => (c.at - this.calls[i]!.at) / S);
  }
}

function setup(poll: Partial<PollSettings> = {}, extra: Partial<HostWatcherOptions> = {}) {
  const clock = new FakeClock();
  const sched = new FakeScheduler(clock);
  const persisted: Array<{ key: string; state: JobState }> = [];
  const changes: JobChange[] = [];
  const watcher = new HostWatcher({
    host: 'h',
    observe: sched.observe,
    poll: { ...POLL, ...poll },
    clock,
    random: () => 0.5,
    persist: (key, state) => {
      persisted.push({ key, state });
    },
    ...extra,
  });
  watcher.onChange((jobId, prev, next, observation) =>
    changes.push({ jobId, jobKey: `h:${jobId}`, prev, next, observation }),
  );
  return { clock, sched, watcher, persisted, changes };
}

const running = (startedAt = T0): JobState => ({ kind: 'running', nodes: ['n1'], startedAt });
const completed: JobState = { kind: 'completed', exitCode: 0, endedAt: T0 };

afterEach(async () => {
  await closeWatchers();
});

describe('one observe() call per tick', () => {
  it('asks every live job of the host in one call', async () => {
    const { clock, sched, watcher } = setup();
    for (let i = 0; i < 500; i++) watcher.track(String(1000 + i), { submittedAt: T0 });
    watcher.start();
    await clock.advance(2 * S);
    expect(sched.calls).toHaveLength(1);
    expect(sched.calls[0]!.ids).toHaveLength(500);
    expect(new Set(sched.calls[0]!.ids).size).toBe(500);
    await clock.advance(120 * S);
    expect(sched.calls.length).toBeGreaterThan(3);
    for (const c of sched.calls) expect(c.ids).toHaveLength(500);
    expect(sched.maxInFlight).toBe(1);
  });

  it('asks nothing before start() and nothing when no job is live', async () => {
    const { clock, sched, watcher } = setup();
    watcher.track('1', { submittedAt: T0 });
    await clock.advance(60 * S);
    expect(sched.calls).toHaveLength(0);
    const idle = setup();
    idle.watcher.start();
    await idle.clock.advance(600 * S);
    expect(idle.sched.calls).toHaveLength(0);
    expect(idle.clock.pending()).toBe(0);
  });

  it('passes the hints of split arrays along', async () => {
    const { clock, sched, watcher } = setup();
    watcher.track('500', {
      submittedAt: T0,
      hint: { schedulerIds: ['500', '501'], taskCount: 2500 },
    });
    watcher.track('600', { submittedAt: T0 });
    watcher.start();
    await clock.advance(2 * S);
    expect(sched.calls[0]!.hints).toEqual(
      new Map([['500', { schedulerIds: ['500', '501'], taskCount: 2500 }]]),
    );
  });
});

describe('cadence', () => {
  it('is fast right after a submit, then backs off while nothing changes, up to the ceiling', async () => {
    const { clock, sched, watcher } = setup();
    watcher.track('1', { submittedAt: T0 });
    watcher.start();
    await clock.advance(400 * S);
    expect(sched.calls[0]!.at).toBe(T0 + 2 * S);
    expect(sched.gapsS().slice(0, 8)).toEqual([4, 8, 16, 32, 60, 60, 60, 60]);
  });

  it('waits submitIntervalS after the submit, and asks at once for a job tracked without one', async () => {
    const { clock, sched, watcher } = setup({ submitIntervalS: 5 });
    watcher.start();
    watcher.track('1', { submittedAt: T0 - 1 * S });
    await clock.advance(10 * S);
    expect(sched.calls[0]!.at).toBe(T0 + 4 * S);
    const other = setup({ submitIntervalS: 5 });
    other.watcher.start();
    other.watcher.track('1');
    await other.clock.advance(1);
    expect(other.sched.calls[0]!.at).toBe(T0);
  });

  it('resets to fast on a change, then uses the running interval as the floor', async () => {
    const { clock, sched, watcher } = setup();
    watcher.track('1', { submittedAt: T0 });
    watcher.start();
    await clock.advance(2 * S + 4 * S + 8 * S); // asks at +2, +6, +14
    expect(sched.calls).toHaveLength(3);
    sched.states.set('1', running());
    await clock.advance(16 * S); // +30: sees it running
    expect(watcher.state('1')?.kind).toBe('running');
    await clock.advance(300 * S);
    expect(sched.gapsS().slice(3, 8)).toEqual([2, 15, 30, 60, 60]);
  });

  it('stays queued-fast while any live job is still pending', async () => {
    const { clock, sched, watcher } = setup();
    watcher.track('1', { submittedAt: T0 });
    watcher.track('2', { submittedAt: T0 });
    watcher.start();
    sched.states.set('1', running());
    await clock.advance(2 * S); // change: 1 runs
    await clock.advance(100 * S);
    // job 2 still pends: the floor is submitIntervalS, so back-off goes 2, 4, 8, ...
    expect(sched.gapsS().slice(0, 5)).toEqual([2, 4, 8, 16, 32]);
  });

  it('never asks faster than the site minimum, even when many tracks arrive', async () => {
    const { clock, sched, watcher } = setup({ minIntervalS: 10, submitIntervalS: 1 });
    watcher.start();
    for (let i = 0; i < 120; i++) {
      watcher.track(String(i), { submittedAt: clock.now() });
      await clock.advance(500);
    }
    await clock.advance(60 * S);
    expect(sched.calls.length).toBeGreaterThan(3);
    for (const gap of sched.gapsS()) expect(gap).toBeGreaterThanOrEqual(10);
    // tracks are coalesced: every call asks every job tracked before it started
    for (const c of sched.calls) {
      const tracked = Math.min(120, Math.floor((c.at - T0) / 500) + 1);
      expect(c.ids.length).toBeGreaterThanOrEqual(tracked - 1);
    }
    expect(sched.calls.at(-1)!.ids).toHaveLength(120);
  });

  it('resets to fast when a new job is tracked', async () => {
    const { clock, sched, watcher } = setup();
    watcher.track('1', { submittedAt: T0 });
    watcher.start();
    await clock.advance(200 * S); // backed off to 60 s by now
    const before = sched.calls.length;
    watcher.track('2', { submittedAt: clock.now() });
    await clock.advance(2 * S);
    expect(sched.calls.length).toBe(before + 1);
    expect(sched.calls.at(-1)!.ids).toEqual(['1', '2']);
    expect(sched.calls.at(-1)!.at).toBe(clock.now());
  });

  it('spreads intervals by ± jitter, within bounds and never below the minimum', async () => {
    let i = 0;
    const rs = [0, 0.999, 0.25, 0.75, 0.5];
    const { clock, sched, watcher } = setup(
      { jitter: 0.5, minIntervalS: 3, submitIntervalS: 4, maxIntervalS: 40 },
      { random: () => rs[i++ % rs.length]! },
    );
    watcher.track('1', { submittedAt: T0 });
    watcher.start();
    await clock.advance(1000 * S);
    const bases = [8, 16, 32, 40, 40, 40, 40, 40];
    const gaps = sched.gapsS();
    for (const [k, base] of bases.entries()) {
      const gap = gaps[k]!;
      expect(gap).toBeGreaterThanOrEqual(Math.max(3, base * 0.5));
      expect(gap).toBeLessThanOrEqual(base * 1.5);
    }
    // r = 0 gives exactly -50 %, r ~ 1 about +50 %
    expect(gaps[0]).toBe(4);
    expect(gaps[1]).toBeCloseTo(16 * 1.499, 1);
    const calm = setup({ jitter: 0.5, minIntervalS: 2, submitIntervalS: 2 }, { random: () => 0 });
    calm.watcher.track('1', { submittedAt: T0 });
    calm.watcher.start();
    await calm.clock.advance(100 * S);
    for (const gap of calm.sched.gapsS()) expect(gap).toBeGreaterThanOrEqual(2);
  });
});

describe('terminal states', () => {
  it('are cached and never asked again', async () => {
    const { clock, sched, watcher, persisted } = setup();
    watcher.track('1', { submittedAt: T0 });
    watcher.track('2', { submittedAt: T0 });
    watcher.start();
    sched.states.set('1', completed);
    await clock.advance(2 * S);
    expect(watcher.state('1')).toEqual(completed);
    await clock.advance(200 * S);
    for (const c of sched.calls.slice(1)) expect(c.ids).toEqual(['2']);
    sched.states.set('2', { kind: 'cancelled', endedAt: T0 });
    await clock.advance(60 * S);
    const n = sched.calls.length;
    await clock.advance(3600 * S);
    expect(sched.calls.length).toBe(n);
    expect(clock.pending()).toBe(0);
    expect(persisted.map((p) => [p.key, p.state.kind])).toEqual([
      ['h:1', 'completed'],
      ['h:2', 'cancelled'],
    ]);
    expect(watcher.snapshot().jobs.every((j) => j.terminal)).toBe(true);
  });

  it('a job tracked with a terminal state is never asked', async () => {
    const { clock, sched, watcher } = setup();
    watcher.track('1', { state: completed });
    watcher.start();
    await clock.advance(100 * S);
    expect(sched.calls).toHaveLength(0);
  });
});

describe('failed queries', () => {
  it('make live jobs unknown with the reason, back off, and recover when the query works', async () => {
    const { clock, sched, watcher, persisted, changes } = setup();
    watcher.track('1', { submittedAt: T0 });
    watcher.track('2', { submittedAt: T0 });
    watcher.track('3', { submittedAt: T0 });
    sched.states.set('1', running());
    sched.states.set('3', completed);
    watcher.start();
    await clock.advance(2 * S);
    expect(watcher.state('3')).toEqual(completed);
    const reason =
      'squeue failed on h (exit 1): slurm_load_jobs error: Unable to contact slurm controller';
    sched.failing = reason;
    await clock.advance(2 * S);
    const one = watcher.state('1')!;
    expect(one).toMatchObject({ kind: 'unknown', reason, last: running() });
    expect(watcher.state('2')).toMatchObject({
      kind: 'unknown',
      reason,
      last: { kind: 'pending' },
    });
    expect(watcher.state('3')).toEqual(completed);
    const failStart = sched.calls.length;
    await clock.advance(120 * S);
    // still unknown, still asked, with growing intervals; nothing failed, lost or gone
    const failGaps = sched.gapsS().slice(failStart - 1);
    expect(failGaps.length).toBeGreaterThan(1);
    for (let k = 1; k < failGaps.length; k++) {
      expect(failGaps[k]!).toBeGreaterThanOrEqual(failGaps[k - 1]!);
    }
    expect(watcher.state('1')?.kind).toBe('unknown');
    sched.failing = null;
    const recoveredFrom = sched.calls.length;
    await clock.advance(65 * S);
    expect(watcher.state('1')).toEqual(running());
    expect(watcher.state('2')).toEqual({ kind: 'pending', reason: null });
    const kinds = new Set(changes.map((c) => c.next.kind));
    expect([...kinds].sort()).toEqual(['completed', 'pending', 'running', 'unknown']);
    // the failure was written once per job, then the recovery
    expect(persisted.filter((p) => p.key === 'h:1').map((p) => p.state.kind)).toEqual([
      'running',
      'unknown',
      'running',
    ]);
    expect(watcher.snapshot().failedQueries).toBeGreaterThan(1);
    // after the recovery (a change) the cadence is fast again
    const recovery = sched.calls[recoveredFrom]!;
    expect(sched.calls[recoveredFrom + 1]!.at - recovery.at).toBe(2 * S);
  });

  it('an observe() that throws is a failed query too', async () => {
    const { clock, sched, watcher } = setup();
    watcher.track('1', { submittedAt: T0 });
    watcher.start();
    sched.throwing = 'ssh: connect to host login port 22: Connection refused';
    await clock.advance(2 * S);
    expect(watcher.state('1')).toMatchObject({
      kind: 'unknown',
      reason: 'status query failed on h: ssh: connect to host login port 22: Connection refused',
    });
    sched.throwing = null;
    await clock.advance(5 * S);
    expect(watcher.state('1')).toEqual({ kind: 'pending', reason: null });
  });

  it('a job missing from the answer is unknown, not gone', async () => {
    const { clock, sched, watcher } = setup();
    watcher.track('1', { submittedAt: T0 });
    watcher.start();
    sched.omit.add('1');
    await clock.advance(2 * S);
    expect(watcher.state('1')).toMatchObject({
      kind: 'unknown',
      reason: 'the status query on h returned nothing for this job',
    });
  });

  it('believes `lost` only after it is observed twice in a row', async () => {
    const { clock, sched, watcher } = setup();
    watcher.track('1', { submittedAt: T0 });
    watcher.start();
    sched.states.set('1', {
      kind: 'lost',
      reason: 'not in the queue and sacct has no record of it',
      since: null,
    });
    await clock.advance(2 * S);
    expect(watcher.state('1')?.kind).toBe('pending');
    sched.states.set('1', running());
    await clock.advance(4 * S);
    expect(watcher.state('1')?.kind).toBe('running');
    sched.states.set('1', { kind: 'lost', reason: 'gone', since: null });
    await clock.advance(2 * S);
    expect(watcher.state('1')?.kind).toBe('running');
    await clock.advance(15 * S);
    expect(watcher.state('1')?.kind).toBe('lost');
  });
});

describe('concurrency', () => {
  it('never runs two calls at once when observe() is slow', async () => {
    const { clock, sched, watcher } = setup();
    sched.delayMs = 25 * S;
    for (let i = 0; i < 10; i++) watcher.track(String(i), { submittedAt: T0 });
    watcher.start();
    for (let i = 0; i < 40; i++) {
      watcher.track(String(100 + i), { submittedAt: clock.now() });
      await clock.advance(3 * S);
    }
    await clock.advance(300 * S);
    expect(sched.maxInFlight).toBe(1);
    for (const [k, c] of sched.calls.slice(1).entries()) {
      const prev = sched.calls[k]!;
      // the site minimum lies between the end of one call and the start of the next
      expect(c.at - prev.endedAt!).toBeGreaterThanOrEqual(2 * S);
    }
  });

  it('a job tracked during a tick goes into the next call, soon', async () => {
    const { clock, sched, watcher } = setup();
    sched.delayMs = 5 * S;
    watcher.track('1', { submittedAt: T0 });
    watcher.start();
    await clock.advance(200 * S); // backed off
    const n = sched.calls.length;
    const last = sched.calls.at(-1)!;
    // move to the middle of the next call
    await clock.advance(last.at + 60 * S + 2 * S - clock.now());
    expect(sched.calls.length).toBe(n + 1);
    expect(sched.inFlight).toBe(1);
    watcher.track('2', { submittedAt: clock.now() });
    expect(sched.calls.at(-1)!.ids).toEqual(['1']);
    await clock.advance(3 * S); // the call ends
    expect(sched.calls.length).toBe(n + 1);
    await clock.advance(2 * S); // the site minimum after its end: the new job is past due
    expect(sched.calls.length).toBe(n + 2);
    expect(sched.calls.at(-1)!.ids).toEqual(['1', '2']);
    expect(sched.calls.at(-1)!.at).toBe(sched.calls.at(-2)!.endedAt! + 2 * S);
    expect(sched.maxInFlight).toBe(1);
  });

  it('a job untracked during a tick is left out of the answer', async () => {
    const { clock, sched, watcher, changes } = setup();
    sched.delayMs = 5 * S;
    watcher.track('1', { submittedAt: T0 });
    watcher.track('2', { submittedAt: T0 });
    sched.states.set('2', running());
    watcher.start();
    await clock.advance(3 * S);
    watcher.untrack('2');
    await clock.advance(10 * S);
    expect(changes.map((c) => c.jobId)).not.toContain('2');
    expect(watcher.state('2')).toBeUndefined();
  });
});

describe('waitFor', () => {
  it('resolves when every job is terminal, tracking and starting as needed', async () => {
    const { clock, sched, watcher } = setup();
    const done = watcher.waitFor(['1', '2']);
    let result: Map<string, JobState> | undefined;
    void done.then((r) => {
      result = r;
    });
    await clock.advance(10 * S);
    expect(result).toBeUndefined();
    sched.states.set('1', completed);
    sched.states.set('2', { kind: 'failed', exitCode: 3, endedAt: T0 });
    await clock.advance(60 * S);
    expect(result?.get('1')).toEqual(completed);
    expect(result?.get('2')?.kind).toBe('failed');
  });

  it('takes another condition, an abort signal, and rejects when stopped', async () => {
    const { clock, sched, watcher } = setup();
    sched.states.set('1', running());
    const started = await Promise.race([
      watcher.waitFor(['1'], { until: (s) => s.kind === 'running' }),
      clock.advance(5 * S).then(() => 'timeout'),
    ]);
    expect(started).toBeInstanceOf(Map);
    const ac = new AbortController();
    const aborted = watcher.waitFor(['1'], { signal: ac.signal });
    ac.abort(new Error('interrupted'));
    await expect(aborted).rejects.toThrow('interrupted');
    const stopped = watcher.waitFor(['1']);
    await watcher.stop();
    await expect(stopped).rejects.toThrow('the status watcher of h stopped');
  });
});

describe('store writes, listeners and hooks', () => {
  it('persists each change once, in order, and reports persist failures without stopping', async () => {
    let fail = true;
    const writes: string[] = [];
    const errors: unknown[] = [];
    const { clock, sched, watcher } = setup(
      {},
      {
        persist: (key, state) => {
          if (fail) {
            fail = false;
            throw new Error('database is locked');
          }
          writes.push(`${key}=${state.kind}`);
        },
      },
    );
    watcher.onError((e) => errors.push(e));
    watcher.track('1', { submittedAt: T0 });
    watcher.start();
    sched.states.set('1', running());
    await clock.advance(2 * S);
    sched.states.set('1', completed);
    await clock.advance(2 * S);
    expect(writes).toEqual(['h:1=completed']);
    expect(errors).toHaveLength(1);
    expect(watcher.snapshot()).toMatchObject({ errors: 1, lastError: 'database is locked' });
  });

  it('runs onTick hooks after every query, inside the tick', async () => {
    const { clock, sched, watcher } = setup();
    const ticks: Array<{ ids: readonly string[]; outcome: string; inFlight: number }> = [];
    const off = watcher.onTick(async (t) => {
      ticks.push({ ids: t.jobIds, outcome: t.outcome, inFlight: sched.inFlight });
      await new Promise<void>((r) => clock.setTimer(r, 1 * S));
    });
    watcher.onTick(() => {
      throw new Error('outbox unreadable');
    });
    watcher.track('1', { submittedAt: T0 });
    watcher.start();
    sched.states.set('1', running());
    await clock.advance(2 * S + 1 * S + 15 * S);
    expect(ticks).toEqual([
      { ids: ['1'], outcome: 'changed', inFlight: 0 },
      { ids: ['1'], outcome: 'quiet', inFlight: 0 },
    ]);
    expect(watcher.snapshot().errors).toBe(2);
    off();
    await clock.advance(100 * S);
    expect(ticks).toHaveLength(2);
  });

  it('emits array task-count changes even when the state stays the same', async () => {
    let tasks: Record<string, number> = { pending: 3 };
    const clock = new FakeClock();
    const seen: string[] = [];
    const watcher = new HostWatcher({
      host: 'h',
      poll: POLL,
      clock,
      observe: async (ids) =>
        new Map(
          ids.map((id) => [
            id,
            {
              jobId: id,
              state: running(),
              source: 'squeue' as const,
              observedAt: clock.now(),
              tasks,
            },
          ]),
        ),
    });
    watcher.onChange((_id, _p, next, o) => seen.push(`${next.kind}:${JSON.stringify(o.tasks)}`));
    watcher.track('7', { submittedAt: T0 });
    watcher.start();
    await clock.advance(2 * S);
    tasks = { running: 2, completed: 1 };
    await clock.advance(2 * S);
    await clock.advance(15 * S);
    expect(seen).toEqual(['running:{"pending":3}', 'running:{"running":2,"completed":1}']);
    expect(watcher.snapshot().jobs[0]!.tasks).toEqual({ running: 2, completed: 1 });
  });
});

describe('watcherFor', () => {
  it('gives one started watcher per host', async () => {
    const clock = new FakeClock();
    const make = () => ({ observe: async () => new Map(), poll: POLL, clock });
    const a = watcherFor('alpha', make);
    expect(watcherFor('alpha')).toBe(a);
    expect(watcherFor('alpha', make)).toBe(a);
    expect(watcherFor('beta', make)).not.toBe(a);
    expect(a.snapshot().running).toBe(true);
    expect(() => watcherFor('gamma')).toThrow(/no status watcher for host gamma/);
    await closeWatchers('alpha');
    expect(a.snapshot().running).toBe(false);
    expect(watcherFor('alpha', make)).not.toBe(a);
  });
});

describe('snapshot', () => {
  it('tells the cadence and every job', async () => {
    const { clock, sched, watcher } = setup();
    watcher.track('1', { submittedAt: T0 });
    sched.states.set('1', running());
    watcher.start();
    await clock.advance(2 * S);
    const snap = watcher.snapshot();
    expect(snap).toMatchObject({
      host: 'h',
      running: true,
      queries: 1,
      failedQueries: 0,
      intervalMs: 2 * S,
      lastQueryAt: T0 + 2 * S,
      nextQueryAt: T0 + 4 * S,
    });
    expect(snap.jobs).toEqual([
      { jobId: '1', state: running(), terminal: false, observedAt: T0 + 2 * S, source: 'squeue' },
    ]);
    expect(isTerminal(snap.jobs[0]!.state)).toBe(false);
  });
});
