/**
 * Batch ingest: store a batch of events (idempotent by id) and fold the new ones into
 * their jobs' rows, in one transaction, so a 2xx means both are durable and a crash
 * before the commit leaves neither (the client resends; nothing is lost or doubled).
 *
 * Concurrency: on PostgreSQL and MySQL two batches of one job may run at once, so each job
 * row is locked (created first if need be, then `select … for update`) before it is read,
 * folded and written; rows are locked in key order, after the events, so two batches
 * never wait on each other in a cycle. A deadlock the database breaks anyway is retried.
 * SQLite transactions are serialised (BEGIN IMMEDIATE), so there nothing needs locking.
 */
import type { Kysely } from 'kysely';
import { applyEvent } from '../monitor/fold.js';
import { dialectOf, isDeadlock, onConflictIgnore } from '../store/dialect.js';
import {
  type EventRecord,
  getJob,
  insertEvents,
  type JobInput,
  upsertJob,
} from '../store/index.js';
import type { Database } from '../store/schema.js';
import type { IngestEvent } from './schemas.js';

export interface IngestResult {
  /** Events this request stored. */
  accepted: number;
  /** Events already stored before, or repeated within the batch. */
  duplicates: number;
  /** The events this request stored, as stored (for the live stream), in id order. */
  fresh: EventRecord[];
}

const ID_CHUNK = 500;

export async function ingestEvents(
  db: Kysely<Database>,
  events: readonly IngestEvent[],
  now: number = Date.now(),
): Promise<IngestResult> {
  const unique = [...new Map(events.map((e) => [e.id, e])).values()].sort((a, b) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  if (unique.length === 0) return { accepted: 0, duplicates: events.length, fresh: [] };
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(async (trx) => {
        const known = await storedIds(
          trx,
          unique.map((e) => e.id),
        );
        const fresh = unique
          .filter((e) => !known.has(e.id))
          .map((e) => ({ ...e, receivedAt: now }));
        const accepted = fresh.length > 0 ? await insertEvents(trx, fresh) : 0;
        await foldIntoJobs(trx, fresh, now);
        return { accepted, duplicates: events.length - accepted, fresh };
      });
    } catch (err) {
      if (attempt >= 5 || !isDeadlock(err)) throw err;
      await new Promise((r) => setTimeout(r, attempt * 20 * Math.random()));
    }
  }
}

async function storedIds(db: Kysely<Database>, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    const rows = await db
      .selectFrom('events')
      .select('id')
      .where('id', 'in', ids.slice(i, i + ID_CHUNK))
      .execute();
    for (const r of rows) found.add(r.id);
  }
  return found;
}

/** A stored job as the fold's input (without the columns the store manages). */
function asInput(job: JobInput): JobInput {
  const { updatedAt: _u, createdAt: _c, ...rest } = job;
  return rest;
}

async function foldIntoJobs(
  trx: Kysely<Database>,
  events: readonly IngestEvent[],
  now: number,
): Promise<void> {
  const byJob = new Map<string, IngestEvent[]>();
  for (const e of events) {
    const list = byJob.get(e.jobKey);
    if (list) list.push(e);
    else byJob.set(e.jobKey, [e]);
  }
  for (const key of [...byJob.keys()].sort()) {
    let job = await lockJob(trx, key, now);
    for (const e of byJob.get(key)!) job = applyEvent(job, e);
    if (job) await upsertJob(trx, job);
  }
}

/** The job's row, locked until the transaction ends (undefined: no job yet). */
async function lockJob(
  trx: Kysely<Database>,
  key: string,
  now: number,
): Promise<JobInput | undefined> {
  const dialect = dialectOf(trx);
  if (dialect !== 'sqlite') {
    // A placeholder row gives `for update` something to lock when the job is new; the
    // fold then treats the job as new and the upsert overwrites every column.
    const res = await onConflictIgnore(
      trx.insertInto('jobs').values({
        job_key: key,
        host: 'local',
        scheduler: 'local',
        state: 'unknown',
        resources: '{}',
        extra: '{}',
        created_at: now,
        updated_at: now,
      }),
      dialect,
      'job_key',
    ).executeTakeFirst();
    const created = Number(res.numInsertedOrUpdatedRows ?? 0n) > 0;
    await trx.selectFrom('jobs').select('job_key').where('job_key', '=', key).forUpdate().execute();
    if (created) return undefined;
  }
  const stored = await getJob(trx, key);
  return stored ? asInput(stored) : undefined;
}
