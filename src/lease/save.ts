/** Writing a lease back to the store, and folding an observation into it. */
import { addLeaseHop, listLeaseHops, putLease } from '../store/index.js';
import type { LeaseContext } from './context.js';
import type { JobLiveness } from './liveness.js';
import { type Lease, leaseOf, toStored } from './record.js';

export async function saveLease(ctx: LeaseContext, lease: Lease): Promise<Lease> {
  const stored = leaseOf(await putLease(ctx.db, { ...toStored(lease), updatedAt: Date.now() }));
  return withView(stored, lease);
}

/** The observation of the lease's current job, folded into the lease (not saved). */
export function withLiveness(lease: Lease, live: JobLiveness): Lease {
  const alive = live.liveness === 'ALIVE';
  return {
    ...lease,
    state: live.liveness === 'UNKNOWN' ? lease.state : live.state.kind,
    extra: {
      ...lease.extra,
      nodes: live.nodes.length || !alive ? live.nodes : lease.extra.nodes,
      reason: live.reason,
    },
    liveness: live.liveness,
    livenessDetail: live.detail,
  };
}

/** Record that the lease now lives in `jobId` (a hop) and return it with that job. */
export async function recordHop(
  ctx: LeaseContext,
  lease: Lease,
  jobId: string,
  reason: string,
): Promise<Lease> {
  await addLeaseHop(ctx.db, { leaseName: lease.name, jobId, reason });
  return { ...lease, jobId, extra: { ...lease.extra, nodes: [] } };
}

export async function withHops(ctx: LeaseContext, lease: Lease): Promise<Lease> {
  return { ...lease, hops: await listLeaseHops(ctx.db, lease.name) };
}

function withView(stored: Lease, view: Lease): Lease {
  const out: Lease = { ...stored };
  if (view.liveness) out.liveness = view.liveness;
  if (view.livenessDetail) out.livenessDetail = view.livenessDetail;
  if (view.hops) out.hops = view.hops;
  return out;
}
