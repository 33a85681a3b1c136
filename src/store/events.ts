/**
 * The events table: immutable lifecycle events, keyed by their ULID. insertEvents is
 * idempotent by id — a replayed event is skipped, never duplicated or changed — and says
 * how many of the batch were new.
 */
import type { Insertable, Kysely, Selectable } from 'kysely';
import { fromJson, msRequired, num, str, toJson, ulidId } from './codec.js';
import { dialectOf, inTransaction, isDeadlock, onConflictIgnore } from './dialect.js';
import type { Database, EventsTable } from './schema.js';

export interface EventRecord {
  /** ULID; the event's identity everywhere (outbox, API, webhooks). */
  id: string;
  jobKey: string;
  /** SUBMITTED, RUNNING, PAUSED, …; up to 64 characters. */
  type: string;
  /** When it happened, epoch ms. */
  at: number;
  data: Record<string, unknown>;
  /** When the store first received it, epoch ms. */
  receivedAt: number;
}

export type EventInput = Omit<EventRecord, 'receivedAt' | 'data'> & {
  data?: Record<string, unknown>;
  receivedAt?: number;
};

/** Rows per INSERT statement (keeps every driver well under its parameter limit). */
const CHUNK = 500;

function fromRow(r: Selectable<EventsTable>): EventRecord {
  return {
    id: r.id,
    jobKey: r.job_key,
    type: r.type,
    at: num(r.at),
    data: fromJson(r.data),
    receivedAt: num(r.received_at),
  };
}

function toRow(e: EventInput, now: number): Insertable<EventsTable> {
  return {
    id: ulidId(e.id, 'event id'),
    job_key: str(e.jobKey, 'event jobKey', 255),
    type: str(e.type, 'event type', 64),
    at: msRequired(e.at, 'event at'),
    data: toJson(e.data),
    received_at: msRequired(e.receivedAt ?? now, 'event receivedAt'),
  };
}

/**
 * Insert events whose id is not stored yet; skip the others. Returns how many were new.
 * The whole batch is one transaction (the caller's, when `db` is a transaction).
 */
export async function insertEvents(
  db: Kysely<Database>,
  events: readonly EventInput[],
): Promise<number> {
  if (events.length === 0) return 0;
  const now = Date.now();
  // Validate everything before writing anything. Sorted by id so that concurrent batches
  // lock rows in the same order (no deadlock between two replays of overlapping events).
  const rows = events
    .map((e) => toRow(e, now))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const dialect = dialectOf(db);
  const insertAll = () =>
    inTransaction(db, async (trx) => {
      let inserted = 0;
      for (let i = 0; i < rows.length; i += CHUNK) {
        const q = onConflictIgnore(
          trx.insertInto('events').values(rows.slice(i, i + CHUNK)),
          dialect,
          'id',
        );
        const res = await q.executeTakeFirst();
        inserted += Number(res.numInsertedOrUpdatedRows ?? 0n);
      }
      return inserted;
    });
  // The insert is idempotent, so a transaction the database aborted to break a deadlock
  // is simply run again (unless it is the caller's transaction, which is theirs to retry).
  for (let attempt = 1; ; attempt++) {
    try {
      return await insertAll();
    } catch (err) {
      if (attempt >= 5 || db.isTransaction || !isDeadlock(err)) throw err;
      await new Promise((r) => setTimeout(r, attempt * 20 * Math.random()));
    }
  }
}

export async function getEvent(db: Kysely<Database>, id: string): Promise<EventRecord | undefined> {
  const row = await db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? fromRow(row) : undefined;
}

export interface ListEventsOptions {
  jobKey?: string;
  /** Only events at or after this epoch ms. */
  since?: number;
  /** Only events before this epoch ms. */
  until?: number;
  types?: readonly string[];
  /** Default 1000. */
  limit?: number;
  /** 'asc' (default): oldest first, ties by id. */
  order?: 'asc' | 'desc';
}

/** Events in time order (ties broken by id, which for ULIDs is creation order). */
export async function listEvents(
  db: Kysely<Database>,
  opts: ListEventsOptions = {},
): Promise<EventRecord[]> {
  if (opts.types && opts.types.length === 0) return [];
  let q = db.selectFrom('events').selectAll();
  if (opts.jobKey !== undefined) q = q.where('job_key', '=', opts.jobKey);
  if (opts.since !== undefined) q = q.where('at', '>=', msRequired(opts.since, 'since'));
  if (opts.until !== undefined) q = q.where('at', '<', msRequired(opts.until, 'until'));
  if (opts.types) q = q.where('type', 'in', [...opts.types]);
  const order = opts.order ?? 'asc';
  const rows = await q
    .orderBy('at', order)
    .orderBy('id', order)
    .limit(opts.limit ?? 1000)
    .execute();
  return rows.map(fromRow);
}

/** How many events are stored (for one job when jobKey is given). */
export async function countEvents(
  db: Kysely<Database>,
  opts: { jobKey?: string } = {},
): Promise<number> {
  let q = db.selectFrom('events').select((eb) => eb.fn.countAll().as('n'));
  if (opts.jobKey !== undefined) q = q.where('job_key', '=', opts.jobKey);
  const row = await q.executeTakeFirstOrThrow();
  return Number(row.n);
}
