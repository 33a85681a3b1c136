/**
 * Waiting for a lease's job to run: polls squeue (fast at first, then every 5 s), reports
 * progress, and on timeout returns what SLURM says (pending, with its reason). It never
 * cancels anything: the lease stays booked.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LeaseHost } from './context.js';
import { type JobLiveness, observeLiveness } from './liveness.js';

export interface WaitProgress {
  jobId: string;
  elapsedS: number;
  detail: string;
}

export interface WaitOutcome {
  /** true: running; false: ended, or still pending/unknown when the time ran out. */
  running: boolean;
  timedOut: boolean;
  waitedMs: number;
  last: JobLiveness;
}

export async function waitRunning(
  host: LeaseHost,
  jobId: string,
  opts: { timeoutS: number; onProgress?: (p: WaitProgress) => void; signal?: AbortSignal },
): Promise<WaitOutcome> {
  const started = Date.now();
  let interval = 500;
  for (;;) {
    const last = (await observeLiveness(host, [jobId])).get(jobId)!;
    const waitedMs = Date.now() - started;
    const done = (running: boolean, timedOut: boolean) => ({ running, timedOut, waitedMs, last });
    if (last.state.kind === 'running') return done(true, false);
    if (last.liveness === 'DEAD') return done(false, false);
    opts.onProgress?.({ jobId, elapsedS: Math.round(waitedMs / 1000), detail: last.detail });
    if (waitedMs + interval > opts.timeoutS * 1000 || opts.signal?.aborted)
      return done(false, true);
    await sleep(interval);
    interval = Math.min(interval * 2, 5000);
  }
}
