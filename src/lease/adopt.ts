/**
 * `lease adopt NAME --job-id N`: take over a job someone else submitted (pending or
 * running) as a lease. berth did not write its script, so it is not persistent and has no
 * tmux server; the resources given are what `lease verify` checks it against.
 */
import { ConflictError, NotFoundError, UsageError } from '../core/errors.js';
import { validateName } from '../core/names.js';
import { fromSlurmState, isTerminal } from '../core/states.js';
import { mergeSpec } from '../scheduler/spec.js';
import { createLease } from '../store/index.js';
import { refuseLiveDuplicate } from './book.js';
import { type LeaseContext, requireSlurm } from './context.js';
import { leaseJobName } from './layout.js';
import { type Lease, type LeaseSpec, leaseOf } from './record.js';
import { recordHop, saveLease } from './save.js';
import { grantedOf, scontrolJob } from './verify.js';

export interface AdoptOptions {
  name: string;
  jobId: string;
  host?: string;
  /** What the job is expected to have (compared by `lease verify`). */
  resources?: Record<string, unknown>;
}

export async function adoptLease(ctx: LeaseContext, opts: AdoptOptions): Promise<Lease> {
  const name = validateName('lease', opts.name);
  if (!/^\d+$/.test(opts.jobId)) {
    throw new UsageError(`invalid job id ${JSON.stringify(opts.jobId)}`, {
      hint: 'give the numeric SLURM job id, as squeue shows it',
    });
  }
  const spec = mergeSpec({
    script: 'true',
    name: leaseJobName(name),
    resources: opts.resources ?? {},
  });
  await refuseLiveDuplicate(ctx, name);
  const host = ctx.host(opts.host ?? ctx.config.defaultHost);
  await requireSlurm(host);
  const record = await scontrolJob(host.runner, opts.jobId);
  if (!record)
    throw new NotFoundError(`no job ${opts.jobId} on host ${host.name}`, {
      hint: 'check the id with squeue',
    });
  const granted = grantedOf(record);
  const state = fromSlurmState(granted.state ?? 'UNKNOWN');
  if (isTerminal(state) || state.kind === 'unknown') {
    throw new ConflictError(
      `job ${opts.jobId} is ${granted.state ?? 'unknown'}: only a pending or running job can be adopted`,
      {
        hint: 'book a new lease instead: berth lease book NAME',
      },
    );
  }
  const leaseSpec: LeaseSpec = {
    resources: { ...spec.resources },
    persistent: false,
    leadS: null,
    tmux: false,
    holdBody: null,
    adopted: true,
  };
  let lease = leaseOf(
    await createLease(ctx.db, {
      name,
      host: host.name,
      state: state.kind,
      spec: { ...leaseSpec },
      extra: {
        dir: null,
        jobName: granted.jobName,
        bins: {},
        nodes:
          granted.nodeList && state.kind === 'running'
            ? [granted.batchHost ?? granted.nodeList]
            : [],
        reason: null,
        tenants: [],
      },
    }),
  );
  lease = await recordHop(ctx, lease, opts.jobId, 'adopted');
  return saveLease(ctx, { ...lease, state: state.kind });
}
