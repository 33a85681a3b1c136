/**
 * `lease book`: check the request, ask the host for its paths, render the hold script,
 * keep it at `<root>/leases/<name>/hold.sh` and submit it — one round trip — then save the
 * record as soon as sbatch answered, and (unless told not to) wait for the job to run.
 * A wait that times out cancels nothing: the lease stays booked and pending.
 */
import { parseDuration } from '../core/duration.js';
import { ConflictError, RemoteError } from '../core/errors.js';
import { validateName } from '../core/names.js';
import { parseSbatchReply } from '../scheduler/slurm/parse.js';
import { createLease, deleteLease, getLease } from '../store/index.js';
import { quote } from '../transport/quote.js';
import { type LeaseContext, requireSlurm } from './context.js';
import { leadOf, renderHoldScript } from './hold-script.js';
import { leaseDir, leaseFiles } from './layout.js';
import { observeLiveness } from './liveness.js';
import { probeHost } from './probe.js';
import { type Lease, type LeaseExtra, type LeaseSpec, leaseOf } from './record.js';
import { recordHop, saveLease, withLiveness } from './save.js';
import { leaseJobSpec } from './spec.js';
import { type WaitOutcome, type WaitProgress, waitRunning } from './wait.js';

/** Default lead of a persistent lease: resubmit 5 minutes before the walltime. */
export const DEFAULT_LEAD_S = 300;

export interface BookOptions {
  name: string;
  /** Host name (default: the configuration's defaultHost). */
  host?: string;
  /** Job spec resources as a user writes them: `{ cpus: 2, mem: '4G', time: '2h' }`. */
  resources?: Record<string, unknown>;
  persistent?: boolean;
  /** Duration (`10m`, `90s`, seconds as a number) before the walltime to resubmit. */
  lead?: string | number;
  tmux?: boolean;
  /** Shell text that replaces the default hold. */
  holdBody?: string;
  /** Wait until the job runs (default true). */
  wait?: boolean;
  timeoutS?: number;
  /** Render and return the script; submit and save nothing. */
  dryRun?: boolean;
  onProgress?: (p: WaitProgress) => void;
}

export interface BookResult {
  lease: Lease;
  /** The hold script as submitted (or as it would be, with dryRun). */
  script: string;
  dryRun: boolean;
  wait?: WaitOutcome;
}

export async function bookLease(ctx: LeaseContext, opts: BookOptions): Promise<BookResult> {
  const name = validateName('lease', opts.name);
  const host = ctx.host(opts.host ?? ctx.config.defaultHost);
  const spec = leaseJobSpec(name, { ...host.profile.slurm }, opts.resources);
  const persistent = opts.persistent === true;
  const leadS = persistent ? parseDuration(opts.lead ?? DEFAULT_LEAD_S) : undefined;
  if (persistent) leadOf({ spec, persistent, leadS }); // refuse a bad lead before any connection
  if (!opts.dryRun) await refuseLiveDuplicate(ctx, name);
  await requireSlurm(host);
  const paths = await probeHost(host.runner, host.root);
  const dir = leaseDir(paths.root, name);
  const script = renderHoldScript({
    name,
    dir,
    spec,
    persistent,
    ...(leadS === undefined ? {} : { leadS }),
    tmux: opts.tmux === true,
    ...(opts.holdBody === undefined ? {} : { holdBody: opts.holdBody }),
    bins: {
      sbatch: paths.sbatch!,
      squeue: paths.squeue!,
      ...(paths.tmux ? { tmux: paths.tmux } : {}),
    },
  });
  const leaseSpec: LeaseSpec = {
    resources: { ...spec.resources },
    persistent,
    leadS: leadS ?? null,
    tmux: opts.tmux === true,
    holdBody: opts.holdBody ?? null,
    adopted: false,
  };
  const extra: LeaseExtra = {
    dir,
    jobName: spec.name,
    bins: {
      sbatch: paths.sbatch!,
      squeue: paths.squeue!,
      ...(paths.tmux ? { tmux: paths.tmux } : {}),
    },
    nodes: [],
    reason: null,
    tenants: [],
  };
  const draft = {
    name,
    host: host.name,
    state: 'submitting',
    spec: { ...leaseSpec },
    extra: { ...extra },
  };
  if (opts.dryRun) {
    const now = Date.now();
    return {
      lease: leaseOf({ ...draft, jobId: null, createdAt: now, updatedAt: now }),
      script,
      dryRun: true,
    };
  }
  // The name is taken before sbatch runs, so two bookings of one name cannot both submit.
  let lease = leaseOf(await createLease(ctx.db, draft));
  let jobId: string;
  try {
    jobId = await submitHold(ctx, host.name, dir, script);
  } catch (e) {
    await deleteLease(ctx.db, name);
    throw e;
  }
  lease = await recordHop(ctx, lease, jobId, 'booked');
  lease = await saveLease(ctx, { ...lease, state: 'pending' });
  if (opts.wait === false) return { lease, script, dryRun: false };
  const wait = await waitRunning(host, jobId, {
    timeoutS: opts.timeoutS ?? 300,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  lease = await saveLease(ctx, withLiveness(lease, wait.last));
  return { lease, script, dryRun: false, wait };
}

/** A record of that name is refused unless its job is known to be dead (then it is replaced). */
export async function refuseLiveDuplicate(ctx: LeaseContext, name: string): Promise<void> {
  const old = await getLease(ctx.db, name);
  if (!old) return;
  const conflict = (detail: string) =>
    new ConflictError(`a lease named ${name} already exists (${detail})`, {
      hint: `use it, pick another name, or release it first: berth lease release ${name}`,
      details: { jobId: old.jobId, host: old.host },
    });
  if (!old.jobId) throw conflict('being booked');
  const live = (await observeLiveness(ctx.host(old.host), [old.jobId])).get(old.jobId);
  if (live?.liveness !== 'DEAD') throw conflict(`job ${old.jobId}: ${live?.detail ?? 'unknown'}`);
  await deleteLease(ctx.db, name);
}

/** Keep the script at its stable path (a fresh lease directory) and sbatch it. */
export function renderSubmitHold(dir: string): string {
  const files = leaseFiles(dir);
  return [
    `dir=${quote(dir)}`,
    'mkdir -p -- "$dir/tenants" || exit 1',
    // A fresh lease of an old name starts without the old chain, release mark or tenants.
    `rm -f -- ${quote(files.chain)} ${quote(files.released)} "$dir"/tenants/*`,
    `cat > ${quote(files.hold)} || exit 1`,
    `chmod +x ${quote(files.hold)}`,
    `sbatch --parsable ${quote(files.hold)}`,
  ].join('\n');
}

async function submitHold(
  ctx: LeaseContext,
  hostName: string,
  dir: string,
  script: string,
): Promise<string> {
  const host = ctx.host(hostName);
  const r = await host.runner.sh(renderSubmitHold(dir), { stdin: script, timeoutMs: 60_000 });
  if (r.exitCode !== 0) {
    const why = (r.stderr.split('\n').find((l) => /error/i.test(l)) ?? r.stderr).trim();
    throw new RemoteError(
      `sbatch failed on ${host.name}: ${why.slice(0, 500) || `exit ${r.exitCode}`}`,
      {
        code: 'E_SBATCH',
        hint: 'check the resources (partition, account, time) against the site; --dry-run shows the script',
        details: { exitCode: r.exitCode, stderr: r.stderr.slice(0, 2000) },
      },
    );
  }
  return String(parseSbatchReply(r.stdout).jobId);
}
