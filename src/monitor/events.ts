/**
 * Lifecycle events of a monitored run, and the context they carry.
 *
 * An event is immutable: `{id (ULID), jobKey, type, at (epoch ms), data}`. The id makes every
 * delivery idempotent (store, HTTP API, webhooks). Everything here is pure: the environment
 * and the machine facts are parameters.
 */
import { monotonicFactory } from 'ulid';
import { UsageError } from '../core/errors.js';
import { quoteArgs } from '../transport/quote.js';

export const EVENT_TYPES = [
  'SUBMITTED',
  'RUNNING',
  'PAUSED',
  'RESUMED',
  'TERMINATING',
  'COMPLETED',
  'FAILED',
  'HEARTBEAT',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Why a run ended other than with exit 0 (the `reason` of FAILED). */
export const FAIL_REASONS = [
  'exit_code',
  'signal',
  'timeout',
  'out_of_memory',
  'node_fail',
  'preempted',
  'cancelled',
] as const;
export type FailReason = (typeof FAIL_REASONS)[number];

export interface MonitorEvent {
  id: string;
  jobKey: string;
  type: EventType;
  at: number;
  data: Record<string, unknown>;
}

const nextId = monotonicFactory();

/** A new event; ids are strictly increasing within this process even if `at` goes back. */
export function makeEvent(
  type: EventType,
  jobKey: string,
  data: Record<string, unknown> = {},
  at: number = Date.now(),
): MonitorEvent {
  return { id: nextId(at), jobKey, type, at, data };
}

export function isEventType(v: unknown): v is EventType {
  return (EVENT_TYPES as readonly unknown[]).includes(v);
}

export function isTerminalEvent(type: string): boolean {
  return type === 'COMPLETED' || type === 'FAILED';
}

/** Job keys: `<host>:<scheduler id>` or `local:<ULID>`; safe in file names once ':' is mapped. */
export const JOB_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@+-]*$/;

export function validateJobKey(key: string): string {
  if (
    typeof key !== 'string' ||
    key.length === 0 ||
    key.length > 255 ||
    !JOB_KEY_PATTERN.test(key)
  ) {
    throw new UsageError(`invalid job key ${JSON.stringify(key)}`, {
      hint: "a job key is up to 255 letters, digits and '.', '_', ':', '@', '+', '-' (for example cluster:1234)",
    });
  }
  return key;
}

type Env = Record<string, string | undefined>;

/** SLURM ids of the job (and step) a run is inside. */
export interface SlurmIds {
  jobId: string;
  /** `123` or, for an array task, `<array job id>_<task id>` (what squeue shows). */
  schedulerId: string;
  stepId: string | null;
  arrayJobId: string | null;
  arrayTaskId: number | null;
  jobName: string | null;
  partition: string | null;
  account: string | null;
  qos: string | null;
  nodeList: string | null;
  cluster: string | null;
  submitDir: string | null;
  /** Epoch ms when the job's time limit is reached, when SLURM exports it (23.02+). */
  endTime: number | null;
}

export interface RunContext {
  /** berth host name: BERTH_JOB_HOST, else the SLURM cluster name, else 'local'. */
  host: string;
  /** The machine the command runs on. */
  node: string;
  user: string | null;
  /** The command as one shell-quoted line. */
  command: string;
  argv: string[];
  cwd: string;
  slurm: SlurmIds | null;
  /** What SLURM granted, from `SLURM_*` (numbers where SLURM gives numbers; memory in MB). */
  resources: Record<string, number | string>;
}

/** Facts about the machine that are not in the environment. */
export interface MachineFacts {
  argv: readonly string[];
  hostname: string;
  cwd: string;
  /** Fallback when USER/LOGNAME are unset. */
  user?: string | null;
}

const nonEmpty = (v: string | undefined): string | null => (v && v.trim() !== '' ? v : null);

function int(v: string | undefined): number | null {
  if (!v || !/^\d+$/.test(v.trim())) return null;
  return Number(v.trim());
}

/** The SLURM ids in the environment, or null outside a SLURM job. */
export function slurmIds(env: Env): SlurmIds | null {
  const jobId = nonEmpty(env.SLURM_JOB_ID) ?? nonEmpty(env.SLURM_JOBID);
  if (!jobId) return null;
  const arrayJobId = nonEmpty(env.SLURM_ARRAY_JOB_ID);
  const arrayTaskId = int(env.SLURM_ARRAY_TASK_ID);
  const endS = int(env.SLURM_JOB_END_TIME);
  return {
    jobId,
    schedulerId: arrayJobId && arrayTaskId !== null ? `${arrayJobId}_${arrayTaskId}` : jobId,
    stepId: nonEmpty(env.SLURM_STEP_ID) ?? nonEmpty(env.SLURM_STEPID),
    arrayJobId,
    arrayTaskId,
    jobName: nonEmpty(env.SLURM_JOB_NAME),
    partition: nonEmpty(env.SLURM_JOB_PARTITION),
    account: nonEmpty(env.SLURM_JOB_ACCOUNT),
    qos: nonEmpty(env.SLURM_JOB_QOS),
    nodeList: nonEmpty(env.SLURM_JOB_NODELIST) ?? nonEmpty(env.SLURM_NODELIST),
    cluster: nonEmpty(env.SLURM_CLUSTER_NAME),
    submitDir: nonEmpty(env.SLURM_SUBMIT_DIR),
    endTime: endS === null ? null : endS * 1000,
  };
}

/** `SLURM_*` resource variables → resources key, and whether the value is a number. */
const RESOURCE_VARS: ReadonlyArray<[string, string, 'int' | 'text']> = [
  ['SLURM_JOB_NUM_NODES', 'nodes', 'int'],
  ['SLURM_NTASKS', 'ntasks', 'int'],
  ['SLURM_CPUS_ON_NODE', 'cpusOnNode', 'int'],
  ['SLURM_CPUS_PER_TASK', 'cpusPerTask', 'int'],
  ['SLURM_JOB_CPUS_PER_NODE', 'cpusPerNode', 'text'],
  ['SLURM_MEM_PER_NODE', 'memPerNodeMb', 'int'],
  ['SLURM_MEM_PER_CPU', 'memPerCpuMb', 'int'],
  ['SLURM_MEM_PER_GPU', 'memPerGpuMb', 'int'],
  ['SLURM_GPUS', 'gpus', 'text'],
  ['SLURM_GPUS_ON_NODE', 'gpusOnNode', 'int'],
  ['SLURM_JOB_GPUS', 'gpuIds', 'text'],
  ['SLURM_GPUS_PER_NODE', 'gpusPerNode', 'text'],
  ['SLURM_GPUS_PER_TASK', 'gpusPerTask', 'text'],
  ['SLURM_TRES_PER_TASK', 'tresPerTask', 'text'],
];

export function slurmResources(env: Env): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [name, key, kind] of RESOURCE_VARS) {
    const raw = nonEmpty(env[name]);
    if (raw === null) continue;
    const n = int(raw);
    out[key] = kind === 'int' && n !== null ? n : raw;
  }
  return out;
}

/** Everything a run's events say about where and what it is. Pure. */
export function runContext(env: Env, facts: MachineFacts): RunContext {
  const slurm = slurmIds(env);
  return {
    host: nonEmpty(env.BERTH_JOB_HOST) ?? slurm?.cluster ?? 'local',
    node: nonEmpty(env.SLURMD_NODENAME) ?? facts.hostname,
    user:
      nonEmpty(env.SLURM_JOB_USER) ??
      nonEmpty(env.USER) ??
      nonEmpty(env.LOGNAME) ??
      facts.user ??
      null,
    command: quoteArgs(facts.argv),
    argv: [...facts.argv],
    cwd: facts.cwd,
    slurm,
    resources: slurm ? slurmResources(env) : {},
  };
}

/**
 * The job key a run reports under: the given one, else BERTH_JOB_KEY, else
 * `<host>:<scheduler id>` inside SLURM, else `<host>:<newId>` (a fresh local id).
 */
export function defaultJobKey(ctx: RunContext, env: Env, newId: () => string): string {
  const given = nonEmpty(env.BERTH_JOB_KEY);
  if (given) return validateJobKey(given);
  if (ctx.slurm) return validateJobKey(`${ctx.host}:${ctx.slurm.schedulerId}`);
  return validateJobKey(`${ctx.host}:${newId()}`);
}
