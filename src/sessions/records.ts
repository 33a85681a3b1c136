/**
 * Session records in the store (tables `sessions` and `session_runs`, migration
 * 0002_sessions): what berth started where, what it wants (running or stopped), what it
 * last saw, and every run with its start, end and exit code.
 */
import type { Insertable, Kysely, Selectable } from 'kysely';
import { ulid } from 'ulid';
import {
  fromJson,
  intOrNull,
  msRequired,
  num,
  numOrNull,
  str,
  strOrNull,
  toJson,
} from '../store/codec.js';
import { dialectOf, onConflictUpdate } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import type { SessionLayout } from './layout.js';
import type { Runtime, SessionSpec } from './spec.js';
import type { Desired } from './state.js';

interface SessionsTable {
  name: string;
  host: string;
  runtime: string;
  desired: string;
  state: string;
  run_id: string | null;
  job_id: string | null;
  exit_code: number | null;
  restarts: number;
  spec: string;
  extra: string;
  created_at: number | string;
  updated_at: number | string;
}

interface SessionRunsTable {
  id: string;
  session_name: string;
  run_id: string;
  job_id: string | null;
  reason: string;
  started_at: number | string;
  ended_at: number | string | null;
  exit_code: number | null;
  log: string | null;
}

type Db = Kysely<Database & { sessions: SessionsTable; session_runs: SessionRunsTable }>;

function db(k: Kysely<Database>): Db {
  return k.withTables<{ sessions: SessionsTable; session_runs: SessionRunsTable }>();
}

export interface SessionRecord {
  name: string;
  host: string;
  runtime: Runtime;
  desired: Desired;
  /** The state kind berth last saw (running, exited, stopped, lost, unknown). */
  state: string;
  runId: string | null;
  jobId: string | null;
  exitCode: number | null;
  /** Runs started by the restart policy. */
  restarts: number;
  spec: SessionSpec;
  /** Where it lives on the host. */
  layout: SessionLayout;
  /** Why the newest start was made (the first run of a submitted job is recorded with it). */
  startReason: RunReason | null;
  /** SLURM runtimes: the job the newest start submitted (later jobs are resubmissions). */
  startJobId: string | null;
  createdAt: number;
  updatedAt: number;
}

export type RunReason = 'start' | 'restart' | 'policy' | 'force' | 'resubmit';

export interface RunRecord {
  id: string;
  sessionName: string;
  runId: string;
  jobId: string | null;
  reason: RunReason;
  startedAt: number;
  endedAt: number | null;
  exitCode: number | null;
  log: string | null;
}

function fromRow(r: Selectable<SessionsTable>): SessionRecord {
  return {
    name: r.name,
    host: r.host,
    runtime: r.runtime as Runtime,
    desired: r.desired as Desired,
    state: r.state,
    runId: r.run_id,
    jobId: r.job_id,
    exitCode: r.exit_code,
    restarts: r.restarts,
    spec: fromJson<SessionSpec>(r.spec),
    ...extraOf(r.extra),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

function extraOf(text: string): Pick<SessionRecord, 'layout' | 'startReason' | 'startJobId'> {
  const extra = fromJson<{
    layout: SessionLayout;
    startReason?: RunReason | null;
    startJobId?: string | null;
  }>(text);
  return {
    layout: extra.layout,
    startReason: extra.startReason ?? null,
    startJobId: extra.startJobId ?? null,
  };
}

export async function getSession(
  k: Kysely<Database>,
  name: string,
): Promise<SessionRecord | undefined> {
  const row = await db(k)
    .selectFrom('sessions')
    .selectAll()
    .where('name', '=', name)
    .executeTakeFirst();
  return row ? fromRow(row) : undefined;
}

/** Records by name, optionally of one host. */
export async function listSessionRecords(
  k: Kysely<Database>,
  opts: { host?: string } = {},
): Promise<SessionRecord[]> {
  let q = db(k).selectFrom('sessions').selectAll();
  if (opts.host !== undefined) q = q.where('host', '=', opts.host);
  return (await q.orderBy('name').execute()).map(fromRow);
}

export type SessionInput = Omit<SessionRecord, 'createdAt' | 'updatedAt'> & { updatedAt?: number };

/** Insert or replace a record (createdAt is kept from the first insert). */
export async function putSession(k: Kysely<Database>, s: SessionInput): Promise<SessionRecord> {
  const now = msRequired(s.updatedAt ?? Date.now(), 'session updatedAt');
  const row: Insertable<SessionsTable> = {
    name: str(s.name, 'session name', 255),
    host: str(s.host, 'session host', 255),
    runtime: str(s.runtime, 'session runtime', 16),
    desired: str(s.desired, 'session desired', 16),
    state: str(s.state, 'session state', 32),
    run_id: strOrNull(s.runId, 'session runId', 64),
    job_id: strOrNull(s.jobId, 'session jobId', 64),
    exit_code: intOrNull(s.exitCode, 'session exitCode'),
    restarts: intOrNull(s.restarts, 'session restarts') ?? 0,
    spec: toJson(s.spec),
    extra: toJson({ layout: s.layout, startReason: s.startReason, startJobId: s.startJobId }),
    created_at: now,
    updated_at: now,
  };
  const { name: _n, created_at: _c, ...set } = row;
  await onConflictUpdate(
    db(k).insertInto('sessions').values(row),
    dialectOf(k),
    'name',
    set,
  ).execute();
  const stored = await getSession(k, s.name);
  if (!stored) throw new Error(`store: session ${s.name} vanished right after put`);
  return stored;
}

export type SessionPatch = Partial<
  Pick<SessionRecord, 'desired' | 'state' | 'runId' | 'jobId' | 'exitCode' | 'restarts'>
>;

/** Change some fields; false when there is no such record. */
export async function patchSession(
  k: Kysely<Database>,
  name: string,
  p: SessionPatch,
): Promise<boolean> {
  const set: Partial<SessionsTable> = { updated_at: Date.now() };
  if (p.desired !== undefined) set.desired = str(p.desired, 'session desired', 16);
  if (p.state !== undefined) set.state = str(p.state, 'session state', 32);
  if (p.runId !== undefined) set.run_id = strOrNull(p.runId, 'session runId', 64);
  if (p.jobId !== undefined) set.job_id = strOrNull(p.jobId, 'session jobId', 64);
  if (p.exitCode !== undefined) set.exit_code = intOrNull(p.exitCode, 'session exitCode');
  if (p.restarts !== undefined) set.restarts = intOrNull(p.restarts, 'session restarts') ?? 0;
  const res = await db(k)
    .updateTable('sessions')
    .set(set)
    .where('name', '=', name)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function addRun(
  k: Kysely<Database>,
  r: Omit<RunRecord, 'id' | 'endedAt' | 'exitCode'>,
): Promise<RunRecord> {
  const row: Insertable<SessionRunsTable> = {
    id: ulid(),
    session_name: str(r.sessionName, 'run sessionName', 255),
    run_id: str(r.runId, 'run id', 64),
    job_id: strOrNull(r.jobId, 'run jobId', 64),
    reason: str(r.reason, 'run reason', 32),
    started_at: msRequired(r.startedAt, 'run startedAt'),
    ended_at: null,
    exit_code: null,
    log: r.log,
  };
  await db(k).insertInto('session_runs').values(row).execute();
  return runFromRow(row as Selectable<SessionRunsTable>);
}

/** Record the end of a run (once: a run that already has an end keeps it). */
export async function endRun(
  k: Kysely<Database>,
  sessionName: string,
  runId: string,
  end: { endedAt: number; exitCode: number | null },
): Promise<void> {
  await db(k)
    .updateTable('session_runs')
    .set({
      ended_at: msRequired(end.endedAt, 'run endedAt'),
      exit_code: intOrNull(end.exitCode, 'run exitCode'),
    })
    .where('session_name', '=', sessionName)
    .where('run_id', '=', runId)
    .where('ended_at', 'is', null)
    .execute();
}

/** A session's runs, newest first. */
export async function listRuns(
  k: Kysely<Database>,
  sessionName: string,
  limit = 20,
): Promise<RunRecord[]> {
  const rows = await db(k)
    .selectFrom('session_runs')
    .selectAll()
    .where('session_name', '=', sessionName)
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map(runFromRow);
}

function runFromRow(r: Selectable<SessionRunsTable>): RunRecord {
  return {
    id: r.id,
    sessionName: r.session_name,
    runId: r.run_id,
    jobId: r.job_id,
    reason: r.reason as RunReason,
    startedAt: num(r.started_at),
    endedAt: numOrNull(r.ended_at),
    exitCode: r.exit_code,
    log: r.log,
  };
}
