/**
 * Making sure a lease's job is running before a step needs it: refresh (follow the chain,
 * observe the newest job), wait a while for a successor that is still pending, and refuse a
 * lease whose job is dead.
 */
import { RemoteError } from '../core/errors.js';
import type { LeaseContext } from './context.js';
import type { Lease } from './record.js';
import { refreshLease } from './refresh.js';
import { saveLease, withLiveness } from './save.js';
import { waitRunning } from './wait.js';

export async function ensureRunning(
  ctx: LeaseContext,
  name: string,
  opts: { waitS?: number } = {},
): Promise<Lease> {
  const refreshed = await refreshLease(ctx, name);
  let lease = refreshed.lease;
  const live = refreshed.live;
  if (!lease.jobId || !live) throw notRunning(lease, 'it has no job yet');
  if (live.state.kind === 'running') return lease;
  if (live.liveness === 'ALIVE') {
    const wait = await waitRunning(ctx.host(lease.host), lease.jobId, {
      timeoutS: opts.waitS ?? 120,
    });
    lease = await saveLease(ctx, withLiveness(lease, wait.last));
    if (wait.running) return lease;
    throw notRunning(lease, wait.last.detail);
  }
  throw notRunning(lease, live.detail);
}

function notRunning(lease: Lease, detail: string): RemoteError {
  const dead = lease.liveness === 'DEAD';
  return new RemoteError(
    `lease ${lease.name} is not running${lease.jobId ? ` (job ${lease.jobId})` : ''}: ${detail}`,
    {
      code: dead ? 'E_LEASE_DEAD' : 'E_LEASE_NOT_RUNNING',
      hint: dead
        ? `book it again: berth lease release ${lease.name} && berth lease book ${lease.name} …`
        : `see berth lease get ${lease.name}; SLURM's reason is shown there`,
      details: { jobId: lease.jobId, liveness: lease.liveness ?? null },
    },
  );
}
