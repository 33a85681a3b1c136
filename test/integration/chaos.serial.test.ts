/**
 * Chaos: 10,000 events from 50 concurrent `berth run` processes delivered through the API
 * (`berth serve` as its own process, PostgreSQL store) while the server is `kill -9`ed twice
 * and the database is stopped once; then `berth events flush` replays the outboxes. The
 * store must end with exactly 10,000 distinct events, 200 per run, and every job completed.
 *
 * Each run is `berth run --no-db --job-key chaos:N -- cat` (the HTTP sink only, through
 * BERTH_API_URL / BERTH_API_TOKEN). Its 200 events are exact, not timed: RUNNING, then 99
 * SIGTSTP/SIGCONT pairs sent by the test (PAUSED, RESUMED; each signal is sent only after
 * the previous event is in the outbox, so none is merged), then closing its stdin ends `cat`
 * (COMPLETED). Heartbeats would make the count depend on timing.
 *
 * Timeline: the server is killed (-9) and restarted; the database is stopped for 4 s (the
 * server answers 503, the runs retry); the server is killed again and stays down until every
 * run has exited, so part of the events wait in the outboxes; it is restarted and
 * `berth events flush` delivers them. Every server must die only by our hand.
 *
 * The database is "stopped" without touching the PostgreSQL service other tests use:
 * `ALTER DATABASE … ALLOW_CONNECTIONS false` and every backend of that database terminated,
 * then allowed again. Needs dist/ built (npx tsc -p tsconfig.build.json) and PostgreSQL at
 * BERTH_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const PG_ADMIN_URL = process.env.BERTH_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const RUNS = 50;
const PAIRS = 99; // RUNNING + 99 × (PAUSED, RESUMED) + COMPLETED = 200 events per run
const PER_RUN = 2 + 2 * PAIRS;
const PACE_MS = 100;

let dir: string;
let dbName: string;
let dbUrl: string;

async function admin<T>(
  fn: (q: (text: string) => Promise<{ rows: Record<string, unknown>[] }>) => Promise<T>,
): Promise<T> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn((text) => client.query(text));
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-chaos-'));
  dbName = `berth_chaos_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await admin((q) => q(`create database ${dbName}`));
  dbUrl = withDatabase(PG_ADMIN_URL, dbName);
});

afterAll(async () => {
  await admin((q) => q(`drop database if exists ${dbName} with (force)`));
  rmSync(dir, { recursive: true, force: true });
});

/** The built CLI (npx tsc -p tsconfig.build.json first). */
function berthEntry(): string {
  return join(root, 'bin', 'berth.js');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(15);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Lines in a growing file, reading only what was appended since the last call. */
const seen = new Map<string, { offset: number; lines: number }>();
function lines(file: string): number {
  const state = seen.get(file) ?? { offset: 0, lines: 0 };
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return 0;
  }
  try {
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, state.offset);
      if (n === 0) break;
      for (let i = 0; i < n; i++) if (buf[i] === 0x0a) state.lines++;
      state.offset += n;
    }
  } finally {
    closeSync(fd);
  }
  seen.set(file, state);
  return state.lines;
}

interface Proc {
  proc: ChildProcess;
  exited: Promise<number | null>;
  out: () => string;
  err: () => string;
}

function start(args: string[], env: NodeJS.ProcessEnv, stdin: 'pipe' | 'ignore' = 'ignore'): Proc {
  const proc = spawn(process.execPath, [berthEntry(), ...args], {
    env,
    cwd: dir,
    stdio: [stdin, 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  return { proc, exited, out: () => out, err: () => err };
}

describe('chaos: 50 runs, the API server killed twice, the database stopped once', () => {
  it('ends with exactly 10,000 distinct events in the store', { timeout: 300_000 }, async () => {
    const outboxDir = join(dir, 'outbox');
    mkdirSync(outboxDir, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: join(dir, 'home'),
      XDG_CONFIG_HOME: join(dir, 'config'),
      BERTH_STATE_DIR: join(dir, 'state'),
      BERTH_DB_URL: dbUrl,
      BERTH_OUTBOX_DIR: outboxDir,
      NO_COLOR: '1',
    };
    const made = spawnSync(process.execPath, [berthEntry(), 'token', 'create', 'chaos', '--json'], {
      env,
      cwd: dir,
      encoding: 'utf8',
    });
    expect(made.status, made.stderr).toBe(0);
    const secret = JSON.parse(made.stdout).secret as string;
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const apiEnv = { ...env, BERTH_API_URL: url, BERTH_API_TOKEN: secret };

    const servers: Proc[] = [];
    const startApi = async () => {
      const s = start(['serve', '--json', '--port', String(port)], env);
      servers.push(s);
      await until(
        'berth serve to listen',
        () => s.out().includes('"listening"') || s.proc.exitCode !== null,
        30_000,
      );
      if (s.proc.exitCode !== null) throw new Error(`berth serve exited: ${s.err()}`);
      return s;
    };
    let api = await startApi();

    const t0 = Date.now();
    const since = () => ((Date.now() - t0) / 1000).toFixed(1);
    const log: string[] = [];
    /** Was the server still up each time before we killed it (it must never die by itself)? */
    const alive: boolean[] = [];
    const outboxOf = (i: number) => join(outboxDir, `chaos_${i}.jsonl`);
    const runs = Array.from({ length: RUNS }, (_, i) =>
      start(['run', '--json', '--no-db', '--job-key', `chaos:${i}`, '--', 'cat'], apiEnv, 'pipe'),
    );

    // Each run: wait for RUNNING, then 99 pause/resume pairs, then end `cat`.
    const drive = async (i: number) => {
      const r = runs[i]!;
      const file = outboxOf(i);
      await until(`run ${i} RUNNING`, () => lines(file) >= 1 || r.proc.exitCode !== null, 60_000);
      if (r.proc.exitCode !== null)
        throw new Error(`run ${i} exited ${r.proc.exitCode}: ${r.err()}`);
      for (let k = 1; k <= PAIRS; k++) {
        r.proc.kill('SIGTSTP');
        await until(`run ${i} PAUSED #${k}`, () => lines(file) >= 2 * k, 30_000);
        await sleep(PACE_MS);
        r.proc.kill('SIGCONT');
        await until(`run ${i} RESUMED #${k}`, () => lines(file) >= 2 * k + 1, 30_000);
        await sleep(PACE_MS);
      }
      r.proc.stdin!.end();
      return r.exited;
    };

    const chaos = async () => {
      await sleep(5000);
      alive.push(api.proc.exitCode === null);
      api.proc.kill('SIGKILL');
      log.push(`t=${since()}s server kill -9 #1`);
      await api.exited;
      await sleep(2000);
      api = await startApi();
      log.push(`t=${since()}s server back`);

      await sleep(4000);
      await admin(async (q) => {
        await q(`alter database ${dbName} allow_connections false`);
        await q(
          `select pg_terminate_backend(pid) from pg_stat_activity where datname = '${dbName}' and pid <> pg_backend_pid()`,
        );
      });
      log.push(`t=${since()}s database stopped (connections refused, backends terminated)`);
      await sleep(4000);
      await admin((q) => q(`alter database ${dbName} allow_connections true`));
      log.push(`t=${since()}s database back`);

      await sleep(4000);
      alive.push(api.proc.exitCode === null);
      api.proc.kill('SIGKILL');
      log.push(`t=${since()}s server kill -9 #2 (down until the runs have exited)`);
      await api.exited;
    };

    const [codes] = await Promise.all([Promise.all(runs.map((_, i) => drive(i))), chaos()]);
    log.push(`t=${since()}s all ${RUNS} runs ended`);
    api = await startApi();
    log.push(`t=${since()}s server back`);
    const failed = codes.map((c, i) => [i, c] as const).filter(([, c]) => c !== 0);
    expect(failed, failed.map(([i]) => runs[i]!.err()).join('\n')).toEqual([]);

    // What each run wrote: its outbox (the source of truth) and what it says it delivered.
    let produced = 0;
    const ids = new Set<string>();
    for (let i = 0; i < RUNS; i++) {
      const events = readFileSync(outboxOf(i), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(events.map((e) => e.type)).toEqual([
        'RUNNING',
        ...Array.from({ length: PAIRS }, () => ['PAUSED', 'RESUMED']).flat(),
        'COMPLETED',
      ]);
      produced += events.length;
      for (const e of events) ids.add(e.id);
    }
    const reports = runs.map(
      (r) => JSON.parse(r.out()) as { delivery: Array<{ delivered: number; pending: number }> },
    );
    const deliveredLive = reports.reduce((n, r) => n + (r.delivery[0]?.delivered ?? 0), 0);
    const pendingAtExit = reports.reduce((n, r) => n + (r.delivery[0]?.pending ?? 0), 0);

    const storeCounts = async () => {
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      try {
        const total = await c.query(
          'select count(*)::int as n, count(distinct id)::int as d from events',
        );
        const perJob = await c.query(
          "select job_key, count(*)::int as n from events where job_key like 'chaos:%' group by job_key",
        );
        const jobs = await c.query('select state, count(*)::int as n from jobs group by state');
        return {
          rows: total.rows[0].n as number,
          distinct: total.rows[0].d as number,
          perJob: perJob.rows as Array<{ job_key: string; n: number }>,
          jobs: Object.fromEntries(jobs.rows.map((r) => [r.state, r.n])) as Record<string, number>,
        };
      } finally {
        await c.end();
      }
    };
    const before = await storeCounts();

    const flush = spawnSync(
      process.execPath,
      [berthEntry(), 'events', 'flush', '--no-db', '--json'],
      {
        env: apiEnv,
        cwd: dir,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(flush.status, flush.stderr + flush.stdout).toBe(0);
    const flushed = JSON.parse(flush.stdout) as {
      outboxes: number;
      sinks: Array<{ delivered: number; pending: number }>;
    };
    const after = await storeCounts();

    const metrics = await fetch(`${url}/metrics`, {
      headers: { authorization: `Bearer ${secret}` },
    }).then((r) => r.text());
    alive.push(api.proc.exitCode === null);
    api.proc.kill('SIGTERM');
    expect(await api.exited).toBe(0);

    const unavailable = servers.reduce(
      (n, p) => n + (p.err().match(/"code":"E_UNAVAILABLE"/g)?.length ?? 0),
      0,
    );
    const summary = [
      `chaos: ${RUNS} runs x ${PER_RUN} events = ${produced} events written to outboxes (${ids.size} distinct ids)`,
      ...log.map((l) => `  ${l}`),
      `  ingest requests answered 503 while the database was stopped: ${unavailable}`,
      `  delivered live by the runs: ${deliveredLive}; pending when the runs exited: ${pendingAtExit}`,
      `  store before flush: ${before.rows} rows, ${before.distinct} distinct`,
      `  berth events flush: ${flushed.outboxes} outbox(es), delivered ${flushed.sinks[0]?.delivered ?? 0}, pending ${flushed.sinks[0]?.pending ?? 0}`,
      `  store after flush: ${after.rows} rows, ${after.distinct} distinct events; jobs ${JSON.stringify(after.jobs)}`,
      `  last server: ${/berth_events_duplicate_total (\d+)/.exec(metrics)?.[1]} duplicate events received since its restart (replays)`,
    ];
    console.log(summary.join('\n'));

    expect(alive).toEqual([true, true, true]);
    expect(unavailable).toBeGreaterThan(0);
    expect(produced).toBe(RUNS * PER_RUN);
    expect(ids.size).toBe(10_000);
    expect(after.rows).toBe(10_000);
    expect(after.distinct).toBe(10_000);
    expect(after.perJob).toHaveLength(RUNS);
    for (const j of after.perJob) expect(j.n).toBe(PER_RUN);
    expect(after.jobs).toEqual({ completed: RUNS });
    expect(flushed.sinks[0]?.pending).toBe(0);
  });
});
