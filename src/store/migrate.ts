/**
 * Migrations run on open: kysely's Migrator over the in-code list in migrations/index.ts.
 * Two processes opening at once are safe: kysely takes a lock before it reads which
 * migrations ran (pg_advisory_lock on PostgreSQL, GET_LOCK on MySQL) and, on SQLite, our
 * driver begins every transaction IMMEDIATE, so the second process waits for the first
 * one's write lock and then finds nothing left to do.
 */
import { type MigrationResultSet, Migrator } from 'kysely';
import { BerthError, EXIT } from '../core/errors.js';
import type { AnyKysely } from './dialect.js';
import { migrations } from './migrations/index.js';

export const MIGRATION_TABLE = 'berth_migration';
export const MIGRATION_LOCK_TABLE = 'berth_migration_lock';

export function migrator(db: AnyKysely): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
}

/** Apply every pending migration; returns the names applied now (empty when up to date). */
export async function migrateToLatest(db: AnyKysely): Promise<string[]> {
  const result = await migrator(db).migrateToLatest();
  return check(result);
}

export interface MigrationState {
  name: string;
  /** Epoch ms when it was applied, or null when pending. */
  executedAt: number | null;
}

/** Every known migration and whether it has been applied. */
export async function migrationStatus(db: AnyKysely): Promise<MigrationState[]> {
  const infos = await migrator(db).getMigrations();
  return infos.map((m) => ({ name: m.name, executedAt: m.executedAt?.getTime() ?? null }));
}

function check(result: MigrationResultSet): string[] {
  if (result.error === undefined) {
    return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }
  const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
  const message = errorMessage(result.error);
  if (/previously executed migration .* is missing/i.test(message)) {
    throw new BerthError('E_STORE_SCHEMA_NEWER', EXIT.conflict, `store: ${message}`, {
      hint: 'the database was migrated by a newer berth; upgrade berth or point BERTH_DB_URL elsewhere',
      cause: result.error,
    });
  }
  const where = failed ? `migration ${failed} failed` : 'migrations failed';
  throw new BerthError('E_STORE_MIGRATION', EXIT.internal, `store: ${where}: ${message}`, {
    hint: 'SQLite and PostgreSQL roll the whole run back; MySQL keeps the migrations before the failing one. Fix the cause and open the store again',
    cause: result.error,
  });
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
