/**
 * The API server (src/server): authentication, limits, errors, ingest, queries, the live
 * stream, OpenAPI, metrics, the token CLI and graceful shutdown. In-process through
 * inject() where that is enough; a real listening server for streams, the rate-limit flood
 * and shutdown; the built CLI (`berth token`, `berth serve`) as a real process.
 * Every test has its own SQLite store in a temp directory.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, type IncomingMessage, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { monotonicFactory } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BuildServerOptions, buildServer } from '../../src/server/app.js';
import type { TokenLookup } from '../../src/server/auth.js';
import { type RunningServer, startServer } from '../../src/server/serve.js';
import {
  countEvents,
  createToken,
  getJob,
  hashToken,
  listEvents,
  newTokenSecret,
  openStore,
  type Store,
} from '../../src/store/index.js';

const root = join(import.meta.dirname, '..', '..');
const nextId = monotonicFactory();

let dir: string;
let store: Store;
let secret: string;
let other: string;
const servers: RunningServer[] = [];
const apps: FastifyInstance[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-server-'));
  store = await openStore({ url: `sqlite:${join(dir, 'berth.db')}` });
  secret = await addToken('ci');
  other = await addToken('laptop');
});

afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const a of apps.splice(0)) await a.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function addToken(name: string): Promise<string> {
  const s = newTokenSecret();
  await createToken(store.db, { name, hash: hashToken(s) });
  return s;
}

function app(opts: Partial<BuildServerOptions> = {}): FastifyInstance {
  const a = buildServer({ store, ...opts });
  apps.push(a);
  return a;
}

async function listen(opts: Partial<BuildServerOptions> & { shutdownTimeoutMs?: number } = {}) {
  const s = await startServer({ store, port: 0, ...opts });
  servers.push(s);
  return s;
}

function event(jobKey: string, type: string, data: Record<string, unknown> = {}, at = Date.now()) {
  return { id: nextId(at), jobKey, type, at, data };
}

const auth = (s: string) => ({ authorization: `Bearer ${s}` });

function post(a: FastifyInstance, body: unknown, token = secret) {
  return a.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...auth(token), 'content-type': 'application/json' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('authentication and errors', () => {
  it('no token and a wrong token give 401 with a JSON error; a valid one is served', async () => {
    const a = app();
    const none = await a.inject({ method: 'GET', url: '/v1/jobs' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="berth"');
    expect(none.json()).toEqual({
      error: 'E_UNAUTHORIZED',
      message: expect.stringContaining('missing bearer token'),
    });
    const wrong = await a.inject({ method: 'GET', url: '/v1/jobs', headers: auth('berth_nope') });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({
      error: 'E_UNAUTHORIZED',
      message: 'unknown or revoked token',
    });
    const basic = await a.inject({
      method: 'GET',
      url: '/v1/jobs',
      headers: { authorization: `Basic ${secret}` },
    });
    expect(basic.statusCode).toBe(401);
    const ok = await a.inject({ method: 'GET', url: '/v1/jobs', headers: auth(secret) });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ jobs: [] });
    // Nothing about the token leaks into answers.
    expect(JSON.stringify([none.json(), wrong.json(), ok.json()])).not.toContain(secret);
  });

  it('an ingest without a token is refused before its body is read', async () => {
    const a = app();
    const r = await post(a, { events: [event('t:1', 'RUNNING')] }, 'berth_wrong');
    expect(r.statusCode).toBe(401);
    expect(await countEvents(store.db)).toBe(0);
  });

  it('healthz and openapi.json need no token; metrics does unless made public', async () => {
    const a = app();
    const health = await a.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({ ok: true, db: 'ok', dialect: 'sqlite' });
    expect((await a.inject({ method: 'GET', url: '/openapi.json' })).statusCode).toBe(200);
    expect((await a.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const pub = app({ metricsPublic: true });
    expect((await pub.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });

  it('an oversized body gives 413, and so does a batch over the event limit', async () => {
    const a = app({ limits: { bodyBytes: 16 * 1024, maxBatch: 10 } });
    const big = { events: [event('t:big', 'RUNNING', { pad: 'x'.repeat(20_000) })] };
    const r = await post(a, big);
    expect(r.statusCode).toBe(413);
    expect(r.json()).toMatchObject({ error: 'E_TOO_LARGE', message: expect.any(String) });
    const many = { events: Array.from({ length: 11 }, () => event('t:many', 'HEARTBEAT')) };
    const m = await post(a, many);
    expect(m.statusCode).toBe(413);
    expect(m.json().message).toContain('at most 10');
    expect(await countEvents(store.db)).toBe(0);
  });

  it('malformed JSON gives 400; an invalid event 400 with every problem; other types 415', async () => {
    const a = app();
    const bad = await post(a, '{"events": [');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'E_BAD_JSON' });
    const invalid = await post(a, {
      events: [{ id: 'not-a-ulid', jobKey: 'a b', type: 'RUNNING', at: 1.5 }],
    });
    expect(invalid.statusCode).toBe(400);
    const body = invalid.json();
    expect(body.error).toBe('E_INVALID');
    expect(body.details.issues).toEqual([
      expect.stringMatching(/^events\[0\]\.id: must be a ULID/),
      expect.stringMatching(/^events\[0\]\.jobKey: /),
      expect.stringMatching(/^events\[0\]\.at: /),
    ]);
    const noEvents = await post(a, { items: [] });
    expect(noEvents.statusCode).toBe(400);
    const text = await a.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...auth(secret), 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({ error: 'E_UNSUPPORTED_MEDIA_TYPE' });
    const missing = await a.inject({ method: 'GET', url: '/v1/nothing', headers: auth(secret) });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'E_NOT_FOUND' });
  });
});

describe('ingest and queries', () => {
  it('is idempotent by event id and folds events into the job row', async () => {
    const a = app();
    const t0 = Date.now() - 10_000;
    const running = event(
      'c1:42',
      'RUNNING',
      {
        context: { host: 'c1', user: 'ana', command: 'python train.py', slurm: null },
      },
      t0,
    );
    const beat = event('c1:42', 'HEARTBEAT', { uptimeMs: 1000 }, t0 + 1000);
    const first = await post(a, { events: [running, beat] });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ accepted: 2, duplicates: 0 });
    const done = event('c1:42', 'COMPLETED', { exitCode: 0 }, t0 + 2000);
    // A replay of the whole batch plus one new event, with a repeat inside the batch.
    const again = await post(a, { events: [running, beat, done, done] });
    expect(again.json()).toEqual({ accepted: 1, duplicates: 3 });
    expect(await countEvents(store.db)).toBe(3);
    const job = await getJob(store.db, 'c1:42');
    expect(job).toMatchObject({
      host: 'c1',
      user: 'ana',
      command: 'python train.py',
      state: 'completed',
      exitCode: 0,
      startedAt: t0,
      endedAt: t0 + 2000,
    });
    // Late, out-of-order delivery of an older event does not move the state back.
    const late = event('c1:42', 'RUNNING', {}, t0 + 500);
    expect((await post(a, { events: [late] })).json()).toEqual({ accepted: 1, duplicates: 0 });
    expect((await getJob(store.db, 'c1:42'))?.state).toBe('completed');
  });

  it('answers job and event queries with filters', async () => {
    const a = app();
    const t0 = Date.now() - 60_000;
    await post(a, {
      events: [
        event('h1:1', 'RUNNING', { context: { host: 'h1' } }, t0),
        event('h1:1', 'FAILED', { exitCode: 3, reason: 'exit_code' }, t0 + 10),
        event('h2:1', 'RUNNING', { context: { host: 'h2' } }, t0 + 20),
        event('h2:1', 'HEARTBEAT', {}, t0 + 30),
      ],
    });
    const get = async (url: string) => {
      const r = await a.inject({ method: 'GET', url, headers: auth(secret) });
      return { status: r.statusCode, body: r.json() };
    };
    expect((await get('/v1/jobs')).body.jobs).toHaveLength(2);
    expect(
      (await get('/v1/jobs?state=failed')).body.jobs.map((j: { key: string }) => j.key),
    ).toEqual(['h1:1']);
    expect((await get('/v1/jobs?state=failed,running')).body.jobs).toHaveLength(2);
    expect((await get('/v1/jobs?host=h2')).body.jobs.map((j: { key: string }) => j.key)).toEqual([
      'h2:1',
    ]);
    expect((await get('/v1/jobs?limit=1')).body.jobs).toHaveLength(1);
    expect(
      (await get(`/v1/jobs?since=${new Date(Date.now() + 60_000).toISOString()}`)).body.jobs,
    ).toHaveLength(0);
    const one = await get(`/v1/jobs/${encodeURIComponent('h1:1')}`);
    expect(one.body.job).toMatchObject({
      key: 'h1:1',
      state: 'failed',
      exitCode: 3,
      reason: 'exit_code',
    });
    expect((await get('/v1/jobs/nope:1')).status).toBe(404);
    expect((await get('/v1/events')).body.events).toHaveLength(4);
    expect((await get('/v1/events?jobKey=h2:1')).body.events).toHaveLength(2);
    expect(
      (await get('/v1/events?types=FAILED,HEARTBEAT')).body.events.map(
        (e: { type: string }) => e.type,
      ),
    ).toEqual(['FAILED', 'HEARTBEAT']);
    expect((await get(`/v1/events?since=${t0 + 15}&until=${t0 + 25}`)).body.events).toHaveLength(1);
    const desc = await get('/v1/events?order=desc&limit=2');
    expect(desc.body.events.map((e: { type: string }) => e.type)).toEqual(['HEARTBEAT', 'RUNNING']);
    expect(desc.body.events[0]).toMatchObject({ receivedAt: expect.any(Number), data: {} });
    expect((await get('/v1/events?limit=0')).status).toBe(400);
    expect((await get('/v1/events?limit=abc')).body).toMatchObject({ error: 'E_INVALID' });
    expect((await get('/v1/events?since=yesterday')).status).toBe(400);
    expect((await get('/v1/events?order=up')).status).toBe(400);
  });
});

describe('openapi.json and metrics', () => {
  it('openapi.json is an OpenAPI 3.1 document listing every route', async () => {
    const a = app();
    const r = await a.inject({ method: 'GET', url: '/openapi.json' });
    const doc = JSON.parse(r.body);
    expect(doc.openapi).toMatch(/^3\.1\./);
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(routes).toEqual([
      'GET /healthz',
      'GET /metrics',
      'GET /openapi.json',
      'GET /v1/events',
      'GET /v1/jobs',
      'GET /v1/jobs/{key}',
      'GET /v1/stream',
      'POST /v1/events',
    ]);
    expect(doc.components.schemas.Event.required).toEqual(['id', 'jobKey', 'type', 'at']);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    // Every $ref points at a schema that exists.
    for (const m of JSON.stringify(doc).matchAll(/"#\/components\/schemas\/(\w+)"/g)) {
      expect(doc.components.schemas).toHaveProperty(m[1]!);
    }
  });

  it('metrics are Prometheus text: ingest counters, requests by status, a latency histogram', async () => {
    const a = app();
    const e = event('m:1', 'RUNNING');
    await post(a, { events: [e] });
    await post(a, { events: [e] });
    await a.inject({ method: 'GET', url: '/v1/jobs' });
    const r = await a.inject({ method: 'GET', url: '/metrics', headers: auth(secret) });
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = r.body.trimEnd().split('\n');
    for (const line of lines) {
      expect(line).toMatch(
        /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+)$/,
      );
    }
    const value = (name: string) =>
      Number(lines.find((l) => l.startsWith(`${name} `))?.split(' ')[1]);
    expect(value('berth_events_ingested_total')).toBe(1);
    expect(value('berth_events_duplicate_total')).toBe(1);
    expect(value('berth_http_requests_total{method="POST",route="/v1/events",status="200"}')).toBe(
      2,
    );
    expect(value('berth_http_requests_total{method="GET",route="/v1/jobs",status="401"}')).toBe(1);
    expect(value('berth_ingest_duration_seconds_count')).toBe(2);
    expect(value('berth_ingest_duration_seconds_bucket{le="+Inf"}')).toBe(2);
    expect(lines).toContain('# TYPE berth_ingest_duration_seconds histogram');
  });
});

// ---- real HTTP ----------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function http(
  url: string,
  opts: {
    method?: string;
    token?: string;
    body?: unknown;
    agent?: Agent;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(
      url,
      {
        method: opts.method ?? (payload ? 'POST' : 'GET'),
        agent: opts.agent,
        headers: {
          ...(opts.token ? auth(opts.token) : {}),
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A stream client: collects the SSE messages' ids and events. */
function openStream(url: string, token: string, lastEventId?: string) {
  const got: Array<{ id: string; data: { id: string; type: string } }> = [];
  let buffer = '';
  let res: IncomingMessage | undefined;
  const opened = new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(
      `${url}/v1/stream`,
      { headers: { ...auth(token), ...(lastEventId ? { 'last-event-id': lastEventId } : {}) } },
      (r) => {
        res = r;
        r.setEncoding('utf8');
        r.on('data', (d: string) => {
          buffer += d;
          for (let i = buffer.indexOf('\n\n'); i !== -1; i = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, i);
            buffer = buffer.slice(i + 2);
            const id = /^id: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (id && data) got.push({ id, data: JSON.parse(data) });
          }
        });
        resolve(r);
      },
    );
    req.on('error', reject);
    req.end();
  });
  return {
    got,
    opened,
    ended: () =>
      new Promise<void>((resolve) => (res?.complete ? resolve() : res?.on('end', resolve))),
    close: () => res?.destroy(),
  };
}

/** Poll `cond`; the deadline only bounds a failure (a loaded CI machine can stall seconds). */
async function until(cond: () => boolean | Promise<boolean>, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('live stream', () => {
  it('sends ingested events, resumes with Last-Event-ID from memory and from the store', async () => {
    const s = await listen();
    const live = openStream(s.url, secret);
    const res = await live.opened;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const first = [event('s:1', 'RUNNING'), event('s:1', 'HEARTBEAT')];
    expect(
      (await http(`${s.url}/v1/events`, { token: secret, body: { events: first } })).status,
    ).toBe(200);
    await until(() => live.got.length === 2);
    expect(live.got.map((m) => m.id)).toEqual(first.map((e) => e.id));
    expect(live.got[0]!.data).toMatchObject({ id: first[0]!.id, jobKey: 's:1', type: 'RUNNING' });
    // A replay is not broadcast again.
    await http(`${s.url}/v1/events`, { token: secret, body: { events: first } });
    live.close();

    // Missed while disconnected: resumed from the server's ring of recent events.
    const missed = [event('s:1', 'COMPLETED', { exitCode: 0 })];
    await http(`${s.url}/v1/events`, { token: secret, body: { events: missed } });
    const resumed = openStream(s.url, secret, first[1]!.id);
    await until(() => resumed.got.length === 1);
    expect(resumed.got[0]!.id).toBe(missed[0]!.id);
    resumed.close();

    // After a restart the ring is empty: resumed from the store (at least once).
    await s.close();
    const s2 = await listen();
    const fromStore = openStream(s2.url, secret, first[0]!.id);
    await until(() => fromStore.got.some((m) => m.id === missed[0]!.id));
    const ids = fromStore.got.map((m) => m.id);
    expect(ids).not.toContain(first[0]!.id);
    expect(ids).toContain(first[1]!.id);
    // Filters apply to the stream.
    const onlyOther = openStream(s2.url, secret);
    await onlyOther.opened;
    fromStore.close();
    onlyOther.close();
  });

  it('filters by job and type, and ends streams when the server shuts down', async () => {
    const s = await listen();
    const url = `${s.url}/v1/stream?jobKey=f:2&types=FAILED`;
    const got: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      request(url, { headers: auth(secret) }, (r) => {
        r.setEncoding('utf8');
        r.on('data', (d: string) => got.push(...[...d.matchAll(/^id: (.*)$/gm)].map((m) => m[1]!)));
        r.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    await until(async () => s.app.berth.metrics.streamClients === 1);
    const events = [event('f:1', 'FAILED'), event('f:2', 'RUNNING'), event('f:2', 'FAILED')];
    await http(`${s.url}/v1/events`, { token: secret, body: { events } });
    await until(() => got.length === 1);
    expect(got).toEqual([events[2]!.id]);
    const t0 = Date.now();
    await s.close();
    await ended;
    // The streams were ended, not waited for until the shutdown is forced (after 10 s).
    expect(Date.now() - t0).toBeLessThan(9000);
  });
});

describe('rate limit', () => {
  it('a flood from one token gets 429 with Retry-After while another token keeps being served', async () => {
    const s = await listen({ limits: { ratePerSecond: 20, rateBurst: 20 } });
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const flood: Promise<Answer>[] = [];
    const calm: Answer[] = [];
    const calmLoop = (async () => {
      for (let i = 0; i < 10; i++) {
        calm.push(await http(`${s.url}/v1/jobs`, { token: other }));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const floodStart = Date.now();
    for (let i = 0; i < 300; i++) {
      flood.push(
        http(`${s.url}/v1/events`, {
          token: secret,
          agent,
          body: { events: [event('flood:1', 'HEARTBEAT')] },
        }),
      );
    }
    const answers = await Promise.all(flood);
    const floodS = (Date.now() - floodStart) / 1000;
    await calmLoop;
    agent.destroy();
    const limited = answers.filter((a) => a.status === 429);
    const ok = answers.filter((a) => a.status === 200);
    // At most the burst plus what the rate refilled while the flood lasted (on an idle
    // machine about a second: over 200 of the 300 limited; a loaded one takes longer).
    expect(ok.length).toBeLessThanOrEqual(20 + Math.ceil(20 * floodS) + 1);
    expect(limited.length).toBeGreaterThan(0);
    expect(ok.length).toBeGreaterThanOrEqual(20);
    expect(ok.length + limited.length).toBe(300);
    expect(JSON.parse(limited[0]!.body)).toMatchObject({ error: 'E_RATE_LIMITED' });
    expect(Number(limited[0]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(calm.map((a) => a.status)).toEqual(Array(10).fill(200));
    // What was accepted is stored; what was refused is not.
    expect(await countEvents(store.db)).toBe(ok.length);
  });
});

describe('graceful shutdown', () => {
  it('finishes an in-flight request of a keep-alive client fast and loses no acknowledged event', async () => {
    // A token lookup that takes 400 ms holds the request in flight while the shutdown starts.
    const slowSecret = 'berth_slow';
    const slow: TokenLookup = {
      async lookup(s) {
        await new Promise((r) => setTimeout(r, 400));
        return s === slowSecret ? { id: 'slow', name: 'slow' } : null;
      },
    };
    const s = await listen({ tokens: slow, shutdownTimeoutMs: 10_000 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    // An earlier request leaves an idle keep-alive socket in the pool.
    expect((await http(`${s.url}/healthz`, { agent })).status).toBe(200);
    const e = event('sd:1', 'COMPLETED');
    const inFlight = http(`${s.url}/v1/events`, {
      token: slowSecret,
      agent,
      body: { events: [e] },
    });
    await until(() => s.inFlight() === 1);
    const t0 = Date.now();
    const report = await s.close();
    const answer = await inFlight;
    // Not held up by the idle keep-alive socket: well before the 10 s that force the shutdown.
    expect(Date.now() - t0).toBeLessThan(9000);
    expect(report).toMatchObject({ inFlight: 1, forced: false });
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).toBe('close');
    expect(await countEvents(store.db)).toBe(1);
    agent.destroy();
  });

  it('under continuous keep-alive load: quick, and every acknowledged event is stored', async () => {
    const s = await listen();
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const acked: string[] = [];
    let refused = 0;
    let stop = false;
    const client = async () => {
      while (!stop) {
        const batch = Array.from({ length: 20 }, () => event('load:1', 'HEARTBEAT'));
        try {
          const r = await http(`${s.url}/v1/events`, {
            token: secret,
            agent,
            body: { events: batch },
          });
          if (r.status === 200) acked.push(...batch.map((b) => b.id));
          else refused += 1;
        } catch {
          refused += 1;
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await until(() => acked.length > 2000);
    const t0 = Date.now();
    const report = await s.close();
    const took = Date.now() - t0;
    stop = true;
    await Promise.all(clients);
    agent.destroy();
    // Quick: well before the 10 s that force the shutdown (and it was not forced).
    expect(took).toBeLessThan(9000);
    expect(report.forced).toBe(false);
    const stored = new Set((await listEvents(store.db, { limit: 1_000_000 })).map((e) => e.id));
    expect(acked.filter((id) => !stored.has(id))).toEqual([]);
    console.log(
      `shutdown under load: ${took} ms, ${report.inFlight} in flight, ${acked.length} events acknowledged and stored, ${refused} requests refused while closing`,
    );
  });
});

// ---- the CLI ------------------------------------------------------------------------------

/** The built CLI (npx tsc -p tsconfig.build.json first). */
function berthEntry(): string {
  return join(root, 'bin', 'berth.js');
}

function cliEnv(state: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: join(dir, 'home'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    BERTH_STATE_DIR: state,
    NO_COLOR: '1',
  };
}

function berth(args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(process.execPath, [berthEntry(), ...args], {
    env,
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function startServe(args: string[], env: NodeJS.ProcessEnv, cwd = dir) {
  const proc: ChildProcess = spawn(
    process.execPath,
    [berthEntry(), 'serve', '--json', '--port', '0', ...args],
    {
      env,
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d) => (stdout += d));
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  const listening = (async () => {
    await until(() => stdout.includes('\n') || proc.exitCode !== null);
    if (!stdout.includes('\n')) throw new Error(`serve exited early: ${stderr}`);
    return JSON.parse(stdout.split('\n')[0]!) as { url: string; port: number };
  })();
  return { proc, exited, listening, out: () => stdout, err: () => stderr };
}

describe('berth token and berth serve (CLI)', () => {
  it('token create prints the secret once; list never shows it; a revoked token gets 401', async () => {
    const state = join(dir, 'cli-state');
    const env = cliEnv(state);
    const created = berth(['token', 'create', 'ci-bot', '--json'], env);
    expect(created.status).toBe(0);
    const tok = JSON.parse(created.stdout);
    expect(tok).toMatchObject({
      name: 'ci-bot',
      id: expect.stringMatching(/^[0-9A-Z]{26}$/),
      secret: expect.stringMatching(/^berth_/),
    });
    expect(tok).not.toHaveProperty('hash');
    const dup = berth(['token', 'create', 'ci-bot'], env);
    expect(dup.status).toBe(7);
    expect(dup.stderr).toContain('a live token named "ci-bot" exists');
    const text = berth(['token', 'create', 'laptop'], env);
    expect(text.stdout).toMatch(/^secret: berth_/m);
    expect(text.stdout).toContain('shown only once');
    expect(berth(['token', 'create', 'bad name'], env).status).toBe(2);

    const list = berth(['token', 'list'], env);
    expect(list.stdout).toMatch(/^ID\s+NAME\s+CREATED\s+LAST USED$/m);
    expect(list.stdout).toContain('ci-bot');
    expect(list.stdout).not.toContain(tok.secret);
    expect(list.stdout).not.toContain(hashToken(tok.secret));
    const listed = JSON.parse(berth(['token', 'list', '--json'], env).stdout);
    expect(listed.map((t: { name: string }) => t.name)).toEqual(['ci-bot', 'laptop']);
    expect(JSON.stringify(listed)).not.toContain(tok.secret);

    const cliStore = await openStore({ url: `sqlite:${join(state, 'berth.db')}` });
    try {
      const a = buildServer({ store: cliStore, limits: { tokenCacheMs: 0 } });
      apps.push(a);
      const get = () => a.inject({ method: 'GET', url: '/v1/jobs', headers: auth(tok.secret) });
      expect((await get()).statusCode).toBe(200);
      const revoked = berth(['token', 'revoke', 'ci-bot', '--json'], env);
      expect(JSON.parse(revoked.stdout)).toEqual({ revoked: 1 });
      expect((await get()).statusCode).toBe(401);
      expect(berth(['token', 'revoke', 'ci-bot'], env).status).toBe(3);
      const all = JSON.parse(berth(['token', 'list', '--all', '--json'], env).stdout);
      expect(all.find((t: { name: string }) => t.name === 'ci-bot').revokedAt).toEqual(
        expect.any(Number),
      );
      expect(JSON.parse(berth(['token', 'list', '--json'], env).stdout)).toHaveLength(1);
    } finally {
      await cliStore.close();
    }
  });

  it('a cached token is refused once the cache expires after a revoke', async () => {
    const a = app({ limits: { tokenCacheMs: 300 } });
    const get = () => a.inject({ method: 'GET', url: '/v1/jobs', headers: auth(other) });
    expect((await get()).statusCode).toBe(200);
    const { revokeToken } = await import('../../src/store/index.js');
    await revokeToken(store.db, 'laptop');
    await new Promise((r) => setTimeout(r, 350));
    expect((await get()).statusCode).toBe(401);
  });

  it('serve refuses to start without a token, warns on a non-loopback bind, stops on SIGTERM', async () => {
    const state = join(dir, 'serve-state');
    const env = cliEnv(state);
    const none = berth(['serve', '--port', '0'], env);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('no API token exists');
    expect(none.stderr).toContain('berth token create NAME');
    const tok = JSON.parse(berth(['token', 'create', 'ci', '--json'], env).stdout);

    const srv = startServe(['--bind', '0.0.0.0'], env);
    const { url, port } = await srv.listening;
    expect(url).toBe(`http://0.0.0.0:${port}`);
    expect(srv.err()).toContain('warning: listening on 0.0.0.0');
    const local = `http://127.0.0.1:${port}`;
    expect((await http(`${local}/healthz`)).status).toBe(200);
    const e = event('cli:1', 'RUNNING');
    const r = await http(`${local}/v1/events`, { token: tok.secret, body: { events: [e] } });
    expect(JSON.parse(r.body)).toEqual({ accepted: 1, duplicates: 0 });
    srv.proc.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
    expect(JSON.parse(srv.out().trim().split('\n').pop()!)).toMatchObject({
      event: 'stopped',
      signal: 'SIGTERM',
      forced: false,
    });
    // The secret never reaches the logs.
    expect(srv.err()).not.toContain(tok.secret);
  });

  it('serve and the api sink from the configuration files: berth.yaml serve keys, user-file api.url and token', async () => {
    const base = join(dir, 'cfg-api');
    const project = join(base, 'project');
    const xdg = join(base, 'xdg');
    mkdirSync(project, { recursive: true });
    mkdirSync(join(xdg, 'berth'), { recursive: true });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: join(base, 'home'),
      XDG_CONFIG_HOME: xdg,
      BERTH_STATE_DIR: join(base, 'state'),
      NO_COLOR: '1',
    };
    // Only the file sets publicMetrics; the file's port 1 loses to the flag --port 0.
    writeFileSync(join(project, 'berth.yaml'), 'serve:\n  port: 1\n  publicMetrics: true\n');
    const run = (args: string[]) =>
      spawnSync(process.execPath, [berthEntry(), ...args], {
        env,
        cwd: project,
        encoding: 'utf8',
        timeout: 60_000,
      });
    const tok = JSON.parse(run(['token', 'create', 'cfg-api', '--json']).stdout);
    const srv = startServe([], env, project);
    try {
      const { url } = await srv.listening;
      expect((await http(`${url}/metrics`)).status).toBe(200); // no token: public from berth.yaml
      writeFileSync(
        join(xdg, 'berth', 'config.yaml'),
        `api:\n  url: ${url}\n  token: ${tok.secret}\n`,
        { mode: 0o600 },
      );
      const r = run(['--json', 'run', '--no-db', '--job-key', 'cfg-api:1', '--', 'true']);
      expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
      expect(JSON.parse(r.stdout).delivery).toEqual([
        expect.objectContaining({ sink: 'api', pending: 0 }),
      ]);
      const got = await http(`${url}/v1/events?jobKey=cfg-api:1`, { token: tok.secret });
      expect(JSON.parse(got.body).events.map((e: { type: string }) => e.type)).toEqual([
        'RUNNING',
        'COMPLETED',
      ]);
      const shown = run(['config', 'show']);
      expect(shown.stdout).not.toContain(tok.secret);
      expect(shown.stdout).toMatch(/^api\.token\s+\*\*\*\s+user:/m);
    } finally {
      srv.proc.kill('SIGTERM');
      expect(await srv.exited).toBe(0);
    }
  });

  it('serve as a process: SIGTERM with a keep-alive client loading it exits fast, nothing acknowledged lost', async () => {
    const state = join(dir, 'load-state');
    const env = { ...cliEnv(state), BERTH_LOG_LEVEL: 'info' };
    const tok = JSON.parse(berth(['token', 'create', 'ci', '--json'], env).stdout);
    const srv = startServe([], env);
    const { url } = await srv.listening;
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const acked: string[] = [];
    let stop = false;
    const client = async () => {
      while (!stop) {
        const batch = Array.from({ length: 50 }, () => event('proc:1', 'HEARTBEAT'));
        try {
          const r = await http(`${url}/v1/events`, {
            token: tok.secret,
            agent,
            body: { events: batch },
          });
          if (r.status === 200) acked.push(...batch.map((b) => b.id));
        } catch {
          stop = true;
        }
      }
    };
    const clients = Array.from({ length: 4 }, client);
    await until(() => acked.length >= 5000);
    const t0 = Date.now();
    srv.proc.kill('SIGTERM');
    const code = await srv.exited;
    const took = Date.now() - t0;
    stop = true;
    await Promise.all(clients);
    agent.destroy();
    expect(code).toBe(0);
    // Quick: well before the 10 s after which the shutdown is forced.
    expect(took).toBeLessThan(9000);
    const after = await openStore({ url: `sqlite:${join(state, 'berth.db')}` });
    try {
      const stored = new Set((await listEvents(after.db, { limit: 1_000_000 })).map((e) => e.id));
      expect(acked.filter((id) => !stored.has(id))).toEqual([]);
      console.log(
        `serve process: SIGTERM to exit ${took} ms under load; ${acked.length} acknowledged events all stored`,
      );
    } finally {
      await after.close();
    }
    expect(srv.err()).toContain('"msg":"request"');
    expect(srv.err()).not.toContain(tok.secret);
  });
});
