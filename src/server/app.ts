/**
 * buildServer(): berth's HTTP API as a fastify instance, not listening (serve.ts listens;
 * tests call inject()). Routes are in routes.ts; this file holds what every request goes
 * through: bearer authentication, the per-token rate limit, JSON errors, metrics, and the
 * `Connection: close` that lets a graceful shutdown finish quickly.
 */
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import { type AuthToken, bearerSecret, storeTokens, type TokenLookup } from './auth.js';
import { ApiError, toApiError } from './errors.js';
import { EventHub } from './hub.js';
import { resolveLimits, type ServerLimits } from './limits.js';
import { Metrics } from './metrics.js';
import { RateLimiter } from './rate-limit.js';
import { registerRoutes } from './routes.js';

export interface BuildServerOptions {
  /** An open store; the server does not close it. */
  store: Pick<Store, 'db' | 'dialect' | 'location'>;
  /** Where secrets are checked (default: the store's tokens table, cached). */
  tokens?: TokenLookup;
  limits?: Partial<ServerLimits>;
  /** A pino logger (default: none). Authorization headers are never logged. */
  logger?: Logger | false;
  /** Serve /metrics without a token (default false). */
  metricsPublic?: boolean;
}

/** What the routes and serve.ts share with the hooks. */
export interface ServerState {
  store: BuildServerOptions['store'];
  limits: ServerLimits;
  hub: EventHub;
  metrics: Metrics;
  metricsPublic: boolean;
  /** Set when a shutdown starts: every answer from then on closes its connection. */
  closing: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    berth: ServerState;
  }
  interface FastifyRequest {
    token: AuthToken | null;
  }
  interface FastifyContextConfig {
    /** No token needed. */
    public?: boolean;
  }
}

export function buildServer(opts: BuildServerOptions): FastifyInstance {
  const limits = resolveLimits(opts.limits);
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    // One line per request, written by the onResponse hook below (never headers).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.bodyBytes,
    routerOptions: { maxParamLength: 512 },
  }) as unknown as FastifyInstance;
  const state: ServerState = {
    store: opts.store,
    limits,
    hub: new EventHub(),
    metrics: new Metrics(),
    metricsPublic: opts.metricsPublic ?? false,
    closing: false,
  };
  app.decorate('berth', state);
  // JSON only: anything else (text/plain included) is 415.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('token', null);

  const tokens = opts.tokens ?? storeTokens(opts.store.db, { cacheMs: limits.tokenCacheMs });
  const limiter = new RateLimiter(limits.ratePerSecond, limits.rateBurst);

  app.addHook('onRequest', async (req, reply) => {
    if (state.closing) reply.header('connection', 'close');
    const isPublic =
      req.routeOptions.config?.public === true ||
      (state.metricsPublic && req.routeOptions.url === '/metrics');
    const secret = isPublic ? null : bearerSecret(req.headers.authorization);
    const token = secret ? await tokens.lookup(secret) : null;
    req.token = token;
    const rate = limiter.take(token ? `token:${token.id}` : `ip:${req.ip}`);
    if (!rate.ok) {
      throw new ApiError(429, 'E_RATE_LIMITED', 'too many requests; slow down', {
        headers: { 'retry-after': String(rate.retryAfterS) },
      });
    }
    if (isPublic || token) return;
    throw new ApiError(
      401,
      'E_UNAUTHORIZED',
      secret ? 'unknown or revoked token' : 'missing bearer token (Authorization: Bearer <token>)',
      { headers: { 'www-authenticate': 'Bearer realm="berth"' } },
    );
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    if (state.closing) reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    state.metrics.request(req.method, route, reply.statusCode);
    if (req.method === 'POST' && route === '/v1/events') {
      state.metrics.ingestLatency(reply.elapsedTime / 1000);
    }
    req.log.info(
      {
        method: req.method,
        url: req.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        token: req.token?.name,
      },
      'request',
    );
  });

  app.setErrorHandler(async (err, req, reply) => sendError(req, reply, toApiError(err), err));
  app.setNotFoundHandler(async (req, reply) =>
    sendError(req, reply, new ApiError(404, 'E_NOT_FOUND', `no route ${req.method} ${req.url}`)),
  );

  registerRoutes(app, state);
  return app;
}

function sendError(req: FastifyRequest, reply: FastifyReply, e: ApiError, cause?: unknown) {
  if (e.status >= 500) {
    const err = cause as { message?: unknown; code?: unknown } | undefined;
    req.log.error({ code: e.code, cause: err?.message, causeCode: err?.code }, 'request failed');
  }
  for (const [k, v] of Object.entries(e.extra.headers ?? {})) reply.header(k, v);
  return reply.code(e.status).send(e.body());
}
