/**
 * The status watcher: ONE per host (`watcherFor`). Every tracked job of the host that is
 * not finished goes into ONE `observe()` call per tick — never one call per job, never
 * two calls at once. Cadence (watcher-cadence.ts): fast after a submit or a change,
 * slower while running, backing off while nothing changes, never below the site minimum,
 * with jitter. Finished states are cached and never asked again. A failed query makes the
 * jobs `unknown` with the reason (through `transition()`), never gone; it is retried with
 * back-off and the states recover when the query works again.
 *
 * It holds no SQL and no runner: it receives `observe` and `persist` as functions
 * (watcher-store.ts wires them to a Scheduler and the store), and a clock for tests.
 * See docs/watcher.md.
 */
import type { PollSettings } from '../config/schema.js';
import { NotFoundError } from '../core/errors.js';
import { isTerminal, type JobState, transition } from '../core/states.js';
import type { Observation, ObserveHint } from './contract.js';
import { fastMs, jitterMs, nextIntervalMs, phaseOf, type TickOutcome } from './watcher-cadence.js';

export type ObserveFn = (
  jobIds: readonly string[],
  hints?: ReadonlyMap<string, ObserveHint>,
) => Promise<Map<string, Observation>>;

/** One job's state changed (or an array's task counts did). */
export interface JobChange {
  jobId: string;
  jobKey: string;
  prev: JobState;
  next: JobState;
  observation: Observation;
}

/** Writes a change to the store (watcher-store.ts has the store's). Awaited, one at a time. */
export type PersistFn = (jobKey: string, state: JobState, change: JobChange) => unknown;

export type ChangeListener = (
  jobId: string,
  prev: JobState,
  next: JobState,
  observation: Observation,
) => void;

/** What a tick did; given to the `onTick` hooks (e.g. the monitor collecting outboxes). */
export interface TickInfo {
  host: string;
  startedAt: number;
  endedAt: number;
  /** The jobs asked in this tick's one observe() call. */
  jobIds: readonly string[];
  outcome: TickOutcome;
  changes: readonly JobChange[];
}

export type TickHook = (tick: TickInfo) => unknown;

/** Timers the watcher uses; tests pass a fake one. */
export interface WatcherClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: WatcherClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface HostWatcherOptions {
  host: string;
  observe: ObserveFn;
  /** The host's merged poll settings (`getHost(config, host).poll`). */
  poll: PollSettings;
  persist?: PersistFn;
  clock?: WatcherClock;
  /** Random numbers in [0, 1) for the jitter. */
  random?: () => number;
  /** The store key of a job; default `<host>:<jobId>`. */
  jobKey?: (jobId: string) => string;
  /**
   * How many successful queries in a row must call a job `lost` before the watcher
   * believes it (default 2): one odd answer never ends a job.
   */
  lostAfter?: number;
}

export interface TrackOptions {
  /** When it was submitted (epoch ms): the first query waits `submitIntervalS` after it. */
  submittedAt?: number;
  /** The state berth last knew (from the store); default pending. A terminal one is cached. */
  state?: JobState;
  /** Scheduler ids of a split array and its task count (`hintFromExtra(job.extra)`). */
  hint?: ObserveHint;
}

export interface WaitOptions {
  /** Done when every job satisfies this; default: a terminal state. */
  until?: (state: JobState) => boolean;
  signal?: AbortSignal;
}

export interface JobView {
  jobId: string;
  state: JobState;
  terminal: boolean;
  observedAt: number | null;
  source: Observation['source'] | null;
  tasks?: Record<string, number>;
}

export interface WatcherSnapshot {
  host: string;
  running: boolean;
  /** observe() calls so far, and how many of them failed. */
  queries: number;
  failedQueries: number;
  /** The interval chosen after the last query (before jitter). */
  intervalMs: number;
  lastQueryAt: number | null;
  nextQueryAt: number | null;
  errors: number;
  lastError: string | null;
  jobs: JobView[];
}

interface Entry {
  jobId: string;
  state: JobState;
  hint?: ObserveHint;
  observation?: Observation;
  /** Task counts of the last successful observation (arrays). */
  tasks?: Record<string, number> | undefined;
  lostSeen: number;
}

interface Waiter {
  ids: readonly string[];
  until: (state: JobState) => boolean;
  resolve: (states: Map<string, JobState>) => void;
  reject: (e: unknown) => void;
}

export class HostWatcher {
  readonly host: string;
  private readonly poll: PollSettings;
  private readonly clock: WatcherClock;
  private readonly random: () => number;
  private readonly keyOf: (jobId: string) => string;
  private readonly lostAfter: number;
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<ChangeListener>();
  private readonly hooks = new Set<TickHook>();
  private readonly errorListeners = new Set<(e: unknown) => void>();
  private readonly waiters = new Set<Waiter>();
  private started = false;
  private inFlight: Promise<void> | null = null;
  private timer: unknown;
  private timerAt: number | null = null;
  /** When the regular cadence wants the next query (set after each query). */
  private dueAt: number | null = null;
  /** The earliest first query a job tracked since the last query start asks for. */
  private asapAt: number | null = null;
  private trackedDuringTick = false;
  private intervalMs: number;
  private lastStart: number | null = null;
  private lastEnd: number | null = null;
  private queries = 0;
  private failedQueries = 0;
  private errors = 0;
  private lastError: string | null = null;

  constructor(private readonly opts: HostWatcherOptions) {
    this.host = opts.host;
    this.poll = opts.poll;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.keyOf = opts.jobKey ?? ((id) => `${opts.host}:${id}`);
    this.lostAfter = Math.max(1, opts.lostAfter ?? 2);
    this.intervalMs = fastMs(this.poll);
  }

  /** Watch a job. A new live job resets the cadence to fast; tracking twice changes nothing. */
  track(jobId: string, opts: TrackOptions = {}): void {
    const known = this.entries.get(jobId);
    if (known) {
      if (opts.hint) known.hint = opts.hint;
      return;
    }
    const state = opts.state ?? { kind: 'pending', reason: null };
    this.entries.set(jobId, {
      jobId,
      state,
      lostSeen: 0,
      ...(opts.hint ? { hint: opts.hint } : {}),
    });
    if (isTerminal(state)) {
      this.settleWaiters();
      return;
    }
    const now = this.clock.now();
    const first =
      opts.submittedAt === undefined ? now : opts.submittedAt + this.poll.submitIntervalS * 1000;
    this.asapAt = Math.min(this.asapAt ?? first, first);
    this.intervalMs = fastMs(this.poll);
    if (this.inFlight) this.trackedDuringTick = true;
    this.schedule();
  }

  /** Stop watching a job (its cached state is forgotten too). */
  untrack(jobId: string): void {
    this.entries.delete(jobId);
    this.settleWaiters();
    this.schedule();
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule();
  }

  /** No more queries; waits for a query in flight to end. Pending waitFor() calls reject. */
  async stop(): Promise<void> {
    this.started = false;
    this.clearTimer();
    for (const w of this.waiters) w.reject(new Error(`the status watcher of ${this.host} stopped`));
    this.waiters.clear();
    await this.inFlight;
  }

  /** Called for every change, after it was persisted. Returns a function that unsubscribes. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called after every query, inside the tick (no query runs while a hook does). */
  onTick(hook: TickHook): () => void {
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }

  /** Failures of persist(), listeners and hooks (the loop itself goes on). */
  onError(listener: (e: unknown) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  state(jobId: string): JobState | undefined {
    return this.entries.get(jobId)?.state;
  }

  /**
   * Resolves with the states once every job satisfies `until` (default: terminal). Jobs not
   * tracked yet are tracked; the watcher is started if it is not running.
   */
  waitFor(jobIds: readonly string[], opts: WaitOptions = {}): Promise<Map<string, JobState>> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(signal.reason);
    for (const id of jobIds) this.track(id);
    this.start();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiters.delete(waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        ids: [...jobIds],
        until: opts.until ?? isTerminal,
        resolve: (states) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(states);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      this.settleWaiters();
    });
  }

  snapshot(): WatcherSnapshot {
    return {
      host: this.host,
      running: this.started,
      queries: this.queries,
      failedQueries: this.failedQueries,
      intervalMs: this.intervalMs,
      lastQueryAt: this.lastStart,
      nextQueryAt: this.timerAt,
      errors: this.errors,
      lastError: this.lastError,
      jobs: [...this.entries.values()].map((e) => ({
        jobId: e.jobId,
        state: e.state,
        terminal: isTerminal(e.state),
        observedAt: e.observation?.observedAt ?? null,
        source: e.observation?.source ?? null,
        ...(e.tasks ? { tasks: e.tasks } : {}),
      })),
    };
  }

  /** Jobs that are asked in the next query: tracked and not finished. */
  liveJobs(): string[] {
    return [...this.entries.values()].filter((e) => !isTerminal(e.state)).map((e) => e.jobId);
  }

  // ---- the loop ------------------------------------------------------------------------

  private schedule(): void {
    if (!this.started || this.inFlight) return;
    if (this.liveJobs().length === 0) {
      this.clearTimer();
      return;
    }
    const now = this.clock.now();
    const soonest = Math.min(
      this.dueAt ?? Number.POSITIVE_INFINITY,
      this.asapAt ?? Number.POSITIVE_INFINITY,
    );
    const want = Number.isFinite(soonest) ? soonest : now;
    // The site minimum is kept from the END of the last query: so no two scheduler commands
    // of two ticks are ever closer than it, whatever each query does before its squeue.
    const earliest = this.lastEnd === null ? now : this.lastEnd + this.poll.minIntervalS * 1000;
    const at = Math.max(want, earliest, now);
    if (this.timerAt !== null && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.timerAt = null;
      this.inFlight = this.tick().finally(() => {
        this.inFlight = null;
        this.schedule();
      });
    }, at - now);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = null;
  }

  private async tick(): Promise<void> {
    const live = this.liveJobs();
    if (!this.started || live.length === 0) return;
    const startedAt = this.clock.now();
    this.lastStart = startedAt;
    this.asapAt = null;
    this.trackedDuringTick = false;
    const hints = new Map<string, ObserveHint>();
    for (const id of live) {
      const hint = this.entries.get(id)?.hint;
      if (hint) hints.set(id, hint);
    }
    let result: Map<string, Observation> | Error;
    try {
      result = await this.opts.observe(live, hints.size ? hints : undefined);
    } catch (e) {
      result = e instanceof Error ? e : new Error(String(e));
    }
    const endedAt = this.clock.now();
    this.lastEnd = endedAt;
    this.queries++;
    const { outcome, changes } = this.apply(live, result, endedAt);
    if (outcome === 'failed') this.failedQueries++;
    for (const c of changes) await this.guard(() => this.opts.persist?.(c.jobKey, c.next, c));
    for (const c of changes) {
      for (const l of this.listeners) {
        await this.guard(() => l(c.jobId, c.prev, c.next, c.observation));
      }
    }
    this.settleWaiters();
    const info: TickInfo = { host: this.host, startedAt, endedAt, jobIds: live, outcome, changes };
    for (const hook of this.hooks) await this.guard(() => hook(info));
    this.plan(outcome);
  }

  /** The next interval and due time after a query. */
  private plan(outcome: TickOutcome): void {
    const effective = this.trackedDuringTick ? 'changed' : outcome;
    const phase = phaseOf(this.liveJobs().map((id) => this.entries.get(id)!.state));
    this.intervalMs = nextIntervalMs(this.poll, this.intervalMs, effective, phase);
    const delay = jitterMs(this.poll, this.intervalMs, this.random());
    this.dueAt = (this.lastStart ?? this.clock.now()) + delay;
  }

  /** Fold one query's answer into the tracked states. */
  private apply(
    asked: readonly string[],
    result: Map<string, Observation> | Error,
    at: number,
  ): { outcome: TickOutcome; changes: JobChange[] } {
    const changes: JobChange[] = [];
    let considered = 0;
    let answered = 0;
    let seenChange = false;
    for (const jobId of asked) {
      const entry = this.entries.get(jobId);
      if (!entry) continue; // untracked while the query ran
      considered++;
      const obs = result instanceof Error ? undefined : result.get(jobId);
      const observation = obs ?? failure(jobId, at, reasonFor(this.host, result));
      const failed = observation.source === 'error';
      const next = this.next(entry, observation, failed);
      entry.observation = observation;
      let tasksChanged = false;
      if (!failed) {
        answered++;
        tasksChanged = !same(entry.tasks, observation.tasks);
        entry.tasks = observation.tasks;
      }
      if (same(entry.state, next) && !tasksChanged) continue;
      const change: JobChange = {
        jobId,
        jobKey: this.keyOf(jobId),
        prev: entry.state,
        next,
        observation,
      };
      entry.state = next;
      changes.push(change);
      if (!failed) seenChange = true;
    }
    const outcome: TickOutcome =
      considered > 0 && answered === 0 ? 'failed' : seenChange ? 'changed' : 'quiet';
    return { outcome, changes };
  }

  private next(entry: Entry, obs: Observation, failed: boolean): JobState {
    if (failed) {
      const reason = obs.state.kind === 'unknown' ? obs.state.reason : 'the status query failed';
      return transition(entry.state, { type: 'query_failed', reason, at: obs.observedAt });
    }
    if (obs.state.kind === 'lost' && !isTerminal(entry.state)) {
      entry.lostSeen++;
      if (entry.lostSeen < this.lostAfter) return entry.state;
    } else {
      entry.lostSeen = 0;
    }
    return transition(entry.state, { type: 'observed', state: obs.state, at: obs.observedAt });
  }

  private settleWaiters(): void {
    for (const w of [...this.waiters]) {
      const states = new Map<string, JobState>();
      for (const id of w.ids) {
        const entry = this.entries.get(id);
        if (!entry) {
          this.waiters.delete(w);
          w.reject(new NotFoundError(`job ${id} is no longer watched on ${this.host}`));
          break;
        }
        if (!w.until(entry.state)) break;
        states.set(id, entry.state);
      }
      if (this.waiters.has(w) && states.size === w.ids.length) {
        this.waiters.delete(w);
        w.resolve(states);
      }
    }
  }

  private async guard(fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.errors++;
      this.lastError = e instanceof Error ? e.message : String(e);
      for (const l of this.errorListeners) {
        try {
          l(e);
        } catch {
          // an error listener that throws is not reported again
        }
      }
    }
  }
}

function failure(jobId: string, at: number, reason: string): Observation {
  return {
    jobId,
    state: { kind: 'unknown', reason, since: at },
    source: 'error',
    observedAt: at,
  };
}

function reasonFor(host: string, result: Map<string, Observation> | Error): string {
  return result instanceof Error
    ? `status query failed on ${host}: ${result.message}`
    : `the status query on ${host} returned nothing for this job`;
}

/** Structural equality of plain data (states, task counts), key order ignored. */
function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

// ---- one watcher per host ----------------------------------------------------------------

const watchers = new Map<string, HostWatcher>();

/**
 * The host's watcher in this process. The first call creates it from `create()` (and starts
 * it); later calls return the same watcher and ignore `create`.
 */
export function watcherFor(
  host: string,
  create?: () => Omit<HostWatcherOptions, 'host'>,
): HostWatcher {
  let w = watchers.get(host);
  if (!w) {
    if (!create) {
      throw new NotFoundError(`no status watcher for host ${host} in this process`, {
        hint: 'the first watcherFor(host, create) call creates it (see docs/watcher.md)',
      });
    }
    w = new HostWatcher({ ...create(), host });
    watchers.set(host, w);
    w.start();
  }
  return w;
}

/** Stop and forget one host's watcher (or every one): shutdown and tests. */
export async function closeWatchers(host?: string): Promise<void> {
  const list = host === undefined ? [...watchers.keys()] : [host];
  await Promise.all(
    list.map(async (h) => {
      const w = watchers.get(h);
      watchers.delete(h);
      await w?.stop();
    }),
  );
}
