/** `lease list` and `lease get`: records from the store, with liveness observed per host. */
import { listLeases } from '../store/index.js';
import { type LeaseContext, loadLease } from './context.js';
import { observeLiveness } from './liveness.js';
import { type Lease, leaseOf } from './record.js';
import { saveLease, withHops, withLiveness } from './save.js';

/** One lease with its liveness (its current job observed, not followed) and its hops. */
export async function getLeaseView(ctx: LeaseContext, name: string): Promise<Lease> {
  let lease = await loadLease(ctx, name);
  if (lease.jobId) {
    const live = (await observeLiveness(ctx.host(lease.host), [lease.jobId])).get(lease.jobId);
    if (live) lease = await saveLease(ctx, withLiveness(lease, live));
  }
  return withHops(ctx, lease);
}

/** Every lease; with `check`, one squeue (+ sacct) per host tells their liveness. */
export async function listLeaseViews(
  ctx: LeaseContext,
  opts: { host?: string; check?: boolean } = {},
): Promise<Lease[]> {
  const leases = (await listLeases(ctx.db, opts.host ? { host: opts.host } : {})).map(leaseOf);
  if (opts.check === false) return leases;
  const byHost = new Map<string, Lease[]>();
  for (const l of leases) byHost.set(l.host, [...(byHost.get(l.host) ?? []), l]);
  const out = new Map<string, Lease>();
  for (const [hostName, group] of byHost) {
    const ids = group.flatMap((l) => (l.jobId ? [l.jobId] : []));
    let seen: Awaited<ReturnType<typeof observeLiveness>>;
    try {
      seen = await observeLiveness(ctx.host(hostName), ids);
    } catch {
      seen = new Map(); // an unknown host in an old record: leave its leases unobserved
    }
    for (const l of group) {
      const live = l.jobId ? seen.get(l.jobId) : undefined;
      out.set(l.name, live ? await saveLease(ctx, withLiveness(l, live)) : l);
    }
  }
  return leases.map((l) => out.get(l.name) ?? l);
}
