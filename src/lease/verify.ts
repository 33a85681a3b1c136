/**
 * `lease verify`: what was requested against what SLURM granted, from one
 * `scontrol show job`. Only requested resources are compared; the rest is reported.
 */
import { parseDuration, parseMemory } from '../core/duration.js';
import { NotFoundError, RemoteError } from '../core/errors.js';
import { parseScontrolShowJob } from '../scheduler/slurm/parse-scontrol.js';
import type { Runner } from '../transport/runner.js';
import type { LeaseContext } from './context.js';
import { ensureRunning } from './running.js';

export interface Granted {
  jobId: string;
  state: string | null;
  jobName: string | null;
  cpusPerTask: number | null;
  cpus: number | null;
  tasks: number | null;
  nodes: number | null;
  memMb: number | null;
  timeS: number | null;
  partition: string | null;
  account: string | null;
  qos: string | null;
  gpus: number | null;
  nodeList: string | null;
  batchHost: string | null;
}

export interface Check {
  key: string;
  requested: string | number;
  granted: string | number | null;
  ok: boolean;
}

export interface VerifyReport {
  lease: string;
  jobId: string;
  ok: boolean;
  checks: Check[];
  granted: Granted;
}

const n = (v: string | undefined): number | null => (v && /^\d+$/.test(v) ? Number(v) : null);
const s = (v: string | undefined): string | null => (v && v !== '(null)' && v !== 'N/A' ? v : null);

/** Pure: the granted resources from one `scontrol show job` record. */
export function grantedOf(r: Record<string, string>): Granted {
  const tres = Object.fromEntries(
    (r.TRES ?? '').split(',').map((kv) => kv.split('=') as [string, string]),
  );
  const memText = s(r.MinMemoryNode) ?? s(tres.mem);
  let memMb: number | null = null;
  let timeS: number | null = null;
  try {
    memMb = memText && memText !== '0' ? parseMemory(memText) : null;
    timeS =
      r.TimeLimit && !/UNLIMITED|Partition_Limit/.test(r.TimeLimit)
        ? parseDuration(r.TimeLimit)
        : null;
  } catch {
    // a shape SLURM may print differently: reported as unknown
  }
  return {
    jobId: r.JobId ?? '',
    state: s(r.JobState),
    jobName: s(r.JobName),
    cpusPerTask: n(r['CPUs/Task']),
    cpus: n(r.NumCPUs),
    tasks: n(r.NumTasks),
    nodes: n(r.NumNodes),
    memMb,
    timeS,
    partition: s(r.Partition),
    account: s(r.Account),
    qos: s(r.QOS),
    gpus: n(tres['gres/gpu']),
    nodeList: s(r.NodeList),
    batchHost: s(r.BatchHost),
  };
}

/** Pure: one check per requested resource. */
export function compare(requested: Record<string, unknown>, g: Granted): Check[] {
  const checks: Check[] = [];
  const add = (key: string, want: unknown, got: string | number | null, ok?: boolean) => {
    if (want === undefined || want === null) return;
    const requestedValue = typeof want === 'number' ? want : String(want);
    checks.push({ key, requested: requestedValue, granted: got, ok: ok ?? got === requestedValue });
  };
  add('cpus', requested.cpus, g.cpusPerTask);
  add('ntasks', requested.ntasks, g.tasks);
  const nodes = requested.nodes;
  if (typeof nodes === 'string' && nodes.includes('-')) {
    const [lo, hi] = nodes.split('-').map(Number) as [number, number];
    add('nodes', nodes, g.nodes, g.nodes !== null && g.nodes >= lo && g.nodes <= hi);
  } else add('nodes', nodes === undefined ? undefined : Number(nodes), g.nodes);
  add('mem', requested.mem, g.memMb);
  add('time', requested.time, g.timeS);
  add('partition', requested.partition, g.partition);
  add('account', requested.account, g.account);
  add('qos', requested.qos, g.qos);
  const gpus = requested.gpus;
  if (gpus !== undefined && gpus !== 0 && gpus !== '0') {
    const count = Number(String(gpus).split(':').at(-1));
    add('gpus', count, g.gpus);
  }
  return checks;
}

export async function scontrolJob(
  runner: Runner,
  jobId: string,
): Promise<Record<string, string> | undefined> {
  const r = await runner.run(['scontrol', 'show', 'job', jobId], { timeoutMs: 60_000 });
  if (/Invalid job id specified/i.test(r.stderr)) return undefined;
  if (r.exitCode !== 0) {
    throw new RemoteError(
      `scontrol show job ${jobId} failed on ${runner.host}: ${r.stderr.trim().slice(0, 300)}`,
      {
        hint: `check the host with: berth host check ${runner.host}`,
      },
    );
  }
  return parseScontrolShowJob(r.stdout).find((x) => x.JobId === jobId);
}

export async function verifyLease(ctx: LeaseContext, name: string): Promise<VerifyReport> {
  const lease = await ensureRunning(ctx, name);
  const record = await scontrolJob(ctx.host(lease.host).runner, lease.jobId!);
  if (!record) {
    throw new NotFoundError(`SLURM no longer knows job ${lease.jobId} of lease ${name}`, {
      hint: `see berth lease get ${name}`,
    });
  }
  const granted = grantedOf(record);
  const checks = compare(lease.spec.resources, granted);
  return { lease: name, jobId: lease.jobId!, ok: checks.every((c) => c.ok), checks, granted };
}
