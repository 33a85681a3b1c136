/**
 * The jobs table: one row per job berth knows about, keyed by its job key
 * (`<host>:<scheduler id>` or a local id). upsertJob writes a whole record; patchJob changes
 * some fields (what the monitor does as events arrive).
 */
import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import { UsageError } from '../core/errors.js';
import {
  fromJson,
  intOrNull,
  ms,
  msRequired,
  num,
  numOrNull,
  str,
  strOrNull,
  textOrNull,
  toJson,
} from './codec.js';
import { dialectOf, onConflictUpdate } from './dialect.js';
import type { Database, JobsTable } from './schema.js';

export const JOB_SCHEDULERS = ['slurm', 'none', 'local'] as const;
export type JobScheduler = (typeof JOB_SCHEDULERS)[number];

export interface JobRecord {
  key: string;
  host: string;
  scheduler: JobScheduler;
  /** The scheduler's id ('123', '123_7'), or null before submission / without a scheduler. */
  schedulerId: string | null;
  /** Array job: the array's id and this task's index. */
  arrayId: string | null;
  arrayTask: number | null;
  name: string | null;
  user: string | null;
  command: string | null;
  resources: Record<string, unknown>;
  /** Lifecycle state name (pending, running, completed, failed, …). */
  state: string;
  exitCode: number | null;
  /** Signal name when the job died by a signal ('SIGKILL'). */
  signal: string | null;
  reason: string | null;
  /** Epoch milliseconds. */
  submittedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  /** When berth first recorded the job; kept across upserts. */
  createdAt: number;
  updatedAt: number;
  extra: Record<string, unknown>;
}

type RequiredField = 'key' | 'host' | 'scheduler' | 'state';
/** What upsertJob takes: the required fields, the rest optional (absent = null / {}). */
export type JobInput = Pick<JobRecord, RequiredField> & Partial<Omit<JobRecord, RequiredField>>;
export type JobPatch = Partial<Omit<JobRecord, 'key' | 'createdAt'>>;

type JobRow = Selectable<JobsTable>;
type JobValues = Updateable<JobsTable>;

function fromRow(r: JobRow): JobRecord {
  return {
    key: r.job_key,
    host: r.host,
    scheduler: r.scheduler as JobScheduler,
    schedulerId: r.scheduler_id,
    arrayId: r.array_id,
    arrayTask: r.array_task === null ? null : Number(r.array_task),
    name: r.name,
    user: r.user_name,
    command: r.command,
    resources: fromJson(r.resources),
    state: r.state,
    exitCode: r.exit_code === null ? null : Number(r.exit_code),
    signal: r.signal_name,
    reason: r.reason,
    submittedAt: numOrNull(r.submitted_at),
    startedAt: numOrNull(r.started_at),
    endedAt: numOrNull(r.ended_at),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    extra: fromJson(r.extra),
  };
}

function scheduler(v: unknown): JobScheduler {
  if (!(JOB_SCHEDULERS as readonly unknown[]).includes(v)) {
    throw new UsageError(
      `store: job scheduler must be one of ${JOB_SCHEDULERS.join(', ')}, got ${JSON.stringify(v)}`,
      {
        code: 'E_STORE_INVALID',
      },
    );
  }
  return v as JobScheduler;
}

/** The columns a patch sets (only the fields present in it), checked. */
function patchValues(p: JobPatch): JobValues {
  const v: JobValues = {};
  if ('host' in p) v.host = str(p.host, 'job host', 255);
  if ('scheduler' in p) v.scheduler = scheduler(p.scheduler);
  if ('schedulerId' in p) v.scheduler_id = strOrNull(p.schedulerId, 'job schedulerId', 64);
  if ('arrayId' in p) v.array_id = strOrNull(p.arrayId, 'job arrayId', 64);
  if ('arrayTask' in p) v.array_task = intOrNull(p.arrayTask, 'job arrayTask');
  if ('name' in p) v.name = strOrNull(p.name, 'job name', 255);
  if ('user' in p) v.user_name = strOrNull(p.user, 'job user', 255);
  if ('command' in p) v.command = textOrNull(p.command, 'job command');
  if ('resources' in p) v.resources = toJson(p.resources);
  if ('state' in p) v.state = str(p.state, 'job state', 32);
  if ('exitCode' in p) v.exit_code = intOrNull(p.exitCode, 'job exitCode');
  if ('signal' in p) v.signal_name = strOrNull(p.signal, 'job signal', 32);
  if ('reason' in p) v.reason = textOrNull(p.reason, 'job reason');
  if ('submittedAt' in p) v.submitted_at = ms(p.submittedAt, 'job submittedAt');
  if ('startedAt' in p) v.started_at = ms(p.startedAt, 'job startedAt');
  if ('endedAt' in p) v.ended_at = ms(p.endedAt, 'job endedAt');
  if ('updatedAt' in p) v.updated_at = msRequired(p.updatedAt, 'job updatedAt');
  if ('extra' in p) v.extra = toJson(p.extra);
  return v;
}

/** Insert or replace a job (every column; createdAt is kept from the first insert). Returns it as stored. */
export async function upsertJob(db: Kysely<Database>, job: JobInput): Promise<JobRecord> {
  const updatedAt = job.updatedAt ?? Date.now();
  const full: Required<JobPatch> = {
    host: job.host,
    scheduler: job.scheduler,
    schedulerId: job.schedulerId ?? null,
    arrayId: job.arrayId ?? null,
    arrayTask: job.arrayTask ?? null,
    name: job.name ?? null,
    user: job.user ?? null,
    command: job.command ?? null,
    resources: job.resources ?? {},
    state: job.state,
    exitCode: job.exitCode ?? null,
    signal: job.signal ?? null,
    reason: job.reason ?? null,
    submittedAt: job.submittedAt ?? null,
    startedAt: job.startedAt ?? null,
    endedAt: job.endedAt ?? null,
    updatedAt,
    extra: job.extra ?? {},
  };
  const set = patchValues(full);
  const key = str(job.key, 'job key', 255);
  const createdAt = msRequired(job.createdAt ?? updatedAt, 'job createdAt');
  await onConflictUpdate(
    db
      .insertInto('jobs')
      .values({ ...set, job_key: key, created_at: createdAt } as Insertable<JobsTable>),
    dialectOf(db),
    'job_key',
    set,
  ).execute();
  const stored = await getJob(db, key);
  if (!stored) throw new Error(`store: job ${key} vanished right after upsert`);
  return stored;
}

/** Change some fields of an existing job; updatedAt defaults to now. False when there is no such job. */
export async function patchJob(
  db: Kysely<Database>,
  key: string,
  patch: JobPatch,
): Promise<boolean> {
  const values = patchValues({ ...patch, updatedAt: patch.updatedAt ?? Date.now() });
  const res = await db
    .updateTable('jobs')
    .set(values)
    .where('job_key', '=', key)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function getJob(db: Kysely<Database>, key: string): Promise<JobRecord | undefined> {
  const row = await db.selectFrom('jobs').selectAll().where('job_key', '=', key).executeTakeFirst();
  return row ? fromRow(row) : undefined;
}

/** The job a scheduler knows as `schedulerId` on `host` (what a status watcher looks up). */
export async function getJobBySchedulerId(
  db: Kysely<Database>,
  host: string,
  schedulerId: string,
): Promise<JobRecord | undefined> {
  const row = await db
    .selectFrom('jobs')
    .selectAll()
    .where('host', '=', host)
    .where('scheduler_id', '=', schedulerId)
    .orderBy('updated_at', 'desc')
    .executeTakeFirst();
  return row ? fromRow(row) : undefined;
}

export interface ListJobsOptions {
  /** One state or any of several. */
  state?: string | readonly string[];
  host?: string;
  /** Only jobs of these schedulers (`slurm`, `none`, `local`). */
  scheduler?: readonly string[];
  /** Only jobs updated at or after this epoch ms. */
  since?: number;
  /** Default 100. */
  limit?: number;
  offset?: number;
}

/** Jobs, most recently updated first. */
export async function listJobs(
  db: Kysely<Database>,
  opts: ListJobsOptions = {},
): Promise<JobRecord[]> {
  let q = db.selectFrom('jobs').selectAll();
  if (typeof opts.state === 'string') q = q.where('state', '=', opts.state);
  else if (opts.state) {
    if (opts.state.length === 0) return [];
    q = q.where('state', 'in', [...opts.state]);
  }
  if (opts.host !== undefined) q = q.where('host', '=', opts.host);
  if (opts.scheduler) {
    if (opts.scheduler.length === 0) return [];
    q = q.where('scheduler', 'in', [...opts.scheduler]);
  }
  if (opts.since !== undefined) q = q.where('updated_at', '>=', msRequired(opts.since, 'since'));
  const rows = await q
    .orderBy('updated_at', 'desc')
    .orderBy('job_key', 'asc')
    .limit(opts.limit ?? 100)
    .offset(opts.offset ?? 0)
    .execute();
  return rows.map(fromRow);
}
