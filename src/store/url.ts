/**
 * BERTH_DB_URL → which database and how to reach it (pure). Accepted forms are listed in
 * DB_URL_FORMS; anything else is a UsageError that shows them. A URL goes into a message
 * only through redactUrl() (config/redact.ts), which hides the password.
 */
import { isAbsolute, resolve } from 'node:path';
import { redactUrl } from '../config/redact.js';
import { UsageError } from '../core/errors.js';

export const DB_URL_FORMS = [
  'sqlite:/path/to/berth.db (also sqlite:///path, sqlite:relative.db, sqlite::memory:)',
  'file:/path/to/berth.db (also file:///path)',
  'postgres://user:password@host:5432/database (or postgresql://; pg options such as ?sslmode=require or ?host=/run/postgresql pass through)',
  'mysql://user:password@host:3306/database (or mariadb://; ?socketPath=/run/mysqld/mysqld.sock, ?ssl=true, ?connectTimeout=MS)',
] as const;

export type DbTarget =
  | { dialect: 'sqlite'; file: string }
  | { dialect: 'postgres'; connectionString: string }
  | {
      dialect: 'mysql';
      host: string;
      port: number;
      user: string;
      password: string | undefined;
      database: string;
      socketPath: string | undefined;
      ssl: boolean;
      connectTimeout: number | undefined;
    };

const MYSQL_PARAMS = ['socketPath', 'ssl', 'connectTimeout'] as const;

/** Parse a database URL. Relative SQLite paths resolve against `cwd`. */
export function parseDbUrl(url: string, cwd: string = process.cwd()): DbTarget {
  const text = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'sqlite' || scheme === 'file') return parseSqlite(text, scheme, cwd);
  if (scheme === 'postgres' || scheme === 'postgresql') {
    parseUrl(text);
    return { dialect: 'postgres', connectionString: text };
  }
  if (scheme === 'mysql' || scheme === 'mariadb') return parseMysql(text);
  return bad(text, scheme ? `unsupported scheme "${scheme}:"` : 'no scheme');
}

function parseSqlite(text: string, scheme: string, cwd: string): DbTarget {
  let rest = text.slice(scheme.length + 1);
  if (rest.startsWith('//')) rest = rest.slice(2); // empty authority: sqlite:///abs, file:///abs
  if (rest.includes('?') || rest.includes('#')) {
    return bad(text, 'query strings are not supported for SQLite');
  }
  if (scheme === 'file') {
    try {
      rest = decodeURIComponent(rest);
    } catch {
      return bad(text, 'bad percent-encoding in the path');
    }
  }
  if (rest === '') return bad(text, 'the SQLite file path is empty');
  if (rest === ':memory:') return { dialect: 'sqlite', file: ':memory:' };
  return { dialect: 'sqlite', file: isAbsolute(rest) ? rest : resolve(cwd, rest) };
}

function parseMysql(text: string): DbTarget {
  const u = parseUrl(text);
  const database = decode(text, u.pathname.replace(/^\//, ''));
  if (!database || database.includes('/')) {
    return bad(text, 'give the database name as the path (mysql://user@host/DATABASE)');
  }
  for (const key of u.searchParams.keys()) {
    if (!(MYSQL_PARAMS as readonly string[]).includes(key)) {
      return bad(
        text,
        `unknown parameter "${key}"; valid parameters are ${MYSQL_PARAMS.join(', ')}`,
      );
    }
  }
  const timeout = u.searchParams.get('connectTimeout');
  if (timeout !== null && !/^\d+$/.test(timeout))
    return bad(text, 'connectTimeout must be milliseconds');
  const ssl = u.searchParams.get('ssl');
  if (ssl !== null && !['true', 'false', '1', '0'].includes(ssl))
    return bad(text, 'ssl must be true or false');
  return {
    dialect: 'mysql',
    host: u.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port: u.port ? Number(u.port) : 3306,
    user: decode(text, u.username) || 'root',
    password: u.password ? decode(text, u.password) : undefined,
    database,
    socketPath: u.searchParams.get('socketPath') ?? undefined,
    ssl: ssl === 'true' || ssl === '1',
    connectTimeout: timeout === null ? undefined : Number(timeout),
  };
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    return bad(text, 'not a valid URL');
  }
}

function decode(text: string, s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return bad(text, 'bad percent-encoding');
  }
}

function bad(text: string, problem: string): never {
  throw new UsageError(`malformed database URL ${redactUrl(text)}: ${problem}`, {
    code: 'E_DB_URL',
    hint: `BERTH_DB_URL accepts:\n  ${DB_URL_FORMS.join('\n  ')}\nUnset it to use the embedded SQLite store.`,
  });
}
