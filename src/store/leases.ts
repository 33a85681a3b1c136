/**
 * The leases table (one record per lease name) and lease_hops (each job a lease has lived
 * in: booked, resubmitted before walltime, adopted). Deleting a lease deletes its hops.
 */

import type { Insertable, Kysely, Selectable } from 'kysely';
import { ulid } from 'ulid';
import { ConflictError, NotFoundError } from '../core/errors.js';
import { fromJson, msRequired, num, str, strOrNull, textOrNull, toJson } from './codec.js';
import { dialectOf, inTransaction, isUniqueViolation, onConflictUpdate } from './dialect.js';
import type { Database, LeaseHopsTable, LeasesTable } from './schema.js';

export interface LeaseRecord {
  name: string;
  host: string;
  /** The current job of the lease (the newest hop), or null before sbatch answered. */
  jobId: string | null;
  state: string;
  /** What was asked for (resources, persistent, lead, tmux, …). */
  spec: Record<string, unknown>;
  extra: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export type LeaseInput = Pick<LeaseRecord, 'name' | 'host' | 'state'> &
  Partial<Omit<LeaseRecord, 'name' | 'host' | 'state'>>;

export interface LeaseHop {
  id: string;
  leaseName: string;
  jobId: string;
  at: number;
  reason: string | null;
}

function fromRow(r: Selectable<LeasesTable>): LeaseRecord {
  return {
    name: r.name,
    host: r.host,
    jobId: r.job_id,
    state: r.state,
    spec: fromJson(r.spec),
    extra: fromJson(r.extra),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

function toRow(l: LeaseInput, now: number): Insertable<LeasesTable> {
  const updatedAt = msRequired(l.updatedAt ?? now, 'lease updatedAt');
  return {
    name: str(l.name, 'lease name', 255),
    host: str(l.host, 'lease host', 255),
    job_id: strOrNull(l.jobId ?? null, 'lease jobId', 64),
    state: str(l.state, 'lease state', 32),
    spec: toJson(l.spec),
    extra: toJson(l.extra),
    created_at: msRequired(l.createdAt ?? updatedAt, 'lease createdAt'),
    updated_at: updatedAt,
  };
}

/** Insert or replace a lease record (createdAt is kept from the first insert). */
export async function putLease(db: Kysely<Database>, lease: LeaseInput): Promise<LeaseRecord> {
  const row = toRow(lease, Date.now());
  const { name: _name, created_at: _created, ...set } = row;
  await onConflictUpdate(db.insertInto('leases').values(row), dialectOf(db), 'name', set).execute();
  const stored = await getLease(db, row.name);
  if (!stored) throw new Error(`store: lease ${row.name} vanished right after put`);
  return stored;
}

/** Insert a new lease; ConflictError when a record of that name exists. */
export async function createLease(db: Kysely<Database>, lease: LeaseInput): Promise<LeaseRecord> {
  const row = toRow(lease, Date.now());
  try {
    await db.insertInto('leases').values(row).execute();
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    throw new ConflictError(`a lease named ${row.name} already exists`, {
      hint: `pick another name, or release it first: berth lease release ${row.name}`,
    });
  }
  return fromRow({ ...row, job_id: row.job_id ?? null } as Selectable<LeasesTable>);
}

export async function getLease(
  db: Kysely<Database>,
  name: string,
): Promise<LeaseRecord | undefined> {
  const row = await db.selectFrom('leases').selectAll().where('name', '=', name).executeTakeFirst();
  return row ? fromRow(row) : undefined;
}

/** Leases by name. */
export async function listLeases(
  db: Kysely<Database>,
  opts: { host?: string; state?: string } = {},
): Promise<LeaseRecord[]> {
  let q = db.selectFrom('leases').selectAll();
  if (opts.host !== undefined) q = q.where('host', '=', opts.host);
  if (opts.state !== undefined) q = q.where('state', '=', opts.state);
  const rows = await q.orderBy('name').execute();
  return rows.map(fromRow);
}

/** Delete a lease and its hops; false when there was none. */
export async function deleteLease(db: Kysely<Database>, name: string): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    await trx.deleteFrom('lease_hops').where('lease_name', '=', name).execute();
    const res = await trx.deleteFrom('leases').where('name', '=', name).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  });
}

/** Record that the lease now lives in job `jobId`, and make that its current job. */
export async function addLeaseHop(
  db: Kysely<Database>,
  hop: { leaseName: string; jobId: string; at?: number; reason?: string | null },
): Promise<LeaseHop> {
  const row: Insertable<LeaseHopsTable> = {
    id: ulid(),
    lease_name: str(hop.leaseName, 'hop leaseName', 255),
    job_id: str(hop.jobId, 'hop jobId', 64),
    at: msRequired(hop.at ?? Date.now(), 'hop at'),
    reason: textOrNull(hop.reason ?? null, 'hop reason'),
  };
  await inTransaction(db, async (trx) => {
    const res = await trx
      .updateTable('leases')
      .set({ job_id: row.job_id, updated_at: Date.now() })
      .where('name', '=', row.lease_name)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) {
      throw new NotFoundError(`no lease named ${row.lease_name}`, { hint: 'see berth lease list' });
    }
    await trx.insertInto('lease_hops').values(row).execute();
  });
  return hopFromRow(row as Selectable<LeaseHopsTable>);
}

/** A lease's hops, oldest first. */
export async function listLeaseHops(db: Kysely<Database>, leaseName: string): Promise<LeaseHop[]> {
  const rows = await db
    .selectFrom('lease_hops')
    .selectAll()
    .where('lease_name', '=', leaseName)
    .orderBy('at')
    .orderBy('id')
    .execute();
  return rows.map(hopFromRow);
}

function hopFromRow(r: Selectable<LeaseHopsTable>): LeaseHop {
  return {
    id: r.id,
    leaseName: r.lease_name,
    jobId: r.job_id,
    at: num(r.at),
    reason: r.reason ?? null,
  };
}
