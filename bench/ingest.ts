/**
 * Ingest through the API into SQLite: sustained events per second and request latency.
 *
 * The server (`startServer` with the default limits, a temp SQLite store, one token per
 * client) runs in a child process, so clients and server do not share an event loop.
 * Several clients, each on a keep-alive node:http agent, post batches the way the HTTP sink
 * does (`{events:[...]}`: a run's RUNNING, HEARTBEATs, COMPLETED), in two phases of a
 * bounded time after a short warm-up each: as fast as the server answers (sustained
 * events/s, and the latency of a saturated server), then paced at --target events/s (the
 * latency at that load). Goal (issue 6): at least 5,000 events/s with p99 under 50 ms.
 *
 * Run: npx tsx bench/ingest.ts [--seconds 10] [--clients 8] [--batch 50] [--target 5000]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { monotonicFactory } from 'ulid';
import { median, percentile, round } from './stats.js';

const { values: args } = parseArgs({
  options: {
    server: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '1' },
    clients: { type: 'string', default: '8' },
    batch: { type: 'string', default: '50' },
    target: { type: 'string', default: '5000' },
  },
});

interface Ready {
  url: string;
  tokens: string[];
  location: string;
}

// ---- the server process -------------------------------------------------------------------

async function serverRole(clients: number): Promise<void> {
  const { openStore, createToken, hashToken, newTokenSecret, countEvents } = await import(
    '../src/store/index.js'
  );
  const { startServer } = await import('../src/server/serve.js');
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-ingest-'));
  const store = await openStore({ url: `sqlite:${join(dir, 'berth.db')}` });
  const tokens: string[] = [];
  for (let i = 0; i < clients; i++) {
    const secret = newTokenSecret();
    await createToken(store.db, { name: `bench-${i}`, hash: hashToken(secret) });
    tokens.push(secret);
  }
  const server = await startServer({ store, port: 0 });
  process.send!({ url: server.url, tokens, location: store.location } satisfies Ready);
  process.on('message', async (m) => {
    if (m !== 'stop') return;
    await server.close();
    const stored = await countEvents(store.db);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    process.send!({ stored }, () => process.exit(0));
  });
}

// ---- the clients --------------------------------------------------------------------------

const nextId = monotonicFactory();

/** The n-th batch of one client: jobs of 20 batches each (RUNNING … HEARTBEATs … COMPLETED). */
function batch(client: number, n: number, size: number) {
  const job = `bench:c${client}-j${Math.floor(n / 20)}`;
  const at = Date.now();
  return Array.from({ length: size }, (_, i) => {
    const first = n % 20 === 0 && i === 0;
    const last = n % 20 === 19 && i === size - 1;
    const type = first ? 'RUNNING' : last ? 'COMPLETED' : 'HEARTBEAT';
    const data = first
      ? {
          pid: 4242,
          context: { host: 'bench', node: 'n1', user: 'bench', command: 'python train.py' },
        }
      : last
        ? { exitCode: 0, signal: null, reason: null, durationMs: 1000 }
        : { uptimeMs: n * 1000 + i, childState: 'S' };
    return { id: nextId(at), jobKey: job, type, at, data };
  });
}

function post(url: string, agent: Agent, token: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/events`,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface Phase {
  /** Server side, from /metrics: the histogram bucket bound holding the 99th percentile. */
  serverP99Ms: number | null;
  seconds: number;
  events: number;
  requests: number;
  errors: number;
  eventsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * One measured phase. Closed loop (`paceMs` undefined): each client posts its next batch as
 * soon as the last one is answered — the most the server sustains. Paced: each client
 * sends a batch every `paceMs`, and latency counts from when the batch was due, so a
 * stalled server cannot hide its backlog (no coordinated omission).
 */
async function phase(
  ready: Ready,
  o: { clients: number; size: number; seconds: number; warmup: number; paceMs?: number },
): Promise<Phase> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.clients });
  const latencies: number[] = [];
  let events = 0;
  let requests = 0;
  let errors = 0;
  let measuring = false;
  let stop = false;
  const client = async (c: number) => {
    let due = performance.now() + (o.paceMs ? (o.paceMs * c) / o.clients : 0);
    for (let n = 0; !stop; n++) {
      if (o.paceMs) {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const body = JSON.stringify({ events: batch(c, n, o.size) });
      const t0 = o.paceMs ? due : performance.now();
      const status = await post(ready.url, agent, ready.tokens[c]!, body).catch(() => 0);
      const ms = performance.now() - t0;
      due += o.paceMs ?? 0;
      if (!measuring) continue;
      requests += 1;
      if (status === 200) {
        events += o.size;
        latencies.push(ms);
      } else errors += 1;
    }
  };
  const running = Array.from({ length: o.clients }, (_, c) => client(c));
  await new Promise((r) => setTimeout(r, o.warmup * 1000));
  const before = await histogram(ready);
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  const after = await histogram(ready);
  stop = true;
  await Promise.all(running);
  agent.destroy();
  return {
    serverP99Ms: bucketP99(before, after),
    seconds: round(elapsed, 2),
    events,
    requests,
    errors,
    eventsPerSec: round(events / elapsed, 0),
    p50Ms: round(median(latencies), 2),
    p99Ms: round(percentile(latencies, 99), 2),
    maxMs: round(Math.max(...latencies), 2),
  };
}

/** Cumulative counts of the server's ingest latency histogram, by bucket bound (seconds). */
async function histogram(ready: Ready): Promise<Array<[number, number]>> {
  const res = await fetch(`${ready.url}/metrics`, {
    headers: { authorization: `Bearer ${ready.tokens[0]}` },
  });
  const text = await res.text();
  return [...text.matchAll(/^berth_ingest_duration_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)].map(
    (m) => [m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2])],
  );
}

function bucketP99(before: Array<[number, number]>, after: Array<[number, number]>): number | null {
  const counts = after.map(([le, n], i) => [le, n - (before[i]?.[1] ?? 0)] as const);
  const total = counts.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const hit = counts.find(([, n]) => n >= 0.99 * total);
  return hit && Number.isFinite(hit[0]) ? hit[0] * 1000 : null;
}

async function main(): Promise<void> {
  const clients = Number(args.clients);
  const size = Number(args.batch);
  const seconds = Number(args.seconds);
  const warmup = Number(args.warmup);
  const target = Number(args.target);
  const child = fork(import.meta.filename, ['--server', '--clients', String(clients)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<Ready>((resolve) =>
    child.once('message', (m) => resolve(m as Ready)),
  );
  const max = await phase(ready, { clients, size, seconds, warmup });
  const paceMs = (1000 * size * clients) / target;
  const paced = await phase(ready, { clients, size, seconds, warmup, paceMs });
  child.send('stop');
  const { stored } = await new Promise<{ stored: number }>((resolve) =>
    child.on('message', (m) => resolve(m as { stored: number })),
  );

  const pass = max.eventsPerSec >= 5000 && paced.eventsPerSec >= 0.95 * target && paced.p99Ms < 50;
  const line = (p: Phase) =>
    `${p.eventsPerSec} events/s (${p.requests} requests, ${p.errors} errors); latency p50 ${p.p50Ms} ms, p99 ${p.p99Ms} ms, max ${p.maxMs} ms; server side p99 <= ${p.serverP99Ms ?? '?'} ms`;
  console.log(
    `ingest through the API into sqlite: ${clients} clients x ${size} events/batch, ${seconds} s per phase`,
  );
  console.log(`  as fast as it goes: ${line(max)}`);
  console.log(`  paced at ${target} events/s: ${line(paced)}`);
  console.log(`  ${stored} events stored in all (warm-ups included)`);
  console.log(
    `  goal >= 5000 events/s and p99 < 50 ms at 5000 events/s: ${pass ? 'met' : 'NOT met'}`,
  );
  console.log(
    JSON.stringify({
      bench: 'ingest',
      store: 'sqlite',
      clients,
      batch: size,
      eventsPerSec: max.eventsPerSec,
      p50Ms: max.p50Ms,
      p99Ms: max.p99Ms,
      paced: { target, ...paced },
      max,
      stored,
      goal: { eventsPerSec: 5000, p99Ms: 50 },
      pass,
    }),
  );
}

if (args.server) await serverRole(Number(args.clients));
else await main();
