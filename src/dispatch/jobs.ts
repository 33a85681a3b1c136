/**
 * Jobs as dispatch sees them: the JSON shape every command prints (`JobView`), how a user's
 * job reference (`123`, `cluster:123`, `123_7`, `n-…`) finds its stored record, and how an
 * observation is written back to the store (the same `extra.watch` the watcher writes).
 */
import { NotFoundError, UsageError } from '../core/errors.js';
import { parseJobId } from '../core/jobid.js';
import { type JobState, transition } from '../core/states.js';
import type { Observation, Submission } from '../scheduler/contract.js';
import { NONE_TASK_ID } from '../scheduler/none/scripts.js';
import { jobPatchOf } from '../scheduler/watcher-store.js';
import { getJob, type JobRecord, patchJob } from '../store/index.js';
import type { Dispatch, HostHandle } from './session.js';

/** What `--json` prints for a job, and what the library returns. */
export interface JobView {
  /** Store key `<host>:<jobId>` (for one array task: `<host>:<jobId>_<index>`). */
  key: string;
  host: string;
  jobId: string;
  scheduler: 'slurm' | 'none';
  name: string | null;
  state: JobState;
  /** Arrays: how many tasks are in each state, and how many there are. */
  tasks?: Record<string, number>;
  taskCount?: number;
  /** SLURM ids behind the job (several for an array split beyond MaxArraySize). */
  schedulerIds: string[];
  workDir: string | null;
  command: string | null;
  submittedAt: number | null;
  observedAt: number | null;
}

/** A reference resolved: the host, the stored record (if berth knows the job), the task. */
export interface JobRef {
  host: HostHandle;
  /** The job's id as berth shows it (`123`, `n-…`). */
  jobId: string;
  /** The array task index the user named (`123_7` → 7), logical for split arrays. */
  task?: number;
  /** A SLURM step (`123.4`), for cancel. */
  step?: string;
  record?: JobRecord;
}

export interface StoredExtra {
  workDir?: string;
  schedulerIds?: string[];
  taskCount?: number;
  chunks?: Array<{ schedulerId: string; offset: number; count: number }>;
  spec?: { workdir?: string; output?: string; error?: string };
  watch?: {
    state?: JobState;
    observedAt?: number;
    source?: string;
    tasks?: Record<string, number>;
  };
}

export function extraOf(record: JobRecord | undefined): StoredExtra {
  return (record?.extra ?? {}) as StoredExtra;
}

/** `host:id` or `id` (host from `--host`, else the only stored job with that id, else the default). */
export async function resolveRef(d: Dispatch, text: string, hostFlag?: string): Promise<JobRef> {
  const colon = text.indexOf(':');
  const hostName = colon > 0 ? text.slice(0, colon) : hostFlag;
  const idText = colon > 0 ? text.slice(colon + 1) : text;
  const { base, task, step } = splitId(idText);
  const db = (await d.store()).db;
  let name = hostName;
  if (name === undefined) {
    const rows = await db
      .selectFrom('jobs')
      .select('host')
      .where('scheduler_id', '=', base)
      .limit(2)
      .execute();
    name = rows.length === 1 ? rows[0]!.host : d.config.defaultHost;
  }
  const host = await d.host(name);
  const record = await getJob(db, `${host.name}:${base}`);
  return {
    host,
    jobId: base,
    ...(task === undefined ? {} : { task }),
    ...(step === undefined ? {} : { step }),
    ...(record ? { record } : {}),
  };
}

function splitId(text: string): { base: string; task?: number; step?: string } {
  const none = NONE_TASK_ID.exec(text);
  if (none) return { base: none[1]!, task: Number(none[2]) };
  if (/^n-[0-9a-z]+$/.test(text)) return { base: text };
  let id: ReturnType<typeof parseJobId>;
  try {
    id = parseJobId(text);
  } catch {
    throw new UsageError(`invalid job id ${JSON.stringify(text)}`, {
      hint: 'job ids look like 123, 123_7, 123.4 (SLURM), n-01j… (no scheduler), or host:id',
    });
  }
  if (id.kind === 'array_range' || id.kind === 'het') {
    throw new UsageError(`job id ${JSON.stringify(text)} names several jobs`, {
      hint: 'give the array id (123) or one task (123_7)',
    });
  }
  const base = String(id.jobId);
  const step = id.step ? text.slice(text.indexOf('.')) : undefined;
  return {
    base,
    ...(id.kind === 'array_task' ? { task: id.taskId } : {}),
    ...(step ? { step } : {}),
  };
}

/** The scheduler's id of what a ref names: the job, one task (mapped into its chunk), a step. */
export function schedulerIdOf(ref: JobRef): string {
  if (ref.task === undefined) return `${ref.jobId}${ref.step ?? ''}`;
  const chunks = extraOf(ref.record).chunks;
  if (ref.host.scheduler.kind === 'slurm' && chunks?.length) {
    const chunk = [...chunks].reverse().find((c) => c.offset <= ref.task!);
    if (chunk) return `${chunk.schedulerId}_${ref.task - chunk.offset}${ref.step ?? ''}`;
  }
  return `${ref.jobId}_${ref.task}${ref.step ?? ''}`;
}

/** The job's record as first written at submit (state pending). */
export function recordOf(
  host: HostHandle,
  sub: Submission,
  spec: {
    name: string;
    command?: string[];
    resources: object;
    workdir?: string;
    output?: string;
    error?: string;
  },
  commandText: string,
): Parameters<typeof import('../store/index.js').upsertJob>[1] {
  const state: JobState = { kind: 'pending', reason: null };
  const extra: StoredExtra = {
    workDir: sub.workDir,
    schedulerIds: sub.schedulerIds,
    ...(sub.taskCount === undefined ? {} : { taskCount: sub.taskCount }),
    ...(sub.chunks ? { chunks: sub.chunks } : {}),
    spec: {
      ...(spec.workdir ? { workdir: spec.workdir } : {}),
      ...(spec.output ? { output: spec.output } : {}),
      ...(spec.error ? { error: spec.error } : {}),
    },
    watch: { state },
  };
  return {
    key: `${host.name}:${sub.jobId}`,
    host: host.name,
    scheduler: host.scheduler.kind,
    schedulerId: sub.jobId,
    name: spec.name,
    command: commandText,
    resources: spec.resources as Record<string, unknown>,
    state: 'pending',
    submittedAt: sub.submittedAt,
    extra: extra as Record<string, unknown>,
  };
}

/** The view of a stored job (its last known state). */
export function viewOf(record: JobRecord): JobView {
  const x = extraOf(record);
  const state: JobState = x.watch?.state ?? fallbackState(record);
  return {
    key: record.key,
    host: record.host,
    jobId: record.schedulerId ?? record.key.slice(record.host.length + 1),
    scheduler: record.scheduler === 'none' ? 'none' : 'slurm',
    name: record.name,
    state,
    ...(x.watch?.tasks ? { tasks: x.watch.tasks } : {}),
    ...(x.taskCount === undefined ? {} : { taskCount: x.taskCount }),
    schedulerIds: x.schedulerIds ?? (record.schedulerId ? [record.schedulerId] : []),
    workDir: x.workDir ?? null,
    command: record.command,
    submittedAt: record.submittedAt,
    observedAt: x.watch?.observedAt ?? null,
  };
}

function fallbackState(record: JobRecord): JobState {
  if (record.state === 'completed')
    return { kind: 'completed', exitCode: 0, endedAt: record.endedAt };
  if (record.state === 'failed') {
    return { kind: 'failed', exitCode: record.exitCode, endedAt: record.endedAt };
  }
  return { kind: 'unknown', reason: `stored state ${record.state}`, since: record.updatedAt };
}

/** The view of a ref after an observation (not stored when berth does not know the job). */
export function observedView(ref: JobRef, obs: Observation, state: JobState): JobView {
  const base: JobView = ref.record
    ? viewOf(ref.record)
    : {
        key: `${ref.host.name}:${ref.jobId}`,
        host: ref.host.name,
        jobId: ref.jobId,
        scheduler: ref.host.scheduler.kind,
        name: null,
        state,
        schedulerIds: [ref.jobId],
        workDir: null,
        command: null,
        submittedAt: null,
        observedAt: null,
      };
  const whole = ref.task === undefined && ref.step === undefined;
  const jobId = whole
    ? base.jobId
    : `${ref.jobId}${ref.task === undefined ? '' : `_${ref.task}`}${ref.step ?? ''}`;
  const { tasks: _t, taskCount: _c, ...rest } = base;
  return {
    ...(whole ? base : rest),
    key: `${ref.host.name}:${jobId}`,
    jobId,
    state,
    ...(whole && obs.tasks ? { tasks: obs.tasks } : {}),
    observedAt: obs.observedAt,
  };
}

/** Apply an observation to the stored job (whole jobs only) through transition(). */
export async function recordObservation(
  d: Dispatch,
  ref: JobRef,
  obs: Observation,
): Promise<JobState> {
  const whole = ref.task === undefined && ref.step === undefined;
  const known = ref.record && whole ? extraOf(ref.record).watch?.state : undefined;
  const prev: JobState = known ?? { kind: 'pending', reason: null };
  const next = transition(prev, { type: 'observed', state: obs.state, at: obs.observedAt });
  if (!ref.record || !whole) return next;
  const extra = {
    ...ref.record.extra,
    watch: {
      state: next,
      observedAt: obs.observedAt,
      source: obs.source,
      ...(obs.tasks ? { tasks: obs.tasks } : {}),
    },
  };
  const db = (await d.store()).db;
  await patchJob(db, ref.record.key, { ...jobPatchOf(next), extra });
  const fresh = await getJob(db, ref.record.key);
  if (fresh) ref.record = fresh;
  return next;
}

export function notFound(ref: string, host: string): NotFoundError {
  return new NotFoundError(`berth has no record of job ${ref} on ${host}`, {
    hint: 'list the jobs berth knows with: berth job list',
  });
}
