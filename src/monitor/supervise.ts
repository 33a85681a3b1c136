/**
 * The run wrapper's decisions, as pure functions: what each signal, clock tick, child-state
 * poll or exit means (which events to record, what to do next). run.ts performs the effects.
 *
 * What reaches the wrapper when SLURM suspends a job (found on SLURM 22.05, see
 * docs/monitor.md): slurmstepd sends SIGTSTP to the step's *task* processes (the direct
 * children of slurmstepd), waits 2 s, then freezes the whole step (proctrack/cgroup uses the
 * cgroup freezer; proctrack/linuxproc sends SIGSTOP). On resume it sends SIGCONT to the tasks
 * and thaws. So a wrapper that is the task (`exec berth run …`) sees SIGTSTP … SIGCONT; one
 * that is not sees nothing and is simply frozen: its clock jumps. Both are handled here.
 */
import type { EventType, FailReason } from './events.js';

export type PauseSource = 'signal' | 'clock_gap' | 'child_stopped';

export interface SupervisorState {
  paused: { at: number; source: PauseSource } | null;
  terminating: { at: number; signal: string } | null;
  /** Terminating signals received (SIGTERM, SIGINT, SIGHUP), in order. */
  signals: string[];
  /** When the last clock tick (or resume) was seen: a frozen process sees a jump. */
  lastTickAt: number;
  /** The grace period ran out and the group was killed. */
  killedAfterGrace: boolean;
  /** Consecutive ticks that saw the child stopped ('T'); two make a PAUSED. */
  childStoppedTicks: number;
}

export interface SuperviseOptions {
  graceSeconds: number;
  /** A clock jump longer than this (ms) while running means the wrapper was stopped. */
  gapMs: number;
  /** After recording PAUSED for SIGTSTP, stop the wrapper too (terminal job control). */
  stopSelfOnTstp: boolean;
}

/**
 * `explainedMs`: how much of the time since the last tick the wrapper was demonstrably
 * alive: waiting for a CPU (the kernel's run delay) or busy in its own synchronous work
 * (an fsync under I/O pressure). A loaded node delays ticks; only the rest of a gap can
 * mean the wrapper was frozen.
 */
export type Input =
  | { kind: 'signal'; signal: string; at: number; explainedMs?: number }
  | { kind: 'tick'; at: number; childState: string | null; explainedMs?: number }
  | { kind: 'grace_expired'; at: number }
  | { kind: 'heartbeat'; at: number; uptimeMs: number; childState: string | null };

export interface EventSpec {
  type: EventType;
  at: number;
  data: Record<string, unknown>;
}

export type Action = 'start_grace' | 'kill_group' | 'stop_self';

export interface Step {
  state: SupervisorState;
  events: EventSpec[];
  actions: Action[];
}

export function initialState(at: number): SupervisorState {
  return {
    paused: null,
    terminating: null,
    signals: [],
    lastTickAt: at,
    killedAfterGrace: false,
    childStoppedTicks: 0,
  };
}

/** Signals the wrapper handles; each is also forwarded to the child's process group. */
export const HANDLED_SIGNALS = [
  'SIGTSTP',
  'SIGCONT',
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGUSR1',
  'SIGUSR2',
] as const;

/** What the wrapper sends to the child's group for a signal it received. */
export function forwardedSignal(signal: string): NodeJS.Signals {
  return (signal === 'SIGTSTP' ? 'SIGSTOP' : signal) as NodeJS.Signals;
}

const TERMINATING = new Set(['SIGTERM', 'SIGINT', 'SIGHUP']);

/** A stop nobody announced, seen afterwards as a jump of the clock. */
function pauseResume(from: number, to: number): EventSpec[] {
  return [
    { type: 'PAUSED', at: from, data: { source: 'clock_gap', estimated: true } },
    { type: 'RESUMED', at: to, data: { source: 'clock_gap', pausedMs: to - from } },
  ];
}

/** Whether the time since the last tick, less what is explained, means a freeze. */
function frozen(s: SupervisorState, at: number, explainedMs: number, o: SuperviseOptions): boolean {
  return at - s.lastTickAt - Math.max(0, explainedMs) > o.gapMs;
}

function onSignal(
  s: SupervisorState,
  signal: string,
  at: number,
  explainedMs: number,
  o: SuperviseOptions,
): Step {
  if (signal === 'SIGTSTP') {
    if (s.paused) return { state: s, events: [], actions: [] };
    return {
      state: { ...s, paused: { at, source: 'signal' } },
      events: [{ type: 'PAUSED', at, data: { source: 'signal', signal } }],
      actions: o.stopSelfOnTstp ? ['stop_self'] : [],
    };
  }
  if (signal === 'SIGCONT') {
    if (s.paused) {
      const data = { source: s.paused.source, signal, pausedMs: at - s.paused.at };
      return {
        state: { ...s, paused: null, lastTickAt: at },
        events: [{ type: 'RESUMED', at, data }],
        actions: [],
      };
    }
    // SIGCONT while running: a stop nobody told us about (SIGSTOP, a freezer) if the clock
    // jumped; otherwise a spurious SIGCONT (SLURM sends one before SIGTERM on cancel).
    const gap = frozen(s, at, explainedMs, o);
    return {
      state: { ...s, lastTickAt: at },
      events: gap ? pauseResume(s.lastTickAt, at) : [],
      actions: [],
    };
  }
  if (TERMINATING.has(signal)) {
    const state = { ...s, signals: [...s.signals, signal] };
    if (signal !== 'SIGTERM' || s.terminating) return { state, events: [], actions: [] };
    return {
      state: { ...state, terminating: { at, signal } },
      events: [{ type: 'TERMINATING', at, data: { signal, graceSeconds: o.graceSeconds } }],
      actions: ['start_grace'],
    };
  }
  return { state: s, events: [], actions: [] };
}

function onTick(
  s: SupervisorState,
  at: number,
  child: string | null,
  explainedMs: number,
  o: SuperviseOptions,
): Step {
  const events: EventSpec[] = [];
  const stoppedTicks = child === 'T' ? s.childStoppedTicks + 1 : 0;
  let state: SupervisorState = {
    ...s,
    lastTickAt: Math.max(at, s.lastTickAt),
    childStoppedTicks: stoppedTicks,
  };
  if (frozen(s, at, explainedMs, o) && !s.paused) events.push(...pauseResume(s.lastTickAt, at));
  // The child stopped or continued on its own (kill -STOP/-CONT on the child, a TTY stop).
  // Two ticks in a row, so a tick racing our own SIGCONT does not count.
  if (stoppedTicks >= 2 && !state.paused) {
    state = { ...state, paused: { at, source: 'child_stopped' } };
    events.push({ type: 'PAUSED', at, data: { source: 'child_stopped' } });
  } else if (child !== null && child !== 'T' && state.paused?.source === 'child_stopped') {
    const pausedMs = at - state.paused.at;
    state = { ...state, paused: null };
    events.push({ type: 'RESUMED', at, data: { source: 'child_stopped', pausedMs } });
  }
  return { state, events, actions: [] };
}

/** One input → the next state, the events to record (in order) and what to do. Pure. */
export function step(s: SupervisorState, input: Input, o: SuperviseOptions): Step {
  switch (input.kind) {
    case 'signal':
      return onSignal(s, input.signal, input.at, input.explainedMs ?? 0, o);
    case 'tick':
      return onTick(s, input.at, input.childState, input.explainedMs ?? 0, o);
    case 'grace_expired':
      return { state: { ...s, killedAfterGrace: true }, events: [], actions: ['kill_group'] };
    case 'heartbeat':
      return {
        state: s,
        events: [
          {
            type: 'HEARTBEAT',
            at: input.at,
            data: { uptimeMs: input.uptimeMs, childState: input.childState },
          },
        ],
        actions: [],
      };
  }
}

/** How the child ended, as node reports it. */
export interface ChildExit {
  code: number | null;
  signal: string | null;
}

export interface Outcome {
  type: 'COMPLETED' | 'FAILED';
  /** The wrapper's exit code: the child's, or 128 + n for death by signal n. */
  exitCode: number;
  signal: string | null;
  reason: FailReason | null;
}

/** Scheduler-level causes that override exit_code/signal (from sacct/scontrol or cgroups). */
export type RefinedReason = Extract<
  FailReason,
  'timeout' | 'out_of_memory' | 'node_fail' | 'preempted' | 'cancelled'
>;

/**
 * The final event for a child exit. `signalNumber` maps a signal name to its number.
 * Exit 0 is COMPLETED unless the scheduler says the job was stopped (timeout, cancel, …):
 * a program that saves a checkpoint on SIGTERM and exits 0 still did not finish.
 */
export function outcome(
  exit: ChildExit,
  refined: RefinedReason | null,
  signalNumber: (name: string) => number,
): Outcome {
  const exitCode = exit.code ?? (exit.signal ? 128 + signalNumber(exit.signal) : 1);
  if (exitCode === 0 && exit.signal === null && refined === null) {
    return { type: 'COMPLETED', exitCode: 0, signal: null, reason: null };
  }
  const reason: FailReason = refined ?? (exit.signal ? 'signal' : 'exit_code');
  return { type: 'FAILED', exitCode, signal: exit.signal, reason };
}

/** Whether asking the scheduler (or the cgroup) why the run ended is worth the time. */
export function shouldRefine(s: SupervisorState, exit: ChildExit): boolean {
  return s.terminating !== null || s.signals.length > 0 || exit.signal !== null || exit.code !== 0;
}
