/**
 * `lease refresh`: find the newest job of the lease and record each hop. One round trip
 * reads the chain file the hold script writes and lists the user's jobs with the lease's
 * job name (the fallback when the chain lacks a link); a second observes the newest job.
 */
import { RemoteError } from '../core/errors.js';
import { quote } from '../transport/quote.js';
import { type ChainEvent, followChain, parseChain } from './chain.js';
import { type LeaseContext, loadLease } from './context.js';
import { leaseFiles } from './layout.js';
import { type JobLiveness, observeLiveness } from './liveness.js';
import type { Lease } from './record.js';
import { recordHop, saveLease, withLiveness } from './save.js';

export interface RefreshResult {
  lease: Lease;
  previousJobId: string | null;
  jobId: string | null;
  /** The jobs the lease moved through, oldest first (empty when it did not move). */
  moved: string[];
  /** Failed resubmits the chain recorded (newest first). */
  failures: ChainEvent[];
  live: JobLiveness | undefined;
}

const MARK = '@@berth-lease-refresh';

/** Shell text printing the chain file, then the user's jobs of that name (`id|STATE`). */
export function renderChainQuery(dir: string | null, jobName: string | null): string {
  return [
    `printf '%s chain\\n' ${MARK}`,
    dir ? `cat -- ${quote(leaseFiles(dir).chain)} 2>/dev/null` : 'true',
    `printf '\\n%s queue\\n' ${MARK}`,
    jobName ? `squeue -h --me --name=${quote(jobName)} -o '%i|%T'` : 'true',
    `printf '%s end\\n' ${MARK}`,
  ].join('\n');
}

/** Pure: the chain events and the queued jobs (`{ id, state }`) from that output. */
export function parseChainQuery(
  stdout: string,
): { events: ChainEvent[]; queue: Array<{ id: string; state: string }> } | undefined {
  const c = stdout.indexOf(`${MARK} chain\n`);
  const q = stdout.indexOf(`\n${MARK} queue\n`);
  const e = stdout.indexOf(`${MARK} end`);
  if (c < 0 || q < c || e < q) return undefined;
  const events = parseChain(stdout.slice(c, q));
  const queue = stdout
    .slice(q, e)
    .split('\n')
    .map((l) => /^(\d+)\|([A-Z_]+)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ id: m[1]!, state: m[2]! }));
  return { events, queue };
}

/** The newest job of the lease, per the chain (and the queue for jobs the chain misses). */
export function newestJob(
  from: string,
  events: readonly ChainEvent[],
  queue: ReadonlyArray<{ id: string; state: string }>,
): { path: string[]; byName: boolean; failures: ChainEvent[] } {
  const walk = followChain(events, from);
  const last = Number(walk.path.at(-1));
  const alive = queue
    .filter((j) => /^(PENDING|RUNNING|CONFIGURING|SUSPENDED|REQUEUED)$/.test(j.state))
    .map((j) => Number(j.id))
    .filter((id) => id > last)
    .sort((a, b) => a - b);
  if (alive.length === 0) return { path: walk.path, byName: false, failures: walk.failures };
  return { path: [...walk.path, String(alive.at(-1))], byName: true, failures: walk.failures };
}

export async function refreshLease(ctx: LeaseContext, name: string): Promise<RefreshResult> {
  let lease = await loadLease(ctx, name);
  const previousJobId = lease.jobId;
  const host = ctx.host(lease.host);
  let moved: string[] = [];
  let failures: ChainEvent[] = [];
  if (lease.jobId) {
    const jobName = lease.spec.adopted ? null : lease.extra.jobName;
    const r = await host.runner.sh(renderChainQuery(lease.extra.dir, jobName), {
      timeoutMs: 60_000,
    });
    const read = parseChainQuery(r.stdout);
    if (!read) {
      throw new RemoteError(`cannot read the chain of lease ${name} on host ${host.name}`, {
        hint: `check the host with: berth host check ${host.name}`,
        details: { exitCode: r.exitCode, stderr: r.stderr.slice(0, 2000) },
      });
    }
    const newest = newestJob(lease.jobId, read.events, read.queue);
    failures = newest.failures;
    moved = newest.path.slice(1);
    for (const [i, jobId] of moved.entries()) {
      const why = newest.byName && i === moved.length - 1 ? 'found by job name' : 'resubmitted';
      lease = await recordHop(ctx, lease, jobId, why);
    }
  }
  let live: JobLiveness | undefined;
  if (lease.jobId) {
    live = (await observeLiveness(host, [lease.jobId])).get(lease.jobId);
    if (live) lease = withLiveness(lease, live);
    lease = await saveLease(ctx, lease);
  }
  return { lease, previousJobId, jobId: lease.jobId, moved, failures, live };
}
