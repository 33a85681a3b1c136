/**
 * When the status watcher asks the scheduler next: pure functions over the host's poll
 * settings (src/config, docs/watcher.md). Fast right after a submit or a change, the
 * running interval as a floor while every live job runs, multiplied by the back-off
 * factor after every quiet or failed query, capped by the ceiling, never below the site
 * minimum, then spread by ± jitter (still never below the minimum).
 */
import type { PollSettings } from '../config/schema.js';
import type { JobState } from '../core/states.js';

/** What the last query told: something changed, nothing did, or the query failed. */
export type TickOutcome = 'changed' | 'quiet' | 'failed';

/** The phase of the live jobs: any still queued (or not seen yet), or all of them running. */
export type Phase = 'queued' | 'running';

const S = 1000;

/** The interval right after a submit, a new track or a change (fast). */
export function fastMs(poll: PollSettings): number {
  return clampMs(poll, poll.submitIntervalS * S);
}

/** The interval after a query with this outcome, before jitter. */
export function nextIntervalMs(
  poll: PollSettings,
  prevMs: number,
  outcome: TickOutcome,
  phase: Phase,
): number {
  if (outcome === 'changed') return fastMs(poll);
  const floor = (phase === 'running' ? poll.runningIntervalS : poll.submitIntervalS) * S;
  return clampMs(poll, Math.max(floor, prevMs * poll.backoffFactor));
}

/** Between the site minimum and the ceiling (the minimum wins if they ever disagree). */
export function clampMs(poll: PollSettings, ms: number): number {
  return Math.max(poll.minIntervalS * S, Math.min(poll.maxIntervalS * S, ms));
}

/** `ms` spread by ± `poll.jitter` (r in [0, 1)), never below the site minimum. */
export function jitterMs(poll: PollSettings, ms: number, r: number): number {
  const spread = ms * (1 + poll.jitter * (2 * r - 1));
  return Math.max(poll.minIntervalS * S, Math.round(spread));
}

/** Running, completing and suspended jobs (also while unknown) are in the running phase. */
export function phaseOf(states: Iterable<JobState>): Phase {
  for (const s of states) {
    const known = s.kind === 'unknown' ? s.last : s;
    if (!known || !['running', 'completing', 'suspended'].includes(known.kind)) return 'queued';
  }
  return 'running';
}
