/**
 * The store's tables as kysely sees them (snake_case rows). Domain objects (camelCase,
 * JSON parsed, numbers as numbers) live next to the functions that read and write each
 * table: jobs.ts, events.ts, leases.ts, tokens.ts, kv.ts.
 *
 * Timestamps are epoch milliseconds in `bigint` columns. PostgreSQL returns int8 as a
 * string, so every bigint is typed `number | string` on select and read back with num().
 * JSON payloads are stored as text.
 */
import type { ColumnType } from 'kysely';

/** A bigint column: written as a number, read back as a number or (pg) a string. */
type Millis = ColumnType<number | string, number, number>;
type MillisOrNull = ColumnType<number | string | null, number | null, number | null>;

export interface JobsTable {
  job_key: string;
  host: string;
  scheduler: string;
  scheduler_id: string | null;
  array_id: string | null;
  array_task: number | null;
  name: string | null;
  user_name: string | null;
  command: string | null;
  resources: string;
  state: string;
  exit_code: number | null;
  signal_name: string | null;
  reason: string | null;
  submitted_at: MillisOrNull;
  started_at: MillisOrNull;
  ended_at: MillisOrNull;
  created_at: Millis;
  updated_at: Millis;
  extra: string;
}

export interface EventsTable {
  id: string;
  job_key: string;
  type: string;
  at: Millis;
  data: string;
  received_at: Millis;
}

export interface LeasesTable {
  name: string;
  host: string;
  job_id: string | null;
  state: string;
  spec: string;
  extra: string;
  created_at: Millis;
  updated_at: Millis;
}

export interface LeaseHopsTable {
  id: string;
  lease_name: string;
  job_id: string;
  at: Millis;
  reason: string | null;
}

export interface TokensTable {
  id: string;
  name: string;
  hash: string;
  created_at: Millis;
  revoked_at: MillisOrNull;
  last_used_at: MillisOrNull;
}

export interface KvTable {
  name: string;
  value: string;
  updated_at: Millis;
}

export interface Database {
  jobs: JobsTable;
  events: EventsTable;
  leases: LeasesTable;
  lease_hops: LeaseHopsTable;
  tokens: TokensTable;
  kv: KvTable;
}
