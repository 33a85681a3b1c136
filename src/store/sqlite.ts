/**
 * The embedded store: better-sqlite3 with WAL, a busy timeout, foreign keys and
 * synchronous=NORMAL, behind a kysely dialect adjusted for several processes sharing one
 * file (the CLI, `berth serve`, runs on a login node):
 *
 * - every transaction begins IMMEDIATE: it takes the write lock up front, waiting up to the
 *   busy timeout, instead of failing with SQLITE_BUSY when a read turns into a write while
 *   another process writes (all of berth's transactions write);
 * - migrations run in one such transaction (SQLite's DDL is transactional; kysely's adapter
 *   says otherwise and would run them unlocked), so of several processes opening a new
 *   file at once, one migrates and the others wait and find nothing to do.
 *
 * One Store per file per process: better-sqlite3 is synchronous, so two handles in one
 * process waiting on each other's lock would block the event loop until the busy timeout.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';

export async function sqliteDialect(file: string, busyTimeoutMs: number): Promise<SqliteDialect> {
  const { default: Sqlite } = await import('better-sqlite3');
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const handle = new Sqlite(file, { timeout: busyTimeoutMs });
  try {
    handle.pragma('journal_mode = WAL');
    handle.pragma('synchronous = NORMAL');
    handle.pragma('foreign_keys = ON');
  } catch (err) {
    handle.close();
    throw err;
  }
  return new BerthSqliteDialect({ database: handle });
}

class BerthSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}
