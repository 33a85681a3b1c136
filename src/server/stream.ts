/**
 * GET /v1/stream: server-sent events of newly stored events, as they are ingested.
 *
 * Each message is `id: <event id>` and `data: <the event as JSON>`. A client that
 * reconnects with `Last-Event-ID` (EventSource does this by itself) gets what it missed:
 * from the server's ring of recent events when the id is there (exact), else from the store,
 * every event received since that event arrived (less a few seconds for transactions that
 * committed out of order) — at least once, so clients drop ids they have already seen.
 * Live events that arrive during the replay are held back and sent after it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Kysely } from 'kysely';
import { decodeTime } from 'ulid';
import { fromJson, num, ULID_PATTERN } from '../store/codec.js';
import { type EventRecord, getEvent } from '../store/index.js';
import type { Database } from '../store/schema.js';
import { ApiError } from './errors.js';
import type { EventHub } from './hub.js';
import type { Metrics } from './metrics.js';

export interface StreamFilter {
  jobKey?: string;
  types?: readonly string[];
}

export interface StreamOptions {
  db: Kysely<Database>;
  hub: EventHub;
  metrics: Metrics;
  filter: StreamFilter;
  lastEventId: string | undefined;
  /** Comment line every so often so proxies and clients see the stream is alive. */
  pingMs?: number;
}

/** How far before the last event's arrival a store replay starts (out-of-order commits). */
const RESUME_SLACK_MS = 5000;
const PAGE = 1000;
/** A client this far behind is dropped; it resumes with Last-Event-ID. */
const MAX_BUFFERED = 4 * 1024 * 1024;

export function checkLastEventId(id: string | undefined): string | undefined {
  if (id === undefined || id === '') return undefined;
  if (!ULID_PATTERN.test(id)) {
    throw new ApiError(400, 'E_INVALID', 'Last-Event-ID must be an event id (a ULID)');
  }
  return id;
}

function matches(f: StreamFilter, e: EventRecord): boolean {
  return (
    (f.jobKey === undefined || e.jobKey === f.jobKey) && (!f.types || f.types.includes(e.type))
  );
}

function message(e: EventRecord): string {
  return `id: ${e.id}\ndata: ${JSON.stringify(e)}\n\n`;
}

/** Serve one stream on a hijacked response until the client or the server closes it. */
export async function serveStream(
  req: IncomingMessage,
  res: ServerResponse,
  o: StreamOptions,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
    // The stream ends only when one side goes: never leave an idle keep-alive socket behind.
    connection: 'close',
  });
  res.write('retry: 2000\n: berth stream\n\n');
  o.metrics.streamClients += 1;

  let closed = false;
  let held: EventRecord[] | null = [];
  const sent = new Set<string>();
  const send = (e: EventRecord) => {
    if (closed || !matches(o.filter, e)) return;
    res.write(message(e));
    if (res.writableLength > MAX_BUFFERED) close();
  };
  const close = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    clearInterval(ping);
    o.metrics.streamClients -= 1;
    res.end();
  };
  const unsubscribe = o.hub.subscribe((events) => {
    if (held) held.push(...events);
    else for (const e of events) send(e);
  }, close);
  const ping = setInterval(() => {
    if (!closed) res.write(': ping\n\n');
  }, o.pingMs ?? 15_000);
  ping.unref();
  req.on('close', close);
  res.on('error', close);

  try {
    if (o.lastEventId) {
      const recent = o.hub.after(o.lastEventId);
      if (recent) {
        for (const e of recent) {
          sent.add(e.id);
          send(e);
        }
      } else {
        await replayFromStore(
          o,
          res,
          (e) => {
            sent.add(e.id);
            send(e);
          },
          () => closed,
        );
      }
    }
  } catch {
    close();
    return;
  }
  const pending = held ?? [];
  held = null;
  for (const e of pending) if (!sent.has(e.id)) send(e);
}

async function replayFromStore(
  o: StreamOptions,
  res: ServerResponse,
  emit: (e: EventRecord) => void,
  isClosed: () => boolean,
): Promise<void> {
  const last = o.lastEventId!;
  const anchor = (await getEvent(o.db, last))?.receivedAt ?? decodeTime(last);
  let cursor: { at: number; id: string } = { at: anchor - RESUME_SLACK_MS, id: '' };
  for (;;) {
    let q = o.db
      .selectFrom('events')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb('received_at', '>', cursor.at),
          eb.and([eb('received_at', '=', cursor.at), eb('id', '>', cursor.id)]),
        ]),
      );
    if (o.filter.jobKey !== undefined) q = q.where('job_key', '=', o.filter.jobKey);
    if (o.filter.types) q = q.where('type', 'in', [...o.filter.types]);
    const rows = await q.orderBy('received_at').orderBy('id').limit(PAGE).execute();
    for (const r of rows) {
      const e: EventRecord = {
        id: r.id,
        jobKey: r.job_key,
        type: r.type,
        at: num(r.at),
        data: fromJson(r.data),
        receivedAt: num(r.received_at),
      };
      cursor = { at: e.receivedAt, id: e.id };
      if (e.id !== last) emit(e);
    }
    if (rows.length < PAGE || isClosed()) return;
    if (res.writableLength > MAX_BUFFERED / 2) {
      await new Promise((r) => {
        res.once('drain', r);
        res.once('close', r);
      });
    }
  }
}
