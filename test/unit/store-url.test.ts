import { describe, expect, it } from 'vitest';
import { EXIT, UsageError } from '../../src/core/errors.js';
import { parseDbUrl } from '../../src/store/url.js';

describe('parseDbUrl', () => {
  it.each([
    ['sqlite:/var/lib/berth.db', '/var/lib/berth.db'],
    ['sqlite:///var/lib/berth.db', '/var/lib/berth.db'],
    ['sqlite:rel/berth.db', '/work/rel/berth.db'],
    ['sqlite://rel.db', '/work/rel.db'],
    ['SQLITE:/x.db', '/x.db'],
    ['file:/tmp/a.db', '/tmp/a.db'],
    ['file:///tmp/a%20b.db', '/tmp/a b.db'],
    ['sqlite::memory:', ':memory:'],
  ])('%s is the SQLite file %s', (url, file) => {
    expect(parseDbUrl(url, '/work')).toEqual({ dialect: 'sqlite', file });
  });

  it('passes postgres URLs through to pg', () => {
    for (const url of [
      'postgres://u:p@db.example:5433/berth?sslmode=require',
      'postgresql://localhost/berth',
      'postgres:///berth?host=/run/postgresql',
    ]) {
      expect(parseDbUrl(url)).toEqual({ dialect: 'postgres', connectionString: url });
    }
  });

  it('splits mysql URLs, decoding user and password', () => {
    expect(parseDbUrl('mysql://ro%40t:p%3Ass@db.example:3307/berth_db')).toEqual({
      dialect: 'mysql',
      host: 'db.example',
      port: 3307,
      user: 'ro@t',
      password: 'p:ss',
      database: 'berth_db',
      socketPath: undefined,
      ssl: false,
      connectTimeout: undefined,
    });
  });

  it('reads socketPath, ssl and connectTimeout for mariadb://', () => {
    expect(
      parseDbUrl(
        'mariadb://root@localhost/b?socketPath=/run/mysqld/mysqld.sock&ssl=true&connectTimeout=900',
      ),
    ).toMatchObject({
      dialect: 'mysql',
      host: 'localhost',
      port: 3306,
      user: 'root',
      password: undefined,
      database: 'b',
      socketPath: '/run/mysqld/mysqld.sock',
      ssl: true,
      connectTimeout: 900,
    });
  });

  it.each([
    ['redis://h/0', /unsupported scheme "redis:"/],
    ['/var/lib/berth.db', /no scheme/],
    ['berth.db', /no scheme/],
    ['sqlite:', /path is empty/],
    ['sqlite:/x.db?mode=ro', /query strings/],
    ['mysql://root:hunter2@h', /database name/],
    [
      'mysql://root:hunter2@h/db?pool=3',
      /unknown parameter "pool"; valid parameters are socketPath/,
    ],
    ['mysql://h/db?connectTimeout=soon', /connectTimeout/],
    ['postgres://root:hunter2@[bad/db', /not a valid URL/],
  ])('refuses %s', (url, message) => {
    try {
      parseDbUrl(url);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      const err = e as UsageError;
      expect(err.exitCode).toBe(EXIT.usage);
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain('hunter2');
      expect(err.hint).toContain('postgres://user:password@host:5432/database');
      expect(err.hint).toContain('sqlite:/path/to/berth.db');
    }
  });
});
