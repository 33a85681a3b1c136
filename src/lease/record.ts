/**
 * What a lease record holds (store/leases.ts keeps `spec` and `extra` as JSON): the typed
 * view of both, read leniently (a field of the wrong type reads as its default), and the
 * Lease object every library call returns and `--json` prints.
 */
import type { LeaseHop, LeaseRecord } from '../store/index.js';

/** What was asked for. Resources as the job spec holds them: time in s, mem in MB. */
export interface LeaseSpec {
  resources: Record<string, unknown>;
  persistent: boolean;
  /** Seconds before the walltime at which a persistent lease resubmits itself. */
  leadS: number | null;
  tmux: boolean;
  holdBody: string | null;
  /** Taken over with `lease adopt` (berth did not write its script). */
  adopted: boolean;
}

/** A tmux session berth runs in the lease's server and re-creates in every successor job. */
export interface Tenant {
  name: string;
  command: string[];
  /** Log on the host, appended to by every job of the chain. */
  log: string;
  createdAt: number;
}

export interface TaskSummary {
  at: number;
  jobId: string;
  total: number;
  ok: number;
  failed: number;
  notRun: number;
  durationMs: number;
  tasksPerS: number;
  /** Local JSONL file with one record per task. */
  file: string;
}

/** What berth learned about the lease on the host. */
export interface LeaseExtra {
  /** The lease directory on the host (absolute). */
  dir: string | null;
  /** SLURM job name of the lease's jobs. */
  jobName: string | null;
  bins: { sbatch?: string; squeue?: string; tmux?: string };
  nodes: string[];
  /** SLURM's reason while pending. */
  reason: string | null;
  tenants: Tenant[];
  lastTasks?: TaskSummary;
}

export type Liveness = 'ALIVE' | 'DEAD' | 'UNKNOWN';

/** The lease as the library returns it and `--json` prints it. */
export interface Lease extends Omit<LeaseRecord, 'spec' | 'extra'> {
  spec: LeaseSpec;
  extra: LeaseExtra;
  liveness?: Liveness;
  /** Why liveness is what it is (SLURM's state, or the failed query). */
  livenessDetail?: string;
  hops?: LeaseHop[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const strOr = <T>(v: unknown, d: T): string | T => (typeof v === 'string' ? v : d);

export function specOf(raw: Record<string, unknown>): LeaseSpec {
  return {
    resources: isObject(raw.resources) ? raw.resources : {},
    persistent: raw.persistent === true,
    leadS: typeof raw.leadS === 'number' ? raw.leadS : null,
    tmux: raw.tmux === true,
    holdBody: strOr(raw.holdBody, null),
    adopted: raw.adopted === true,
  };
}

export function extraOf(raw: Record<string, unknown>): LeaseExtra {
  const bins = isObject(raw.bins) ? raw.bins : {};
  const extra: LeaseExtra = {
    dir: strOr(raw.dir, null),
    jobName: strOr(raw.jobName, null),
    bins: Object.fromEntries(Object.entries(bins).filter(([, v]) => typeof v === 'string')),
    nodes: Array.isArray(raw.nodes) ? raw.nodes.filter((n) => typeof n === 'string') : [],
    reason: strOr(raw.reason, null),
    tenants: Array.isArray(raw.tenants) ? raw.tenants.filter(isTenant) : [],
  };
  if (isObject(raw.lastTasks)) extra.lastTasks = raw.lastTasks as unknown as TaskSummary;
  return extra;
}

function isTenant(v: unknown): v is Tenant {
  return (
    isObject(v) &&
    typeof v.name === 'string' &&
    typeof v.log === 'string' &&
    Array.isArray(v.command) &&
    v.command.every((a) => typeof a === 'string')
  );
}

export function leaseOf(record: LeaseRecord): Lease {
  return { ...record, spec: specOf(record.spec), extra: extraOf(record.extra) };
}

/** The record fields to store back (spec and extra as plain JSON objects). */
export function toStored(lease: Lease): LeaseRecord {
  const { liveness: _l, livenessDetail: _d, hops: _h, ...rest } = lease;
  return {
    ...rest,
    spec: { ...lease.spec },
    extra: { ...lease.extra } as unknown as Record<string, unknown>,
  };
}
