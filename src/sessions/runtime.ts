/**
 * What a session runtime does (direct.ts, slurm.ts, tenant.ts): start a run, look at sessions, stop
 * them, print a log, attach, read the screen. Each is one round trip to the host where it
 * can be (attach and the screen of a SLURM session first look up the job's node).
 */
import type { HostObservation } from './observe.js';
import type { LogsPlan, SessionRef, StartPlan } from './scripts.js';
import type { Runtime } from './spec.js';

export type StartOutcome =
  | { kind: 'started'; pid: number | null }
  | { kind: 'submitted'; jobId: string }
  | { kind: 'exists'; pid: number | null }
  | { kind: 'hook-failed'; exitCode: number; output: string[] };

export interface StopOutcome {
  runId: string | null;
  /** False when there was nothing left to end. */
  ended: boolean;
  /** The command was running when the stop began (stop scripts that run on the node say so). */
  wasRunning?: boolean;
  exit: { code: number; at: number } | null;
}

export interface SessionRuntime {
  readonly kind: Runtime;
  start(plan: StartPlan): Promise<StartOutcome>;
  observe(refs: readonly SessionRef[]): Promise<HostObservation>;
  stop(refs: readonly SessionRef[], graceS: number): Promise<Map<string, StopOutcome>>;
  /** Lines of a run's log after `onLine`; false when there is no such log. */
  logs(
    plan: LogsPlan & { jobId?: string | null },
    onLine: (line: string) => void,
    signal?: AbortSignal,
  ): Promise<boolean>;
  /** Attach the terminal; undefined when the session has no tmux session now. */
  attach(ref: SessionRef, o: { readOnly?: boolean }): Promise<number | undefined>;
  /** The screen (and `history` lines above it); undefined when there is no tmux session. */
  screen(ref: SessionRef, history: number): Promise<string | undefined>;
}
