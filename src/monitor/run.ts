/**
 * The run wrapper: start a command in its own process group, turn what happens to it into
 * events, and exit with exactly its exit status.
 *
 * The flow: handlers for the signals in HANDLED_SIGNALS only forward the signal to the
 * child's group and queue it; the main loop takes queued inputs (signals, clock ticks,
 * heartbeats, the child's exit), asks supervise.ts what they mean, appends the resulting
 * events to the outbox (fsync) and then starts delivery in the background. After the child
 * exits, it asks the scheduler why (bounded), records COMPLETED or FAILED, gives delivery a
 * few seconds, and returns. A sink that fails never changes the exit code: its events wait
 * in the outbox.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { hostname, constants as osConstants, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { ulid } from 'ulid';
import { Deliverer, type SinkReport } from './deliver.js';
import {
  defaultJobKey,
  type EventType,
  type FailReason,
  type MonitorEvent,
  makeEvent,
  type RunContext,
  runContext,
  validateJobKey,
} from './events.js';
import { jobKeyFileName, Outbox, outboxPath } from './outbox.js';
import { lookupSlurmState, readOomKills, reasonFromSlurm } from './reason.js';
import type { Sink } from './sinks/sink.js';
import {
  type ChildExit,
  type EventSpec,
  forwardedSignal,
  HANDLED_SIGNALS,
  type Input,
  initialState,
  outcome,
  type RefinedReason,
  type SupervisorState,
  shouldRefine,
  step,
} from './supervise.js';

export interface RunMonitoredOptions {
  /** The command: argv[0] is the program (searched on PATH). */
  argv: readonly string[];
  jobKey?: string;
  /** For the context and the child (default process.env). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Seconds between SIGTERM and SIGKILL (default 30; 25 inside SLURM, under its KillWait). */
  graceSeconds?: number;
  /** Emit HEARTBEAT every so many seconds (default: never). */
  heartbeatSeconds?: number;
  /** Outbox file (default: outboxPath()). */
  outbox?: string;
  stateDir?: string;
  sinks?: readonly Sink[];
  /** Stop the wrapper itself after SIGTSTP (interactive terminals: `fg` resumes). */
  stopSelfOnTstp?: boolean;
  /** How long delivery may continue after the child ended (default 10 s; 3 s after SIGTERM). */
  deliverDeadlineMs?: number;
  /** Clock tick (default 1000 ms) and the jump that means the wrapper was frozen (3000 ms). */
  tickMs?: number;
  gapMs?: number;
  /** Why did it end? Default: cgroup OOM count, then scontrol/sacct inside SLURM (2 s). */
  refine?: (info: RefineInput) => Promise<Refined>;
  onWarning?: (text: string) => void;
}

export interface RefineInput {
  context: RunContext;
  exit: ChildExit;
  state: SupervisorState;
  /** OOM kills in the wrapper's memory cgroup before the child started (null: unknown). */
  oomKillsBefore: number | null;
  /** How long the scheduler lookup may take (ms). */
  lookupMs?: number;
}

/**
 * Time left after the command ended for the scheduler lookup and the final delivery. When
 * terminating, SLURM kills the wrapper KillWait (30 s by default) after its SIGTERM: what
 * the grace left of that is shared (lookup 2–6 s, delivery 3–10 s); a slow slurmctld or
 * sink gets more time when there is more to spare. Pure.
 */
export function afterExitBudget(
  terminatingAt: number | null,
  graceSeconds: number,
  now: number,
): { lookupMs: number; deliverMs: number } {
  if (terminatingAt === null) return { lookupMs: 6000, deliverMs: 10_000 };
  const left = terminatingAt + (graceSeconds + 4) * 1000 - now;
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  const lookupMs = clamp(left * 0.4, 2000, 6000);
  return { lookupMs, deliverMs: clamp(left - lookupMs, 3000, 10_000) };
}

export interface Refined {
  reason: RefinedReason | null;
  slurmState?: string | null;
}

export interface RunOutcome {
  jobKey: string;
  type: 'COMPLETED' | 'FAILED';
  exitCode: number;
  signal: string | null;
  reason: FailReason | null;
  slurmState: string | null;
  outbox: string;
  events: MonitorEvent[];
  /** Pending counts and errors per sink after the last delivery round. */
  delivery: SinkReport[];
  durationMs: number;
}

function signalNumber(name: string): number {
  return (osConstants.signals as Record<string, number>)[name] ?? 0;
}

/** The one-letter state in /proc/<pid>/stat ('R', 'S', 'T', 'Z'…), or null. */
export function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null;
  } catch {
    return null;
  }
}

/**
 * How long this process has waited for a CPU while runnable (ms), from the kernel's
 * per-task scheduler statistics; null where /proc/self/schedstat is missing.
 */
export function readRunDelayMs(): number | null {
  try {
    return parseSchedstat(readFileSync('/proc/self/schedstat', 'utf8'));
  } catch {
    return null;
  }
}

/** `/proc/<pid>/schedstat` is "cpu-ns run-delay-ns timeslices": the run delay in ms. */
export function parseSchedstat(text: string): number | null {
  const words = text.trim().split(/\s+/);
  const ns = words.length >= 2 && /^\d+$/.test(words[1]!) ? Number(words[1]) : Number.NaN;
  return Number.isFinite(ns) ? ns / 1e6 : null;
}

/** Default refinement: an OOM kill in our cgroup, then the scheduler's state, then walltime. */
export async function defaultRefine(input: RefineInput): Promise<Refined> {
  const { exit, context, state, oomKillsBefore } = input;
  const oomNow = exit.signal === 'SIGKILL' ? readOomKills() : null;
  if (oomKillsBefore !== null && oomNow !== null && oomNow > oomKillsBefore) {
    return { reason: 'out_of_memory' };
  }
  if (!context.slurm) return { reason: null };
  const found = await lookupSlurmState(context.slurm.jobId, {
    timeoutMs: input.lookupMs ?? 2000,
  });
  const reason = found ? reasonFromSlurm(found) : null;
  const slurmState = found ? [found.state, found.reason].filter(Boolean).join(' ') : null;
  if (reason) return { reason, slurmState };
  // No answer: SIGTERM within two minutes of the time limit (when SLURM says it) is walltime.
  const end = context.slurm.endTime;
  const late = end !== null && state.terminating !== null && state.terminating.at >= end - 120_000;
  return { reason: late ? 'timeout' : null, slurmState };
}

/** A queue the signal handlers and timers push to and the main loop takes from. */
class Inbox<T> {
  private items: T[] = [];
  private wake: (() => void) | null = null;
  push(item: T): void {
    this.items.push(item);
    this.wake?.();
    this.wake = null;
  }
  async take(): Promise<T[]> {
    if (this.items.length === 0) await new Promise<void>((r) => (this.wake = r));
    const out = this.items;
    this.items = [];
    return out;
  }
}

type LoopInput = Input | { kind: 'exit'; exit: ChildExit; at: number; error?: string };

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

function spawnError(err: NodeJS.ErrnoException): { code: number; text: string } {
  if (err.code === 'ENOENT') return { code: 127, text: `command not found (${err.code})` };
  if (err.code === 'EACCES') return { code: 126, text: `permission denied (${err.code})` };
  return { code: 126, text: err.message };
}

/** The outbox to use: the usual place, or the temp dir when that cannot be written. */
function openOutbox(path: string, jobKey: string, warn: (t: string) => void): Outbox {
  try {
    mkdirSync(dirname(path), { recursive: true });
    closeSync(openSync(path, 'a'));
    return new Outbox(path);
  } catch (e) {
    const dir = join(tmpdir(), `berth-outbox-${process.getuid?.() ?? 'user'}`);
    const fallback = join(dir, `${jobKeyFileName(jobKey)}.jsonl`);
    warn(`cannot write the outbox ${path} (${(e as Error).message}); using ${fallback}`);
    return new Outbox(fallback);
  }
}

export async function runMonitored(opts: RunMonitoredOptions): Promise<RunOutcome> {
  const env = opts.env ?? process.env;
  const warn = opts.onWarning ?? (() => {});
  const started = Date.now();
  const context = runContext(env, {
    argv: opts.argv,
    hostname: hostname(),
    cwd: opts.cwd ?? process.cwd(),
    user: safeUser(),
  });
  const jobKey = opts.jobKey ? validateJobKey(opts.jobKey) : defaultJobKey(context, env, ulid);
  const graceSeconds = opts.graceSeconds ?? (context.slurm ? 25 : 30);
  const sopts = {
    graceSeconds,
    gapMs: opts.gapMs ?? 3000,
    stopSelfOnTstp: opts.stopSelfOnTstp ?? false,
  };
  const primary = openOutbox(
    opts.outbox ??
      outboxPath({ env, jobKey, ...(opts.stateDir ? { stateDir: opts.stateDir } : {}) }),
    jobKey,
    warn,
  );
  const sinks = opts.sinks ?? [];
  const warned = new Set<string>();
  const deliverer = new Deliverer(primary, sinks, (reports) => {
    for (const r of reports) {
      if (r.error && !warned.has(r.sink)) {
        warned.add(r.sink);
        warn(`${r.error}; ${r.pending} event(s) wait in ${primary.path}`);
      }
    }
  });
  const events: MonitorEvent[] = [];
  const record = (type: EventType, at: number, data: Record<string, unknown>) => {
    const withContext = type === 'HEARTBEAT' ? data : { ...data, context };
    const e = makeEvent(type, jobKey, withContext, at);
    try {
      primary.append(e);
    } catch (err) {
      warn(`event ${type} not recorded: ${(err as Error).message}`);
    }
    events.push(e);
  };

  const inbox = new Inbox<LoopInput>();
  let child: ChildProcess | null = null;
  let exited = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // Handlers only forward and queue; everything else happens in the main loop.
    if (exited) {
      // The command is over; an interrupt now only cuts the final delivery short.
      if (signal === 'SIGINT' || signal === 'SIGTERM' || signal === 'SIGHUP') deliverer.stop();
      return;
    }
    if (child?.pid) kill(child.pid, forwardedSignal(signal));
    inbox.push({ kind: 'signal', signal, at: Date.now() });
  };
  for (const s of HANDLED_SIGNALS) process.on(s, onSignal);
  const oomKillsBefore = readOomKills();

  const childEnv = { ...env, BERTH_RUN: '1', BERTH_JOB_KEY: jobKey };
  child = spawn(opts.argv[0]!, opts.argv.slice(1), {
    detached: true,
    stdio: 'inherit',
    env: childEnv,
    cwd: opts.cwd ?? process.cwd(),
  });
  child.on('exit', (code, signal) =>
    inbox.push({ kind: 'exit', exit: { code, signal }, at: Date.now() }),
  );
  child.on('error', (err: NodeJS.ErrnoException) => {
    const { code, text } = spawnError(err);
    inbox.push({ kind: 'exit', exit: { code, signal: null }, at: Date.now(), error: text });
  });
  const pid = child.pid;
  if (pid) record('RUNNING', started, { pid, graceSeconds });
  deliverer.kick();

  const tickMs = opts.tickMs ?? 1000;
  const ticker = setInterval(
    () => inbox.push({ kind: 'tick', at: Date.now(), childState: null }),
    tickMs,
  );
  const heartbeat =
    opts.heartbeatSeconds && opts.heartbeatSeconds > 0
      ? setInterval(
          () =>
            inbox.push({
              kind: 'heartbeat',
              at: Date.now(),
              uptimeMs: Date.now() - started,
              childState: null,
            }),
          opts.heartbeatSeconds * 1000,
        )
      : null;
  let grace: NodeJS.Timeout | null = null;

  let state = initialState(started);
  let end: Extract<LoopInput, { kind: 'exit' }> | null = null;
  // What explains a late tick (see Input): time busy in the loop, and time waiting for a
  // CPU, both since the supervisor last saw the clock (state.lastTickAt).
  let busyMs = 0;
  let seen = { busyMs: 0, runDelayMs: readRunDelayMs() };
  const explained = () => {
    const delay = readRunDelayMs();
    const waited = delay !== null && seen.runDelayMs !== null ? delay - seen.runDelayMs : 0;
    return busyMs - seen.busyMs + waited;
  };
  while (!end) {
    let fresh = 0;
    const batch = await inbox.take();
    const t0 = Date.now();
    for (const input of batch) {
      if (input.kind === 'exit') {
        end = input;
        continue;
      }
      const enriched: Input =
        (input.kind === 'tick' || input.kind === 'heartbeat') && pid && !end
          ? { ...input, childState: procState(pid) }
          : input;
      const withExplained: Input =
        enriched.kind === 'tick' || enriched.kind === 'signal'
          ? { ...enriched, explainedMs: explained() + (Date.now() - t0) }
          : enriched;
      const next = step(state, withExplained, sopts);
      if (next.state.lastTickAt !== state.lastTickAt) {
        seen = { busyMs: busyMs + (Date.now() - t0), runDelayMs: readRunDelayMs() };
      }
      state = next.state;
      for (const e of next.events as EventSpec[]) record(e.type, e.at, e.data);
      fresh += next.events.length;
      for (const action of next.actions) {
        if (action === 'start_grace' && !grace) {
          grace = setTimeout(
            () => inbox.push({ kind: 'grace_expired', at: Date.now() }),
            graceSeconds * 1000,
          );
        } else if (action === 'kill_group' && pid && !end) kill(pid, 'SIGKILL');
        else if (action === 'stop_self') process.kill(process.pid, 'SIGSTOP');
      }
    }
    if (fresh > 0) deliverer.kick();
    busyMs += Date.now() - t0;
  }
  exited = true;
  clearInterval(ticker);
  if (heartbeat) clearInterval(heartbeat);
  if (grace) clearTimeout(grace);

  const budget = afterExitBudget(state.terminating?.at ?? null, graceSeconds, Date.now());
  const refined = await refineSafely(
    opts.refine ?? defaultRefine,
    {
      context,
      exit: end.exit,
      state,
      oomKillsBefore,
      lookupMs: budget.lookupMs,
    },
    shouldRefine(state, end.exit) && !end.error,
  );
  const result = outcome(end.exit, refined.reason, signalNumber);
  record(result.type, end.at, {
    exitCode: result.exitCode,
    signal: result.signal,
    reason: result.reason,
    durationMs: end.at - started,
    ...(refined.slurmState ? { slurmState: refined.slurmState } : {}),
    ...(state.killedAfterGrace ? { killedAfterGraceSeconds: graceSeconds } : {}),
    ...(end.error ? { error: end.error } : {}),
  });
  deliverer.kick();
  const deliverMs = state.terminating
    ? afterExitBudget(state.terminating.at, graceSeconds, Date.now()).deliverMs
    : 10_000;
  await deliverer.drain(opts.deliverDeadlineMs ?? deliverMs);
  for (const s of HANDLED_SIGNALS) process.off(s, onSignal);
  await Promise.all(sinks.map((s) => s.close().catch(() => {})));
  const outbox = primary;
  const delivery: SinkReport[] = sinks.map((s) => {
    const acked = outbox.acked(s.name);
    const pending = outbox.pending(s.name).length;
    const last = deliverer.last.find((r) => r.sink === s.name);
    return {
      sink: s.name,
      delivered: events.filter((e) => acked.has(e.id)).length,
      pending,
      error: pending > 0 ? (last?.error ?? 'delivery did not finish in time') : null,
    };
  });
  outbox.retireIfDelivered(sinks.map((s) => s.name));
  return {
    jobKey,
    type: result.type,
    exitCode: result.exitCode,
    signal: result.signal,
    reason: result.reason,
    slurmState: refined.slurmState ?? null,
    outbox: outbox.path,
    events,
    delivery,
    durationMs: Date.now() - started,
  };
}

async function refineSafely(
  refine: (i: RefineInput) => Promise<Refined>,
  input: RefineInput,
  wanted: boolean,
): Promise<Refined> {
  if (!wanted) return { reason: null };
  try {
    return await refine(input);
  } catch {
    return { reason: null };
  }
}

function safeUser(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}
