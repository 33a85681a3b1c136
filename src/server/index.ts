/**
 * server/: berth's HTTP API (`berth serve`): batch event ingest, job and event queries, a
 * live stream, health, OpenAPI and Prometheus metrics, behind bearer tokens. See docs/api.md.
 */
export { type BuildServerOptions, buildServer, type ServerState } from './app.js';
export { type AuthToken, bearerSecret, storeTokens, type TokenLookup } from './auth.js';
export { ApiError, toApiError } from './errors.js';
export { EventHub } from './hub.js';
export { type IngestResult, ingestEvents } from './ingest.js';
export { defaultLimits, resolveLimits, type ServerLimits } from './limits.js';
export { LATENCY_BUCKETS, Metrics } from './metrics.js';
export { openApiDocument } from './openapi.js';
export { type RateDecision, RateLimiter } from './rate-limit.js';
export { eventSchema, type IngestEvent, ingestBodySchema } from './schemas.js';
export {
  DEFAULT_PORT,
  isLoopback,
  nextSignal,
  type RunningServer,
  type ShutdownReport,
  type StartServerOptions,
  startServer,
} from './serve.js';
