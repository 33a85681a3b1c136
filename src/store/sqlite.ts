/**
 * The embedded store: better-sqlite3 with WAL, a busy timeout, foreign keys and
 * synchronous=NORMAL, behind a kysely dialect adjusted for several processes sharing one
 * file (the CLI, `berth serve`, runs on a login node):
 *
 * - every transaction begins IMMEDIATE: it takes the write lock up front, waiting up to the
 *   busy timeout, instead of failing with SQLITE_BUSY when a read turns into a write while
 *   another process writes (all of berth's transactions write);
 * - opening asks again while SQLite answers SQLITE_BUSY without waiting (retryWhileBusy);
 * - migrations run in one such transaction (SQLite's DDL is transactional; kysely's adapter
 *   says otherwise and would run them unlocked), so of several processes opening a new
 *   file at once, one migrates and the others wait and find nothing to do.
 *
 * One Store per file per process: better-sqlite3 is synchronous, so two handles in one
 * process waiting on each other's lock would block the event loop until the busy timeout.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
  const handle = await retryWhileBusy(() => {
    const h = new Sqlite(file, { timeout: busyTimeoutMs });
    try {
      h.pragma('journal_mode = WAL');
      h.pragma('synchronous = NORMAL');
      h.pragma('foreign_keys = ON');
      // A first read joins the WAL's shared memory now, inside the retry: once this
      // handle holds it, no other connection is "the last one" cleaning up under it.
      h.prepare('select count(*) from sqlite_master').get();
      return h;
    } catch (err) {
      h.close();
      throw err;
    }
  }, busyTimeoutMs);
  return new BerthSqliteDialect({ database: handle });
}

/**
 * Switching a new file to WAL needs an exclusive lock, and SQLite answers SQLITE_BUSY at
 * once, without waiting on the busy timeout, when that would deadlock: two processes
 * creating the file at the same moment each hold a read lock and want the exclusive one.
 * The same immediate answer comes while the last connection of a WAL file cleans up on
 * close. Nothing has been written then: try again, a little later, until the timeout.
 */
export async function retryWhileBusy<T>(open: () => T, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return open();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const busy = typeof code === 'string' && code.startsWith('SQLITE_BUSY');
      if (!busy || Date.now() >= deadline) throw err;
      const wait = Math.min(200, 10 * 2 ** attempt) * (0.5 + Math.random());
      await sleep(Math.max(1, Math.min(wait, deadline - Date.now())));
    }
  }
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
