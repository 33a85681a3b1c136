/**
 * The API's routes. Handlers parse their input (schemas.ts), call the store, and return the
 * answer; errors are thrown as ApiError and rendered by app.ts.
 */
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { getJob, listEvents, listJobs } from '../store/index.js';
import type { ServerState } from './app.js';
import { ApiError } from './errors.js';
import { ingestEvents } from './ingest.js';
import { openApiDocument } from './openapi.js';
import {
  ingestBodySchema,
  intParam,
  listParam,
  parseOr400,
  stringParam,
  timeParam,
} from './schemas.js';
import { checkLastEventId, serveStream } from './stream.js';

type Query = Record<string, unknown>;

const HEALTH_TIMEOUT_MS = 2000;

export function registerRoutes(app: FastifyInstance, s: ServerState): void {
  const db = s.store.db;

  app.post('/v1/events', async (req) => {
    const body = req.body as { events?: unknown } | null;
    const n = Array.isArray(body?.events) ? body.events.length : 0;
    if (n > s.limits.maxBatch) {
      throw new ApiError(
        413,
        'E_TOO_LARGE',
        `${n} events in one request; at most ${s.limits.maxBatch} (send several batches)`,
      );
    }
    const { events } = parseOr400(ingestBodySchema, body, 'ingest request');
    const result = await ingestEvents(db, events);
    s.metrics.eventsIngested += result.accepted;
    s.metrics.eventsDuplicate += result.duplicates;
    s.hub.publish(result.fresh);
    return { accepted: result.accepted, duplicates: result.duplicates };
  });

  app.get('/v1/events', async (req) => {
    const q = req.query as Query;
    const order = stringParam(q, 'order');
    if (order !== undefined && order !== 'asc' && order !== 'desc') {
      throw new ApiError(400, 'E_INVALID', 'order must be asc or desc');
    }
    const jobKey = stringParam(q, 'jobKey');
    const types = listParam(q, 'types');
    const since = timeParam(q, 'since');
    const until = timeParam(q, 'until');
    const events = await listEvents(db, {
      limit: intParam(q, 'limit', { min: 1, max: s.limits.maxQueryLimit }) ?? 1000,
      ...(jobKey !== undefined ? { jobKey } : {}),
      ...(types ? { types } : {}),
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      ...(order ? { order } : {}),
    });
    return { events };
  });

  app.get('/v1/jobs', async (req) => {
    const q = req.query as Query;
    const state = listParam(q, 'state');
    const host = stringParam(q, 'host');
    const since = timeParam(q, 'since');
    const jobs = await listJobs(db, {
      limit: intParam(q, 'limit', { min: 1, max: s.limits.maxQueryLimit }) ?? 100,
      offset: intParam(q, 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER }) ?? 0,
      ...(state ? { state } : {}),
      ...(host !== undefined ? { host } : {}),
      ...(since !== undefined ? { since } : {}),
    });
    return { jobs };
  });

  app.get('/v1/jobs/:key', async (req) => {
    const { key } = req.params as { key: string };
    const job = await getJob(db, key);
    if (!job) throw new ApiError(404, 'E_NOT_FOUND', `no job ${JSON.stringify(key)}`);
    return { job };
  });

  app.get('/v1/stream', async (req, reply) => {
    const q = req.query as Query;
    const header = req.headers['last-event-id'];
    const lastEventId = checkLastEventId(
      (Array.isArray(header) ? header[0] : header) ?? stringParam(q, 'lastEventId'),
    );
    const jobKey = stringParam(q, 'jobKey');
    const types = listParam(q, 'types');
    s.metrics.request('GET', '/v1/stream', 200);
    reply.hijack();
    await serveStream(req.raw, reply.raw, {
      db,
      hub: s.hub,
      metrics: s.metrics,
      lastEventId,
      filter: { ...(jobKey !== undefined ? { jobKey } : {}), ...(types ? { types } : {}) },
    });
  });

  app.get('/healthz', { config: { public: true } }, async (_req, reply) => {
    const started = Date.now();
    try {
      await withTimeout(sql`select 1`.execute(db), HEALTH_TIMEOUT_MS);
      return { ok: true, db: 'ok', dialect: s.store.dialect, dbMs: Date.now() - started };
    } catch (e) {
      return reply.code(503).send({
        ok: false,
        db: 'unreachable',
        dialect: s.store.dialect,
        error: 'E_UNAVAILABLE',
        message: `database check failed: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
  });

  const doc = openApiDocument({ metricsPublic: s.metricsPublic });
  app.get('/openapi.json', { config: { public: true } }, async () => doc);

  app.get('/metrics', async (_req, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(s.metrics.render()),
  );
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
