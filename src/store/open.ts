/**
 * openStore(): the one way berth gets a database. SQLite (better-sqlite3, WAL) at the
 * default state path unless BERTH_DB_URL (or `url`) names another SQLite file, a
 * PostgreSQL or a MySQL/MariaDB database. The connection is checked and migrations run
 * before it returns. Drivers are imported lazily so that only the one in use is loaded.
 */
import { join } from 'node:path';
import { CompiledQuery, Kysely, MysqlDialect, PostgresDialect, sql } from 'kysely';
import { defaultDbFile } from '../config/paths.js';
import { redactUrl } from '../config/redact.js';
import { UnreachableError } from '../core/errors.js';
import type { DialectName } from './dialect.js';
import { migrateToLatest } from './migrate.js';
import type { Database } from './schema.js';
import { sqliteDialect } from './sqlite.js';
import { type DbTarget, parseDbUrl } from './url.js';

type Env = Record<string, string | undefined>;

export interface OpenStoreOptions {
  /**
   * Database URL. Absent: env.BERTH_DB_URL. Absent or '' there too (the configuration's
   * resolved `dbUrl` is '' by default): the SQLite file berth.db in the state dir.
   */
  url?: string;
  env?: Env;
  /** State directory holding the default SQLite file (default: stateDir(env)). */
  stateDir?: string;
  /** Resolve relative SQLite paths against this directory (default: process.cwd()). */
  cwd?: string;
  /** Run pending migrations (default true). */
  migrate?: boolean;
  /** How long to wait for a server connection, and SQLite's busy timeout (default 5000 ms). */
  timeoutMs?: number;
}

export interface Store {
  db: Kysely<Database>;
  dialect: DialectName;
  /** Where the store is, safe to print (password redacted). */
  location: string;
  /** Migrations applied by this open (empty when the schema was already current). */
  applied: readonly string[];
  /** Close the connection pool (or SQLite handle). Safe to call twice. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 5_000;

export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  const env = opts.env ?? process.env;
  const url = opts.url ?? (env.BERTH_DB_URL || undefined);
  const target: DbTarget = url
    ? parseDbUrl(url, opts.cwd)
    : {
        dialect: 'sqlite',
        file: opts.stateDir ? join(opts.stateDir, 'berth.db') : defaultDbFile(env),
      };
  const location = target.dialect === 'sqlite' ? `sqlite:${target.file}` : redactUrl(url ?? '');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const db = await connect(target, timeoutMs, location);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await db.destroy();
  };
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await close().catch(() => {});
    throw unreachable(target.dialect, location, err);
  }
  let applied: string[] = [];
  try {
    if (opts.migrate !== false) applied = await migrateToLatest(db);
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  return { db, dialect: target.dialect, location, applied, close };
}

async function connect(
  target: DbTarget,
  timeoutMs: number,
  location: string,
): Promise<Kysely<Database>> {
  switch (target.dialect) {
    case 'sqlite':
      try {
        return new Kysely<Database>({ dialect: await sqliteDialect(target.file, timeoutMs) });
      } catch (err) {
        throw unreachable('sqlite', location, err);
      }
    case 'postgres':
      return new Kysely<Database>({
        dialect: await postgresDialect(target.connectionString, timeoutMs),
      });
    case 'mysql':
      return new Kysely<Database>({ dialect: await mysqlDialect(target, timeoutMs) });
  }
}

async function postgresDialect(
  connectionString: string,
  timeoutMs: number,
): Promise<PostgresDialect> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString,
    connectionTimeoutMillis: timeoutMs,
    idleTimeoutMillis: 10_000,
    max: 10,
    application_name: 'berth',
  });
  // A client losing its server must not crash the process: idle ones are reported on the
  // pool, checked-out ones on the client itself (the query in flight fails on its own and
  // the pool discards the dead client when it is released).
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return new PostgresDialect({ pool });
}

async function mysqlDialect(
  t: Extract<DbTarget, { dialect: 'mysql' }>,
  timeoutMs: number,
): Promise<MysqlDialect> {
  const { default: mysql } = await import('mysql2');
  const pool = mysql.createPool({
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    database: t.database,
    socketPath: t.socketPath,
    ssl: t.ssl ? {} : undefined,
    connectTimeout: t.connectTimeout ?? timeoutMs,
    connectionLimit: 10,
    charset: 'UTF8MB4_BIN',
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
  // Strict mode: a value that does not fit is an error, never silently truncated.
  const strict = CompiledQuery.raw(
    "set session sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO'",
  );
  return new MysqlDialect({
    pool,
    onCreateConnection: async (conn) => {
      await conn.executeQuery(strict);
    },
  });
}

const HINTS: Record<DialectName, string> = {
  sqlite:
    'check that the directory exists and is writable (BERTH_STATE_DIR or the sqlite: path in BERTH_DB_URL)',
  postgres:
    'check that PostgreSQL is running and accepts this user and database (BERTH_DB_URL=postgres://user:password@host:5432/database); unset BERTH_DB_URL to use the embedded SQLite store',
  mysql:
    'check that MySQL/MariaDB is running and accepts this user and database (BERTH_DB_URL=mysql://user:password@host:3306/database, or ?socketPath=/run/mysqld/mysqld.sock); unset BERTH_DB_URL to use the embedded SQLite store',
};

function unreachable(dialect: DialectName, location: string, err: unknown): UnreachableError {
  return new UnreachableError(
    `cannot open the ${dialect} store at ${location}: ${describeError(err)}`,
    {
      hint: HINTS[dialect],
      cause: err,
    },
  );
}

/** A driver error as one line. Node's connect errors can be an AggregateError with no message. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  if (err.message)
    return typeof code === 'string' && !err.message.includes(code)
      ? `${err.message} (${code})`
      : err.message;
  if (err instanceof AggregateError && err.errors.length > 0) return describeError(err.errors[0]);
  return typeof code === 'string' ? code : err.name;
}
