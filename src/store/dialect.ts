/**
 * What differs between the three databases, in one place: which one a Kysely instance
 * talks to, the upsert / insert-ignore clauses, the column type for big text, and how each
 * driver reports a duplicate key.
 */
import {
  type InsertQueryBuilder,
  type Kysely,
  MysqlAdapter,
  PostgresAdapter,
  type RawBuilder,
  SqliteAdapter,
  sql,
  type UpdateObject,
} from 'kysely';

export type DialectName = 'sqlite' | 'postgres' | 'mysql';

/** A Kysely instance over any schema (migrations see the database before and after them). */
// biome-ignore lint/suspicious/noExplicitAny: kysely's own type for schema-agnostic code
export type AnyKysely = Kysely<any>;

/** Which database a Kysely instance (or a transaction of one) talks to. */
export function dialectOf(db: AnyKysely): DialectName {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof MysqlAdapter) return 'mysql';
  if (adapter instanceof PostgresAdapter) return 'postgres';
  if (adapter instanceof SqliteAdapter) return 'sqlite';
  throw new Error(`berth store: unsupported kysely adapter ${adapter.constructor.name}`);
}

/**
 * Column type for payloads (commands, JSON). MySQL's TEXT holds only 64 KB, so MySQL gets
 * LONGTEXT; SQLite and PostgreSQL TEXT are unbounded.
 */
export function bigText(dialect: DialectName): 'text' | RawBuilder<unknown> {
  return dialect === 'mysql' ? sql`longtext` : 'text';
}

/**
 * `insert … on conflict (key) do update` (SQLite, PostgreSQL) or
 * `insert … on duplicate key update` (MySQL): insert the row or overwrite `set` columns.
 */
export function onConflictUpdate<DB, TB extends keyof DB & string, O>(
  qb: InsertQueryBuilder<DB, TB, O>,
  dialect: DialectName,
  key: string,
  set: UpdateObject<DB, TB>,
): InsertQueryBuilder<DB, TB, O> {
  if (dialect === 'mysql') return qb.onDuplicateKeyUpdate(set);
  return qb.onConflict((oc) => oc.column(key as never).doUpdateSet(set as never));
}

/**
 * Insert rows whose primary key is new; skip the others without an error. MySQL uses
 * `insert ignore`, which also downgrades other errors to warnings: callers validate
 * lengths and required values before they get here.
 */
export function onConflictIgnore<DB, TB extends keyof DB & string, O>(
  qb: InsertQueryBuilder<DB, TB, O>,
  dialect: DialectName,
  key: string,
): InsertQueryBuilder<DB, TB, O> {
  if (dialect === 'mysql') return qb.ignore();
  return qb.onConflict((oc) => oc.column(key as never).doNothing());
}

/** True when a driver error is a unique / primary key violation. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  return (
    e.code === '23505' || // PostgreSQL unique_violation
    e.code === 'ER_DUP_ENTRY' || // MySQL / MariaDB
    e.errno === 1062 ||
    e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    e.code === 'SQLITE_CONSTRAINT_UNIQUE'
  );
}

/** True when the database aborted a transaction to break a deadlock: safe to run it again. */
export function isDeadlock(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  return (
    e.code === '40P01' || // PostgreSQL deadlock_detected
    e.code === '40001' || // serialization_failure
    e.code === 'ER_LOCK_DEADLOCK' ||
    e.errno === 1213
  );
}

/** Run `fn` in a transaction: a new one, or the caller's when `db` already is one. */
export function inTransaction<DB, T>(
  db: Kysely<DB>,
  fn: (trx: Kysely<DB>) => Promise<T>,
): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}
