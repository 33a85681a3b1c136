/**
 * What a session is doing, from its record and one observation of its host (pure), and
 * whether its restart policy wants a new run. There is no daemon: berth applies the policy
 * when it looks (`session status`, `session list`).
 *
 *   pending  SLURM runtimes: the session's job waits in the queue
 *   running  the pane's process is alive (stale: no output for logs.staleAfter)
 *   exited   the command ended; its exit code (null when it was killed without a record)
 *   stopped  berth stopped it on request
 *   lost     it should run, but there is no tmux session and no exit record (host rebooted,
 *            server killed)
 *   unknown  the host could not be asked (never read as "gone")
 */
import type { RunObservation } from './observe.js';
import type { RestartPolicy, Runtime } from './spec.js';

export type Desired = 'running' | 'stopped';

export type SessionState =
  | { kind: 'pending'; jobId: string }
  | { kind: 'running'; pid: number; stale: boolean; lastOutputAt: number | null }
  | { kind: 'exited'; exitCode: number | null; at: number | null }
  | { kind: 'stopped'; exitCode: number | null; at: number | null }
  | { kind: 'lost' }
  | { kind: 'unknown'; reason: string };

export interface StateInput {
  desired: Desired;
  observation: RunObservation | undefined;
  /** The host's clock (epoch ms). */
  now: number;
  staleAfterS?: number;
  /** Why the host could not be observed. */
  error?: string;
  runtime?: Runtime;
}

export function deriveState(i: StateInput): SessionState {
  const o = i.observation;
  if (!o) return { kind: 'unknown', reason: i.error ?? 'not observed' };
  const exitCode = o.exit?.code ?? o.pane?.exitStatus ?? signalCode(o.pane?.exitSignal);
  const at = o.exit?.at ?? null;
  const live = o.pane !== null && !o.pane.dead;
  if (i.desired === 'stopped' && !live && !o.error) return { kind: 'stopped', exitCode, at };
  if (o.job?.state && QUEUED.has(o.job.state)) return { kind: 'pending', jobId: o.job.id };
  // The job runs, but has not started its run yet (its tmux server is coming up). A lease
  // tenant whose run ended (an exit record) in an earlier job of the lease waits for none.
  const endedBefore = i.runtime === 'slurm-tenant' && o.exit !== null;
  if (o.job?.state === 'RUNNING' && o.runJob !== o.job.id && !endedBefore)
    return { kind: 'pending', jobId: o.job.id };
  if (o.error) return { kind: 'unknown', reason: o.error };
  if (o.pane && !o.pane.dead) {
    const lastOutputAt = o.log?.modifiedAt ?? null;
    const since = lastOutputAt ?? o.startedAt;
    const stale =
      i.staleAfterS !== undefined && since !== null && i.now - since > i.staleAfterS * 1000;
    return { kind: 'running', pid: o.pane.pid, stale, lastOutputAt };
  }
  if (o.pane || o.exit) return { kind: 'exited', exitCode, at };
  return { kind: 'lost' };
}

/** squeue states of a job that has not started its session yet. */
const QUEUED = new Set([
  'PENDING',
  'CONFIGURING',
  'REQUEUED',
  'REQUEUE_HOLD',
  'REQUEUE_FED',
  'RESV_DEL_HOLD',
]);

function signalCode(signal: number | null | undefined): number | null {
  return signal ? 128 + signal : null;
}

/** Whether berth should start a new run now. */
export function shouldRestart(policy: RestartPolicy, desired: Desired, s: SessionState): boolean {
  if (desired !== 'running' || policy === 'never') return false;
  if (s.kind === 'lost') return true;
  if (s.kind !== 'exited') return false;
  return policy === 'always' || s.exitCode !== 0;
}
