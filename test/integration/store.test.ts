/**
 * One store suite, run against SQLite (a temp file), PostgreSQL and MariaDB/MySQL.
 *
 * The servers are found through BERTH_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 * and BERTH_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/mysql): an account that may
 * create databases. Each run creates fresh databases named berth_test_<random> and drops
 * them at the end. A server that cannot be reached fails the suite; it is never skipped.
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConflictError,
  NotFoundError,
  UnreachableError,
  UsageError,
} from '../../src/core/errors.js';
import {
  addLeaseHop,
  countEvents,
  createLease,
  createToken,
  deleteLease,
  type EventInput,
  findTokenByHash,
  getEvent,
  getJob,
  getJobBySchedulerId,
  getLease,
  hashToken,
  insertEvents,
  type JobRecord,
  kvDelete,
  kvGet,
  kvSet,
  listEvents,
  listJobs,
  listLeaseHops,
  listLeases,
  listTokens,
  migrateToLatest,
  migrationStatus,
  migrations,
  openStore,
  patchJob,
  putLease,
  revokeToken,
  type Store,
  touchToken,
  upsertJob,
} from '../../src/store/index.js';
import { parseDbUrl } from '../../src/store/url.js';
import { runTogether } from '../helpers/together.js';

const repo = join(import.meta.dirname, '..', '..');
const PG_ADMIN_URL = process.env.BERTH_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const MYSQL_ADMIN_URL = process.env.BERTH_TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/mysql';
const ALL_MIGRATIONS = Object.keys(migrations);

/** Open TCP and unix sockets of this process (the test worker's own IPC pipe included). */
const sockets = () =>
  process
    .getActiveResourcesInfo()
    .filter((r) => r === 'TCPSocketWrap' || r === 'PipeWrap')
    .sort();
const SOCKETS_AT_START = sockets();

/** A database server the suite can make fresh databases on. */
interface Server {
  name: 'sqlite' | 'postgres' | 'mysql';
  /** A URL for a new, empty database. */
  create(): Promise<string>;
  /** Drop everything create() made. */
  dropAll(): Promise<void>;
}

function dbName(): string {
  return `berth_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

function withDatabase(adminUrl: string, name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

function sqliteServer(): Server {
  const dir = mkdtempSync(join(tmpdir(), 'berth-store-'));
  let n = 0;
  return {
    name: 'sqlite',
    create: async () => `sqlite:${join(dir, `db${++n}`, 'berth.db')}`,
    dropAll: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function postgresServer(): Server {
  const made: string[] = [];
  const admin = async <T>(
    fn: (q: (text: string) => Promise<unknown>) => Promise<T>,
  ): Promise<T> => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
    } catch (err) {
      throw new Error(
        `PostgreSQL is not reachable at ${PG_ADMIN_URL} (set BERTH_TEST_PG_URL): ${err}`,
      );
    }
    try {
      return await fn((text) => client.query(text));
    } finally {
      await client.end();
    }
  };
  return {
    name: 'postgres',
    create: async () => {
      const name = dbName();
      await admin((q) => q(`create database ${name}`));
      made.push(name);
      return withDatabase(PG_ADMIN_URL, name);
    },
    dropAll: async () => {
      if (made.length === 0) return;
      await admin(async (q) => {
        for (const name of made.splice(0)) await q(`drop database if exists ${name} with (force)`);
      });
    },
  };
}

function mysqlServer(): Server {
  const made: string[] = [];
  const admin = async <T>(
    fn: (q: (text: string) => Promise<unknown>) => Promise<T>,
  ): Promise<T> => {
    const t = parseDbUrl(MYSQL_ADMIN_URL);
    if (t.dialect !== 'mysql') throw new Error(`BERTH_TEST_MYSQL_URL must be a mysql:// URL`);
    const { default: mysql } = await import('mysql2/promise');
    let conn: Awaited<ReturnType<typeof mysql.createConnection>>;
    try {
      conn = await mysql.createConnection({
        host: t.host,
        port: t.port,
        user: t.user,
        password: t.password,
        database: t.database,
        socketPath: t.socketPath,
        connectTimeout: 5000,
      });
    } catch (err) {
      throw new Error(
        `MySQL/MariaDB is not reachable at ${MYSQL_ADMIN_URL} (set BERTH_TEST_MYSQL_URL): ${err}`,
      );
    }
    try {
      return await fn((text) => conn.query(text));
    } finally {
      await conn.end();
    }
  };
  return {
    name: 'mysql',
    create: async () => {
      const name = dbName();
      await admin((q) => q(`create database ${name} character set utf8mb4 collate utf8mb4_bin`));
      made.push(name);
      return withDatabase(MYSQL_ADMIN_URL, name);
    },
    dropAll: async () => {
      if (made.length === 0) return;
      await admin(async (q) => {
        for (const name of made.splice(0)) await q(`drop database if exists ${name}`);
      });
    },
  };
}

/** `openStore` in N separate node processes that all start at the same instant. */
function openInProcesses(url: string, n: number): Promise<string[][]> {
  const code = `
    const { openStore } = await import(${JSON.stringify(join(repo, 'src/store/index.ts'))});
    process.stdout.write('ready\\n');
    await new Promise((r) => process.stdin.once('data', r));
    process.stdin.destroy();
    const store = await openStore({ url: process.env.URL });
    process.stdout.write(JSON.stringify(store.applied));
    await store.close(); // no process.exit: a leaked pool would keep this process alive
  `;
  return runTogether<string[]>({ code, n, env: { URL: url } });
}

const BIG = {
  note: 'x'.repeat(100_000), // more than MySQL TEXT's 64 KB
  nested: Array.from({ length: 2000 }, (_, i) => ({
    i,
    tag: `t${i}`,
    ok: i % 2 === 0,
    none: null,
  })),
};
const UNICODE =
  'naïve café — 日本語 — עברית — 🚀🧪 — e\u0301 — \u{1F468}\u200D\u{1F469}\u200D\u{1F467}';

function fullJob(key: string, over: Partial<JobRecord> = {}): JobRecord {
  return {
    key,
    host: 'cluster',
    scheduler: 'slurm',
    schedulerId: '123_7',
    arrayId: '123',
    arrayTask: 7,
    name: `train ${UNICODE}`.slice(0, 200),
    user: 'ålice',
    command: `python train.py --msg '${UNICODE}' "$(echo hi)" \\n ; && |`,
    resources: { cpus: 4, mem: '16G', gres: ['gpu:a100:2'], time: '1-00:00:00', ratio: 0.5 },
    state: 'completed',
    exitCode: -1,
    signal: 'SIGKILL',
    reason: `oom ${UNICODE}`,
    submittedAt: 1,
    startedAt: 1_700_000_000_123,
    endedAt: Number.MAX_SAFE_INTEGER,
    createdAt: 1_699_999_999_999,
    updatedAt: 1_700_000_100_000,
    extra: { big: BIG, unicode: UNICODE, deep: { a: { b: { c: [1, 2.5, -3, true, null] } } } },
    ...over,
  };
}

function event(
  jobKey: string,
  type: string,
  at: number,
  data: Record<string, unknown> = {},
): EventInput {
  return { id: ulid(at), jobKey, type, at, data };
}

describe.each([sqliteServer(), postgresServer(), mysqlServer()])('store on $name', (server) => {
  let store: Store;
  let url: string;
  const opened: Store[] = [];
  const open = async (url: string) => {
    const s = await openStore({ url });
    opened.push(s);
    return s;
  };

  beforeAll(async () => {
    url = await server.create();
    store = await open(url);
  });

  afterAll(async () => {
    for (const s of opened) await s.close();
    await server.dropAll();
  });

  describe('migrations', () => {
    it('apply from empty on open', async () => {
      expect(store.dialect).toBe(server.name);
      expect(store.applied).toEqual(ALL_MIGRATIONS);
      const status = await migrationStatus(store.db);
      expect(status.map((m) => m.name)).toEqual(ALL_MIGRATIONS);
      for (const m of status) expect(m.executedAt).toBeGreaterThan(Date.now() - 600_000);
      const tables = (await store.db.introspection.getTables()).map((t) => t.name);
      for (const t of ['jobs', 'events', 'leases', 'lease_hops', 'tokens', 'kv'])
        expect(tables).toContain(t);
    });

    it('are a no-op when run again', async () => {
      expect(await migrateToLatest(store.db)).toEqual([]);
      const again = await open(url);
      expect(again.applied).toEqual([]);
      await again.close();
    });

    it('are safe when four processes open an empty database at once', async () => {
      const fresh = await server.create();
      const results = await openInProcesses(fresh, 4);
      expect(results.filter((a) => a.length > 0)).toEqual([ALL_MIGRATIONS]);
      expect(results.filter((a) => a.length === 0)).toHaveLength(3);
      const s = await open(fresh);
      expect(s.applied).toEqual([]);
      expect((await migrationStatus(s.db)).every((m) => m.executedAt !== null)).toBe(true);
    });
  });

  describe('0003_events_received_at', () => {
    const indexColumns = async (db: Store['db']): Promise<string[]> => {
      if (server.name === 'sqlite') {
        const { rows } = await sql<{
          name: string;
        }>`select name from pragma_index_info('events_received_at_id') order by seqno`.execute(db);
        return rows.map((r) => r.name);
      }
      if (server.name === 'postgres') {
        const { rows } = await sql<{ indexdef: string }>`select indexdef from pg_indexes
          where tablename = 'events' and indexname = 'events_received_at_id'`.execute(db);
        const inner = /\((.*)\)/.exec(rows[0]?.indexdef ?? '')?.[1];
        return inner === undefined ? [] : inner.split(',').map((c) => c.trim().replace(/"/g, ''));
      }
      const { rows } = await sql<{
        Column_name: string;
      }>`show index from events where Key_name = 'events_received_at_id'`.execute(db);
      return rows.map((r) => r.Column_name);
    };

    it('indexes events by (received_at, id), the stream resume order', async () => {
      expect(ALL_MIGRATIONS).toContain('0003_events_received_at');
      expect(await indexColumns(store.db)).toEqual(['received_at', 'id']);
    });

    it('goes down and up again', async () => {
      const fresh = await open(await server.create());
      const m = migrations['0003_events_received_at']!;
      await m.down!(fresh.db);
      expect(await indexColumns(fresh.db)).toEqual([]);
      await m.up(fresh.db);
      expect(await indexColumns(fresh.db)).toEqual(['received_at', 'id']);
    });

    // Only SQLite's planner is predictable on a small table; the others may prefer a scan.
    it.runIf(server.name === 'sqlite')('serves the resume query from the index', async () => {
      const { rows } = await sql<{ detail: string }>`explain query plan
        select * from events where received_at > 5 order by received_at, id`.execute(store.db);
      expect(rows.map((r) => r.detail).join('\n')).toMatch(/USING INDEX events_received_at_id/);
    });
  });

  describe('jobs', () => {
    it('round-trip every field (unicode, big JSON, epoch ms) deep-equal', async () => {
      const job = fullJob(`cluster:${server.name}:1`);
      const stored = await upsertJob(store.db, job);
      expect(stored).toEqual(job);
      expect(await getJob(store.db, job.key)).toEqual(job);
    });

    it('round-trip a minimal job with nulls and defaults', async () => {
      const stored = await upsertJob(store.db, {
        key: 'local:min',
        host: 'local',
        scheduler: 'none',
        state: 'pending',
        updatedAt: 5,
      });
      expect(stored).toEqual({
        key: 'local:min',
        host: 'local',
        scheduler: 'none',
        schedulerId: null,
        arrayId: null,
        arrayTask: null,
        name: null,
        user: null,
        command: null,
        resources: {},
        state: 'pending',
        exitCode: null,
        signal: null,
        reason: null,
        submittedAt: null,
        startedAt: null,
        endedAt: null,
        createdAt: 5,
        updatedAt: 5,
        extra: {},
      });
    });

    it('upsert replaces the row but keeps createdAt; patch changes only what it names', async () => {
      const key = 'cluster:upsert';
      await upsertJob(store.db, fullJob(key, { state: 'pending', createdAt: 100, updatedAt: 100 }));
      const replaced = await upsertJob(store.db, {
        key,
        host: 'cluster',
        scheduler: 'slurm',
        state: 'running',
        schedulerId: '999',
        createdAt: 200,
        updatedAt: 200,
      });
      expect(replaced.createdAt).toBe(100);
      expect(replaced.state).toBe('running');
      expect(replaced.command).toBeNull();
      expect(replaced.extra).toEqual({});

      expect(
        await patchJob(store.db, key, {
          state: 'failed',
          exitCode: 3,
          endedAt: 300,
          updatedAt: 300,
        }),
      ).toBe(true);
      expect(await getJob(store.db, key)).toMatchObject({
        state: 'failed',
        exitCode: 3,
        endedAt: 300,
        updatedAt: 300,
        schedulerId: '999',
        createdAt: 100,
      });
      expect(await patchJob(store.db, 'cluster:none', { state: 'failed' })).toBe(false);
      expect((await getJobBySchedulerId(store.db, 'cluster', '999'))?.key).toBe(key);
      expect(await getJobBySchedulerId(store.db, 'other', '999')).toBeUndefined();
    });

    it('keys are case-sensitive and byte-exact', async () => {
      await upsertJob(store.db, {
        key: 'h:Case',
        host: 'h',
        scheduler: 'local',
        state: 'a',
        updatedAt: 1,
      });
      await upsertJob(store.db, {
        key: 'h:case',
        host: 'h',
        scheduler: 'local',
        state: 'b',
        updatedAt: 1,
      });
      expect((await getJob(store.db, 'h:Case'))?.state).toBe('a');
      expect((await getJob(store.db, 'h:case'))?.state).toBe('b');
    });

    it('list filters by state, host and since, newest first', async () => {
      for (let i = 0; i < 6; i++) {
        await upsertJob(store.db, {
          key: `list:${i}`,
          host: i % 2 ? 'odd' : 'even',
          scheduler: 'slurm',
          state: i < 3 ? 'running' : 'completed',
          updatedAt: 2_000_000_000_000 + i,
        });
      }
      const keys = (jobs: JobRecord[]) => jobs.map((j) => j.key);
      expect(keys(await listJobs(store.db, { host: 'odd' }))).toEqual([
        'list:5',
        'list:3',
        'list:1',
      ]);
      expect(keys(await listJobs(store.db, { state: 'running', host: 'even' }))).toEqual([
        'list:2',
        'list:0',
      ]);
      expect(
        keys(
          await listJobs(store.db, { state: ['running', 'completed'], since: 2_000_000_000_004 }),
        ),
      ).toEqual(['list:5', 'list:4']);
      expect(keys(await listJobs(store.db, { host: 'even', limit: 1, offset: 1 }))).toEqual([
        'list:2',
      ]);
      expect(await listJobs(store.db, { state: [] })).toEqual([]);
    });

    it('list filters by scheduler before the limit', async () => {
      const at = 2_100_000_000_000;
      const jobs: Array<[string, 'slurm' | 'none' | 'local']> = [
        ['sched:a', 'local'],
        ['sched:b', 'slurm'],
        ['sched:c', 'local'],
        ['sched:d', 'none'],
      ];
      for (const [i, [key, scheduler]] of jobs.entries()) {
        await upsertJob(store.db, { key, host: 'sched', scheduler, state: 's', updatedAt: at - i });
      }
      const keys = (rows: JobRecord[]) => rows.map((j) => j.key);
      const dispatched = { host: 'sched', scheduler: ['slurm', 'none'] };
      expect(keys(await listJobs(store.db, { ...dispatched, limit: 2 }))).toEqual([
        'sched:b',
        'sched:d',
      ]);
      expect(keys(await listJobs(store.db, { host: 'sched', scheduler: ['local'] }))).toEqual([
        'sched:a',
        'sched:c',
      ]);
      expect(await listJobs(store.db, { scheduler: [] })).toEqual([]);
    });

    it('refuses values that do not fit, before writing', async () => {
      await expect(
        upsertJob(store.db, { key: 'x'.repeat(256), host: 'h', scheduler: 'slurm', state: 's' }),
      ).rejects.toThrow(UsageError);
      await expect(
        upsertJob(store.db, { key: 'k', host: 'h', scheduler: 'pbs' as 'slurm', state: 's' }),
      ).rejects.toThrow(/scheduler must be one of slurm, none, local/);
      await expect(
        upsertJob(store.db, {
          key: 'k',
          host: 'h',
          scheduler: 'slurm',
          state: 's',
          startedAt: 1.5,
        }),
      ).rejects.toThrow(/epoch milliseconds/);
      expect(await getJob(store.db, 'k')).toBeUndefined();
    });
  });

  describe('events', () => {
    it('insert is idempotent by id and returns how many were new', async () => {
      const base = 1_700_000_000_000;
      const batch = Array.from({ length: 1200 }, (_, i) =>
        event(`idem:${i % 3}`, i % 2 ? 'RUNNING' : 'HEARTBEAT', base + i, { i, text: UNICODE }),
      );
      expect(await insertEvents(store.db, batch)).toBe(1200);
      expect(await insertEvents(store.db, batch)).toBe(0);
      const more = Array.from({ length: 300 }, (_, i) =>
        event('idem:new', 'COMPLETED', base + 5000 + i),
      );
      expect(await insertEvents(store.db, [...batch.slice(0, 600), ...more])).toBe(300);
      const dup = event('idem:dup', 'FAILED', base);
      expect(await insertEvents(store.db, [dup, dup, { ...dup, type: 'CHANGED' }])).toBe(1);
      expect(await countEvents(store.db, { jobKey: 'idem:0' })).toBe(400);
      expect(await countEvents(store.db)).toBe(1501); // every event so far
      expect((await getEvent(store.db, dup.id))?.type).toBe('FAILED'); // a replay never changes a stored event
      expect(await insertEvents(store.db, [])).toBe(0);
    });

    it('concurrent overlapping batches, in any order, store each event once', async () => {
      const batch = Array.from({ length: 400 }, (_, i) =>
        event('conc', 'HEARTBEAT', 1_800_000_000_000 + i),
      );
      const shuffled = [...batch].sort(() => Math.random() - 0.5);
      const counts = await Promise.all([
        insertEvents(store.db, batch),
        insertEvents(store.db, [...batch].reverse()),
        insertEvents(store.db, shuffled),
        insertEvents(store.db, shuffled.slice(0, 200)),
      ]);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(400);
      expect(await countEvents(store.db, { jobKey: 'conc' })).toBe(400);
    });

    it("work inside the caller's transaction, and roll back with it", async () => {
      const e1 = event('trx:1', 'RUNNING', 100);
      await store.db.transaction().execute(async (trx) => {
        expect(await insertEvents(trx, [e1])).toBe(1);
        await upsertJob(trx, {
          key: 'trx:1',
          host: 'h',
          scheduler: 'slurm',
          state: 'running',
          updatedAt: 100,
        });
      });
      expect(await countEvents(store.db, { jobKey: 'trx:1' })).toBe(1);
      expect((await getJob(store.db, 'trx:1'))?.state).toBe('running');

      const e2 = event('trx:1', 'COMPLETED', 200);
      await expect(
        store.db.transaction().execute(async (trx) => {
          await insertEvents(trx, [e2]);
          await patchJob(trx, 'trx:1', { state: 'completed', updatedAt: 200 });
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await getEvent(store.db, e2.id)).toBeUndefined();
      expect((await getJob(store.db, 'trx:1'))?.state).toBe('running');
    });

    it('round-trip deep-equal, with big JSON data', async () => {
      const e = {
        ...event('rt', 'SUBMITTED', 1_700_000_000_001, { big: BIG, u: UNICODE }),
        receivedAt: 42,
      };
      await insertEvents(store.db, [e]);
      expect(await getEvent(store.db, e.id)).toEqual(e);
    });

    it('a batch with one bad event writes nothing', async () => {
      const good = event('bad-batch', 'RUNNING', 7);
      await expect(
        insertEvents(store.db, [good, { ...event('bad-batch', 'RUNNING', 8), id: 'not-a-ulid' }]),
      ).rejects.toThrow(/must be a ULID/);
      await expect(
        insertEvents(store.db, [good, { ...event('bad-batch', 'x'.repeat(65), 9) }]),
      ).rejects.toThrow(/longer than 64/);
      expect(await countEvents(store.db, { jobKey: 'bad-batch' })).toBe(0);
    });

    it('list filters by job, time and types, in time order', async () => {
      const evs = [
        event('lst:a', 'SUBMITTED', 1000),
        event('lst:a', 'RUNNING', 2000),
        event('lst:a', 'HEARTBEAT', 3000),
        event('lst:a', 'COMPLETED', 4000),
        event('lst:b', 'RUNNING', 2500),
      ];
      await insertEvents(store.db, [...evs].reverse());
      const types = (es: { type: string }[]) => es.map((e) => e.type);
      expect(types(await listEvents(store.db, { jobKey: 'lst:a' }))).toEqual([
        'SUBMITTED',
        'RUNNING',
        'HEARTBEAT',
        'COMPLETED',
      ]);
      expect(
        types(await listEvents(store.db, { jobKey: 'lst:a', since: 2000, until: 4000 })),
      ).toEqual(['RUNNING', 'HEARTBEAT']);
      expect(
        types(await listEvents(store.db, { jobKey: 'lst:a', types: ['COMPLETED', 'SUBMITTED'] })),
      ).toEqual(['SUBMITTED', 'COMPLETED']);
      expect(
        types(await listEvents(store.db, { jobKey: 'lst:a', order: 'desc', limit: 2 })),
      ).toEqual(['COMPLETED', 'HEARTBEAT']);
      const running = await listEvents(store.db, { types: ['RUNNING'], since: 1000, until: 3000 });
      expect(running.map((e) => e.jobKey)).toEqual(['lst:a', 'lst:b']);
      expect(await listEvents(store.db, { types: [] })).toEqual([]);

      // Same instant: ties are broken by id (ULID creation order).
      const t = [event('tie', 'A', 9000), event('tie', 'B', 9000), event('tie', 'C', 9000)].sort(
        (x, y) => (x.id < y.id ? -1 : 1),
      );
      await insertEvents(store.db, [t[2]!, t[0]!, t[1]!]);
      expect((await listEvents(store.db, { jobKey: 'tie' })).map((e) => e.id)).toEqual(
        t.map((e) => e.id),
      );
    });
  });

  describe('leases', () => {
    it('create, conflict, put, hops, list and delete', async () => {
      const created = await createLease(store.db, {
        name: 'gpu-1',
        host: 'cluster',
        jobId: '500',
        state: 'pending',
        spec: { cpus: 8, persistent: true, lead: '10m', tmux: true, note: UNICODE },
        extra: { holdScript: '/home/u/.berth/leases/gpu-1/hold.sh' },
        createdAt: 1000,
        updatedAt: 1000,
      });
      expect(await getLease(store.db, 'gpu-1')).toEqual(created);
      await expect(
        createLease(store.db, { name: 'gpu-1', host: 'x', state: 'pending' }),
      ).rejects.toThrow(ConflictError);

      const put = await putLease(store.db, {
        ...created,
        state: 'running',
        createdAt: 9999,
        updatedAt: 2000,
      });
      expect(put).toEqual({ ...created, state: 'running', updatedAt: 2000 });

      await addLeaseHop(store.db, { leaseName: 'gpu-1', jobId: '500', at: 1000, reason: 'booked' });
      const hop = await addLeaseHop(store.db, {
        leaseName: 'gpu-1',
        jobId: '501',
        at: 5000,
        reason: 'resubmit',
      });
      expect(hop).toMatchObject({ leaseName: 'gpu-1', jobId: '501', at: 5000, reason: 'resubmit' });
      expect((await getLease(store.db, 'gpu-1'))?.jobId).toBe('501');
      expect(await listLeaseHops(store.db, 'gpu-1')).toEqual([
        { id: expect.any(String), leaseName: 'gpu-1', jobId: '500', at: 1000, reason: 'booked' },
        hop,
      ]);
      await expect(addLeaseHop(store.db, { leaseName: 'nope', jobId: '1' })).rejects.toThrow(
        NotFoundError,
      );

      await putLease(store.db, { name: 'cpu-1', host: 'other', state: 'running' });
      expect((await listLeases(store.db)).map((l) => l.name)).toEqual(['cpu-1', 'gpu-1']);
      expect((await listLeases(store.db, { host: 'cluster' })).map((l) => l.name)).toEqual([
        'gpu-1',
      ]);
      expect(
        (await listLeases(store.db, { state: 'running', host: 'other' })).map((l) => l.name),
      ).toEqual(['cpu-1']);

      expect(await deleteLease(store.db, 'gpu-1')).toBe(true);
      expect(await deleteLease(store.db, 'gpu-1')).toBe(false);
      expect(await getLease(store.db, 'gpu-1')).toBeUndefined();
      expect(await listLeaseHops(store.db, 'gpu-1')).toEqual([]);
    });
  });

  describe('tokens', () => {
    it('create, find by hash, list, revoke, touch', async () => {
      const hash = hashToken('berth_secret-one');
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      const t = await createToken(store.db, { name: 'ci', hash, createdAt: 10 });
      expect(await findTokenByHash(store.db, hash)).toEqual(t);
      expect(t).toMatchObject({ name: 'ci', revokedAt: null, lastUsedAt: null, createdAt: 10 });
      await expect(createToken(store.db, { name: 'again', hash })).rejects.toThrow(ConflictError);
      const other = await createToken(store.db, {
        name: 'laptop',
        hash: hashToken('two'),
        createdAt: 20,
      });

      await touchToken(store.db, t.id, 15);
      expect((await findTokenByHash(store.db, hash))?.lastUsedAt).toBe(15);
      expect((await listTokens(store.db)).map((x) => x.name)).toEqual(['ci', 'laptop']);

      expect(await revokeToken(store.db, 'ci', 30)).toBe(1);
      expect(await revokeToken(store.db, 'ci', 31)).toBe(0);
      expect((await findTokenByHash(store.db, hash))?.revokedAt).toBe(30);
      expect((await listTokens(store.db)).map((x) => x.name)).toEqual(['laptop']);
      expect((await listTokens(store.db, { includeRevoked: true })).map((x) => x.name)).toEqual([
        'ci',
        'laptop',
      ]);
      expect(await revokeToken(store.db, other.id)).toBe(1);
      expect(await findTokenByHash(store.db, hashToken('unknown'))).toBeUndefined();
    });
  });

  describe('kv', () => {
    it('get, set, overwrite, delete', async () => {
      expect(await kvGet(store.db, 'cursor')).toBeUndefined();
      await kvSet(store.db, 'cursor', UNICODE);
      expect(await kvGet(store.db, 'cursor')).toBe(UNICODE);
      const big = JSON.stringify(BIG);
      await kvSet(store.db, 'cursor', big);
      expect(await kvGet(store.db, 'cursor')).toBe(big);
      expect(await kvDelete(store.db, 'cursor')).toBe(true);
      expect(await kvDelete(store.db, 'cursor')).toBe(false);
      expect(await kvGet(store.db, 'cursor')).toBeUndefined();
    });
  });

  it('refuses a database migrated by a newer berth', async () => {
    const row = { name: '9999_from_the_future', timestamp: new Date().toISOString() };
    await sql`insert into berth_migration (name, timestamp) values (${row.name}, ${row.timestamp})`.execute(
      store.db,
    );
    try {
      const err = await openStore({ url }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'E_STORE_SCHEMA_NEWER',
        hint: expect.stringMatching(/upgrade berth/),
      });
    } finally {
      await sql`delete from berth_migration where name = ${row.name}`.execute(store.db);
    }
  });

  it('reads bigints back as numbers, whatever the driver returns', async () => {
    const { rows } = await sql<{
      v: unknown;
    }>`select updated_at as v from jobs where job_key = 'local:min'`.execute(store.db);
    expect(Number(rows[0]?.v)).toBe(5); // pg gives '5'; the repository layer turns it into 5
    expect((await getJob(store.db, 'local:min'))?.updatedAt).toBe(5);
  });
});

describe('opening', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-store-open-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to SQLite in the state dir, with WAL, foreign keys and a busy timeout', async () => {
    const stateDir = join(dir, 'state', 'berth');
    const store = await openStore({ env: { BERTH_STATE_DIR: stateDir } });
    try {
      expect(store.dialect).toBe('sqlite');
      expect(store.location).toBe(`sqlite:${join(stateDir, 'berth.db')}`);
      const pragma = async (name: string) =>
        Object.values(
          (await sql.raw<Record<string, unknown>>(`pragma ${name}`).execute(store.db)).rows[0] ??
            {},
        )[0];
      expect(await pragma('journal_mode')).toBe('wal');
      expect(await pragma('foreign_keys')).toBe(1);
      expect(await pragma('busy_timeout')).toBe(5000);
      expect(await pragma('synchronous')).toBe(1); // NORMAL
    } finally {
      await store.close();
      await store.close(); // twice is fine
    }
  });

  it('prefers the url option, then BERTH_DB_URL', async () => {
    const fromEnv = await openStore({ env: { BERTH_DB_URL: `sqlite:${join(dir, 'env.db')}` } });
    expect(fromEnv.location).toBe(`sqlite:${join(dir, 'env.db')}`);
    await fromEnv.close();
    const fromOpt = await openStore({
      url: `file://${join(dir, 'opt.db')}`,
      env: { BERTH_DB_URL: 'postgres://nowhere.invalid/db' },
    });
    expect(fromOpt.location).toBe(`sqlite:${join(dir, 'opt.db')}`);
    await fromOpt.close();
    const empty = await openStore({
      url: '',
      stateDir: join(dir, 'sd'),
      env: { BERTH_DB_URL: 'x' },
    });
    expect(empty.location).toBe(`sqlite:${join(dir, 'sd', 'berth.db')}`);
    await empty.close();
  });

  it('refuses a malformed URL with UsageError listing the accepted forms', async () => {
    for (const url of ['redis://localhost/0', 'mysql://root:hunter2@localhost', 'nonsense']) {
      const err = await openStore({ url }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).message).not.toContain('hunter2');
      expect((err as UsageError).hint).toMatch(/mysql:\/\/user:password@host:3306\/database/);
    }
  });

  const unreachable: [string, string][] = [
    ['postgres on a closed port', 'postgres://berth:hunter2@127.0.0.1:1/berth'],
    ['mysql on a closed port', 'mysql://berth:hunter2@127.0.0.1:1/berth'],
    [
      'mysql on a missing socket',
      `mysql://root@localhost/berth?socketPath=${encodeURIComponent(join(tmpdir(), 'no.sock'))}`,
    ],
    ['postgres with an unknown database', `${withDatabase(PG_ADMIN_URL, 'berth_no_such_db')}`],
  ];
  it.each(unreachable)('%s → UnreachableError quickly, password hidden', async (_what, url) => {
    const t0 = Date.now();
    const err = await openStore({ url, timeoutMs: 3000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    const e = err as UnreachableError;
    expect(e.message).not.toContain('hunter2');
    expect(e.message).toMatch(/cannot open the (postgres|mysql) store at/);
    expect(e.hint).toMatch(/BERTH_DB_URL/);
    // Fails rather than hangs or retries; loose, as a loaded machine can stall seconds.
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it.each(['postgres', 'mysql'])(
    '%s on a server that accepts but never answers → UnreachableError after the connect timeout',
    async (scheme) => {
      const accepted: Socket[] = [];
      const silent = createServer((sock) => accepted.push(sock));
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const { port } = silent.address() as AddressInfo;
      try {
        const t0 = Date.now();
        const url = `${scheme}://berth:hunter2@127.0.0.1:${port}/berth`;
        const err = await openStore({ url, timeoutMs: 1000 }).catch((e: unknown) => e);
        const elapsed = Date.now() - t0;
        expect(err).toBeInstanceOf(UnreachableError);
        expect((err as UnreachableError).message).not.toContain('hunter2');
        expect(accepted.length).toBeGreaterThan(0);
        expect(elapsed).toBeGreaterThanOrEqual(900);
        // After our 1 s timeout, not the driver's own (mysql2: 10 s; pg: none); loose, as a
        // loaded machine can stall seconds.
        expect(elapsed).toBeLessThan(8000);
      } finally {
        for (const sock of accepted) sock.destroy();
        await new Promise((r) => silent.close(r));
      }
    },
  );

  it('a SQLite path that cannot be created → UnreachableError', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const err = await openStore({ url: `sqlite:${join(file, 'berth.db')}` }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as UnreachableError).hint).toMatch(/writable/);
  });
});

describe('mysql over its unix socket', () => {
  const server = mysqlServer();
  const socket = process.env.BERTH_TEST_MYSQL_SOCKET || '/run/mysqld/mysqld.sock';
  afterAll(() => server.dropAll());

  it('connects with ?socketPath= and round-trips a job', async () => {
    const name = new URL(await server.create()).pathname.slice(1);
    const url = `mysql://root@localhost/${name}?socketPath=${encodeURIComponent(socket)}`;
    const store = await openStore({ url });
    try {
      expect(store.applied).toEqual(ALL_MIGRATIONS);
      const job = fullJob('socket:1');
      expect(await upsertJob(store.db, job)).toEqual(job);
    } finally {
      await store.close();
    }
  });
});

describe('no leaks', () => {
  it('leaves no sockets open once every store is closed', async () => {
    // Runs last: each suite above closed its stores and admin connections in its afterAll.
    await new Promise((r) => setTimeout(r, 100));
    expect(sockets()).toEqual(SOCKETS_AT_START);
  });
});
