/**
 * Every error the API answers is JSON `{error, message}` (plus `details` sometimes), with
 * a stable code in `error`. ApiError is what handlers throw; toApiError maps anything else
 * (fastify's own errors, store errors, database outages) to one.
 */
import { isBerthError } from '../core/errors.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: { details?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { error: string; message: string; details?: Record<string, unknown> } {
    return {
      error: this.code,
      message: this.message,
      ...(this.extra.details ? { details: this.extra.details } : {}),
    };
  }
}

/** Codes fastify uses for what a client sent wrong, and ours for them. */
const FASTIFY_CODES: Record<string, [number, string, string?]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'E_TOO_LARGE', 'the request body is larger than the limit'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    415,
    'E_UNSUPPORTED_MEDIA_TYPE',
    'send the body as application/json',
  ],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'E_BAD_JSON', 'the JSON body is empty'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'E_BAD_JSON'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'E_BAD_REQUEST'],
  FST_ERR_BAD_URL: [400, 'E_BAD_REQUEST'],
};

/** PostgreSQL SQLSTATE classes and driver codes that mean "the database is not there now". */
function isUnavailable(e: unknown): boolean {
  const err = e as { code?: unknown; errno?: unknown; message?: unknown } | null;
  if (!err || typeof err !== 'object') return false;
  const code = typeof err.code === 'string' ? err.code : '';
  if (/^(08|53|57P)/.test(code) || code === '55000' || code === '3D000') return true;
  if (
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      'ENOTFOUND',
      'EHOSTUNREACH',
      'PROTOCOL_CONNECTION_LOST',
      'ER_CON_COUNT_ERROR',
      'SQLITE_BUSY',
      'E_UNREACHABLE',
    ].includes(code)
  ) {
    return true;
  }
  const msg = typeof err.message === 'string' ? err.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|driver has already been destroyed/i.test(
    msg,
  );
}

export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const err = e as { code?: unknown; statusCode?: unknown; message?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : '';
  const known = FASTIFY_CODES[code];
  if (known) {
    const [status, ours, text] = known;
    const message = text ?? (typeof err?.message === 'string' ? err.message : ours);
    return new ApiError(status, ours, message);
  }
  if (e instanceof SyntaxError) {
    return new ApiError(400, 'E_BAD_JSON', `malformed JSON body: ${e.message}`);
  }
  if (isBerthError(e) && e.exitCode === 2) return new ApiError(400, 'E_INVALID', e.message);
  if (isUnavailable(e)) {
    return new ApiError(503, 'E_UNAVAILABLE', 'the database is not reachable; try again later', {
      headers: { 'retry-after': '2' },
    });
  }
  const status = typeof err?.statusCode === 'number' ? err.statusCode : 500;
  if (status >= 400 && status < 500) {
    return new ApiError(status, 'E_BAD_REQUEST', String(err?.message ?? 'bad request'));
  }
  return new ApiError(500, 'E_INTERNAL', 'internal server error');
}
