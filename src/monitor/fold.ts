/**
 * Folding events into the job row: one pure function, `applyEvent(job, event)`.
 *
 * It is idempotent and does not depend on the order events arrive in, so a replay, a late
 * delivery or two sinks racing give the same row:
 * - the state (and exit code, signal, reason, end time) comes from the latest state event,
 *   latest by (at, id); HEARTBEAT never changes the state;
 * - submittedAt/startedAt are the earliest SUBMITTED/RUNNING seen;
 * - descriptive fields (host, scheduler ids, user, command, resources) are filled from the
 *   event's `data.context` when the row does not have them yet.
 */
import type { JobInput } from '../store/index.js';
import type { EventType, FailReason, MonitorEvent, RunContext } from './events.js';

type FoldEvent = Pick<MonitorEvent, 'id' | 'jobKey' | 'at' | 'data'> & { type: string };

/** The job state (store `state` column) each event type leads to. */
const STATE_OF: Record<Exclude<EventType, 'HEARTBEAT' | 'FAILED'>, string> = {
  SUBMITTED: 'pending',
  RUNNING: 'running',
  PAUSED: 'suspended',
  RESUMED: 'running',
  TERMINATING: 'completing',
  COMPLETED: 'completed',
};

const STATE_OF_REASON: Record<FailReason, string> = {
  exit_code: 'failed',
  signal: 'failed',
  timeout: 'timeout',
  out_of_memory: 'out_of_memory',
  node_fail: 'node_fail',
  preempted: 'preempted',
  cancelled: 'cancelled',
};

/** The state a FAILED event with this reason leads to (unknown reasons: 'failed'). */
export function stateForFailure(reason: unknown): string {
  return STATE_OF_REASON[reason as FailReason] ?? 'failed';
}

function stateOf(e: FoldEvent): string | null {
  if (e.type === 'FAILED') return stateForFailure(e.data.reason);
  return STATE_OF[e.type as keyof typeof STATE_OF] ?? null;
}

/** (at, id) order: later wins. */
function isAfter(e: FoldEvent, at: unknown, id: unknown): boolean {
  if (typeof at !== 'number' || typeof id !== 'string') return true;
  return e.at !== at ? e.at > at : e.id > id;
}

const minTime = (a: number | null | undefined, b: number): number =>
  a === null || a === undefined ? b : Math.min(a, b);

function contextOf(e: FoldEvent): Partial<RunContext> | null {
  const c = e.data.context;
  return c && typeof c === 'object' ? (c as Partial<RunContext>) : null;
}

function emptyJob(e: FoldEvent): JobInput {
  return { key: e.jobKey, host: 'local', scheduler: 'local', state: 'unknown' };
}

function fillDescription(job: JobInput, e: FoldEvent, fresh: boolean): JobInput {
  const c = contextOf(e);
  if (!c) return job;
  const out = { ...job };
  if (fresh && typeof c.host === 'string') out.host = c.host;
  if (c.slurm) {
    if (fresh) out.scheduler = 'slurm';
    out.schedulerId ??= c.slurm.schedulerId;
    out.arrayId ??= c.slurm.arrayJobId;
    out.arrayTask ??= c.slurm.arrayTaskId;
    out.name ??= c.slurm.jobName;
  }
  out.user ??= c.user ?? null;
  out.command ??= c.command ?? null;
  if (c.resources && Object.keys(out.resources ?? {}).length === 0) out.resources = c.resources;
  if (c.node && !out.extra?.node) out.extra = { ...out.extra, node: c.node };
  return out;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function applyState(job: JobInput, e: FoldEvent, state: string): JobInput {
  const terminal = e.type === 'COMPLETED' || e.type === 'FAILED';
  const extra = { ...job.extra, stateEventAt: e.at, stateEventId: e.id };
  return {
    ...job,
    state,
    exitCode: terminal ? (num(e.data.exitCode) ?? (e.type === 'COMPLETED' ? 0 : null)) : null,
    signal: terminal && typeof e.data.signal === 'string' ? e.data.signal : null,
    reason: e.type === 'FAILED' && typeof e.data.reason === 'string' ? e.data.reason : null,
    endedAt: terminal ? e.at : null,
    extra,
  };
}

/** The job row after one more event. Pure; `job` is not modified. */
export function applyEvent(job: JobInput | undefined, e: FoldEvent): JobInput {
  let out = fillDescription(job ?? emptyJob(e), e, job === undefined);
  if (e.type === 'SUBMITTED') out.submittedAt = minTime(out.submittedAt, e.at);
  if (e.type === 'RUNNING') out.startedAt = minTime(out.startedAt, e.at);
  if (e.type === 'HEARTBEAT') {
    const last = num(out.extra?.heartbeatAt);
    if (last === null || e.at > last) out = { ...out, extra: { ...out.extra, heartbeatAt: e.at } };
  }
  const state = stateOf(e);
  if (state !== null && isAfter(e, out.extra?.stateEventAt, out.extra?.stateEventId)) {
    out = applyState(out, e, state);
  }
  return out;
}

/** The job row from its events (any order), optionally over an existing row. */
export function jobFromEvents(events: readonly FoldEvent[], base?: JobInput): JobInput | undefined {
  let job = base;
  for (const e of events) job = applyEvent(job, e);
  return job;
}
