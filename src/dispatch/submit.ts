/**
 * submitJob / planJob: a job spec from flags, over the host profile's defaults (the
 * cascade: `hosts.<name>.slurm`, then flags), checked, then submitted through the host's
 * scheduler and recorded in the store as `<host>:<jobId>`. planJob renders without
 * submitting (`--dry-run`).
 */
import type { SlurmDefaults } from '../config/schema.js';
import type { NoneScheduler } from '../scheduler/none/scheduler.js';
import { SlurmScheduler } from '../scheduler/slurm/scheduler.js';
import { type JobSpec, mergeSpec } from '../scheduler/spec.js';
import { getJob, upsertJob } from '../store/index.js';
import { quoteArgs } from '../transport/quote.js';
import { extraOf, type JobView, recordOf, viewOf } from './jobs.js';
import type { Dispatch, HostHandle } from './session.js';

export interface SubmitInput {
  /** Host name (default: the configured defaultHost). */
  host?: string;
  /** The spec from flags or an API call: JobSpec keys, layered over the host's defaults. */
  spec: Record<string, unknown>;
}

export interface PlanView {
  dryRun: true;
  host: string;
  scheduler: 'slurm' | 'none';
  /** The batch script exactly as it would be submitted. */
  script: string;
  /** One command per submission (several when an array is split beyond MaxArraySize). */
  submissions: Array<{ argv: string[]; offset: number; count: number }>;
}

/** The host's defaults as a spec layer (`slurm.time: UNLIMITED` means no --time). */
export function hostLayer(defaults: SlurmDefaults): Record<string, unknown> {
  const { time, ...rest } = defaults;
  const resources: Record<string, unknown> = { ...rest };
  if (time !== undefined && !/^(UNLIMITED|INFINITE)$/i.test(time)) resources.time = time;
  return Object.keys(resources).length ? { resources } : {};
}

async function specFor(
  d: Dispatch,
  input: SubmitInput,
): Promise<{ host: HostHandle; spec: JobSpec }> {
  const host = await d.host(input.host);
  const deps = await dependenciesFor(d, host, input.spec.dependencies);
  if (host.scheduler.kind === 'slurm') {
    const layer = deps ? { ...input.spec, dependencies: deps } : input.spec;
    return { host, spec: mergeSpec(hostLayer(host.profile.slurm), layer) };
  }
  // The spec checks SLURM ids; ids of a host without a scheduler (n-…) are checked by it.
  const { dependencies: _d, ...layer } = input.spec;
  const spec = mergeSpec(hostLayer(host.profile.slurm), layer);
  return { host, spec: deps ? { ...spec, dependencies: deps } : spec };
}

type Deps = Partial<Record<'afterok' | 'afterany' | 'afternotok', string[]>>;

/**
 * Dependencies with `host:` prefixes dropped and a split array standing for all its chunks
 * (afterok on a logical job means after every SLURM array it was split into).
 */
async function dependenciesFor(
  d: Dispatch,
  host: HostHandle,
  raw: unknown,
): Promise<Deps | undefined> {
  if (!raw || typeof raw !== 'object') return undefined;
  const db = (await d.store()).db;
  const out: Deps = {};
  for (const [kind, ids] of Object.entries(raw as Record<string, unknown>)) {
    if (!Array.isArray(ids)) return raw as Deps;
    const list: string[] = [];
    for (const id of ids.map(String)) {
      const bare = id.startsWith(`${host.name}:`) ? id.slice(host.name.length + 1) : id;
      const record = await getJob(db, `${host.name}:${bare}`);
      const chunks = extraOf(record).schedulerIds;
      list.push(...(chunks && chunks.length > 1 ? chunks : [bare]));
    }
    out[kind as keyof Deps] = list;
  }
  return out;
}

export async function planJob(d: Dispatch, input: SubmitInput): Promise<PlanView> {
  const { host, spec } = await specFor(d, input);
  const scheduler = host.scheduler;
  if (scheduler instanceof SlurmScheduler) {
    const plan = await scheduler.plan(spec);
    return {
      dryRun: true,
      host: host.name,
      scheduler: 'slurm',
      script: plan.script,
      submissions: plan.chunks.map((c) => ({
        argv: ['sbatch', '--parsable', ...c.args, 'job.sh'],
        offset: c.offset,
        count: c.count,
      })),
    };
  }
  const { script } = (scheduler as NoneScheduler).plan(spec);
  return {
    dryRun: true,
    host: host.name,
    scheduler: 'none',
    script,
    submissions: [{ argv: ['setsid', 'nohup', '(berth wrapper)', 'job.sh'], offset: 0, count: 1 }],
  };
}

export async function submitJob(d: Dispatch, input: SubmitInput): Promise<JobView> {
  const { host, spec } = await specFor(d, input);
  const submission = await host.scheduler.submit(spec);
  const command = spec.command ? quoteArgs(spec.command) : '(script)';
  const record = await upsertJob((await d.store()).db, recordOf(host, submission, spec, command));
  return viewOf(record);
}
