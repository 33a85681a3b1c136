/**
 * The watcher's store side, kept out of watcher.ts: what a state change writes to a job row
 * (pure), the `persist` function that writes it with the store's own functions, and how a
 * stored job is tracked again (its last state, submit time and array hint).
 */
import { constants } from 'node:os';
import type { Kysely } from 'kysely';
import { isTerminal, type JobState, TERMINAL_KINDS } from '../core/states.js';
import { getJob, type JobPatch, type JobRecord, patchJob } from '../store/index.js';
import type { Database } from '../store/schema.js';
import { hintFromExtra } from './contract.js';
import type { JobChange, PersistFn, TrackOptions } from './watcher.js';

/** The job-row fields a state sets; fields it says nothing about are left out (kept). */
export function jobPatchOf(state: JobState): JobPatch {
  const patch: JobPatch = { state: state.kind };
  switch (state.kind) {
    case 'pending':
      patch.reason = state.reason;
      break;
    case 'running':
      patch.reason = null;
      if (state.startedAt !== null) patch.startedAt = state.startedAt;
      break;
    case 'completed':
      Object.assign(patch, { exitCode: 0, signal: null, reason: null });
      break;
    case 'failed':
      patch.exitCode = state.exitCode;
      patch.signal = signalName(state.signal);
      patch.reason = state.reason ?? null;
      break;
    case 'node_fail':
    case 'lost':
    case 'unknown':
      patch.reason = state.reason ?? null;
      break;
    case 'cancelled':
      patch.reason = state.by ? `cancelled by ${state.by}` : null;
      break;
    case 'timeout':
      patch.reason = state.limit === 'deadline' ? 'deadline reached' : 'walltime reached';
      break;
    default:
      break;
  }
  if (isTerminal(state) && 'endedAt' in state && state.endedAt !== null) {
    patch.endedAt = state.endedAt;
  }
  return patch;
}

function signalName(n: number | undefined): string | null {
  if (!n) return null;
  const hit = Object.entries(constants.signals).find(([, v]) => v === n);
  return hit ? hit[0] : `SIG${n}`;
}

/** What goes into the row's `extra` (merged over what is there): the whole state object. */
export function extraOf(change: JobChange): Record<string, unknown> {
  const o = change.observation;
  return {
    watch: {
      state: change.next,
      observedAt: o.observedAt,
      source: o.source,
      ...(o.tasks ? { tasks: o.tasks } : {}),
    },
  };
}

/**
 * A `persist` for HostWatcher that patches the job row (state, exit code, reason, times,
 * `extra.watch`). A job with no row is skipped: dispatch creates rows, the watcher updates.
 */
export function storePersist(db: Kysely<Database>): PersistFn {
  return async (jobKey: string, state: JobState, change: JobChange) => {
    const job = await getJob(db, jobKey);
    if (!job) return;
    await patchJob(db, jobKey, {
      ...jobPatchOf(state),
      extra: { ...job.extra, ...extraOf(change) },
    });
  };
}

const KINDS = new Set<string>([
  ...TERMINAL_KINDS,
  'pending',
  'running',
  'suspended',
  'completing',
  'unknown',
]);

/** A stored job as `track(jobId, opts)` arguments: its last watched state, times and hint. */
export function trackOptionsOf(job: JobRecord): TrackOptions {
  const watch = job.extra.watch as { state?: JobState } | undefined;
  const stored = watch?.state;
  const state =
    stored && typeof stored === 'object' && KINDS.has(stored.kind) && stored.kind === job.state
      ? stored
      : finishedState(job);
  const hint = hintFromExtra(job.extra);
  return {
    ...(job.submittedAt === null ? {} : { submittedAt: job.submittedAt }),
    ...(state ? { state } : {}),
    ...(hint ? { hint } : {}),
  };
}

/** A finished row written by someone else (the monitor): cached, so it is never asked again. */
function finishedState(job: JobRecord): JobState | undefined {
  const endedAt = job.endedAt;
  switch (job.state) {
    case 'completed':
      return { kind: 'completed', exitCode: 0, endedAt };
    case 'failed':
      return { kind: 'failed', exitCode: job.exitCode, endedAt };
    case 'cancelled':
      return { kind: 'cancelled', endedAt };
    case 'timeout':
      return { kind: 'timeout', limit: 'walltime', endedAt };
    case 'out_of_memory':
      return { kind: 'out_of_memory', endedAt };
    case 'node_fail':
      return { kind: 'node_fail', endedAt };
    case 'preempted':
      return { kind: 'preempted', endedAt };
    default:
      // lost is a conclusion, not an observation: such a job is asked again
      return undefined;
  }
}
