/**
 * What the API accepts and returns, as zod schemas: request bodies and query strings are
 * parsed with them, and openapi.ts turns them into the OpenAPI document's schemas.
 */
import { z } from 'zod';
import { JOB_KEY_PATTERN } from '../monitor/events.js';
import { ULID_PATTERN } from '../store/codec.js';
import { ApiError } from './errors.js';

/** One lifecycle event, as the monitor's HTTP sink posts it (src/monitor/sinks/http.ts). */
export const eventSchema = z.object({
  id: z.string().regex(ULID_PATTERN, 'must be a ULID (26 upper-case Crockford base32 characters)'),
  jobKey: z
    .string()
    .max(255)
    .regex(JOB_KEY_PATTERN, "letters, digits and '.', '_', ':', '@', '+', '-'"),
  type: z
    .string()
    .max(64)
    .regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'an event type such as RUNNING or HEARTBEAT'),
  at: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('epoch milliseconds'),
  data: z.record(z.string(), z.unknown()).default({}),
});
export type IngestEvent = z.infer<typeof eventSchema>;

export const ingestBodySchema = z.object({ events: z.array(eventSchema) });

export const ingestResultSchema = z.object({
  accepted: z.number().int().describe('events stored by this request'),
  duplicates: z.number().int().describe('events already stored (or repeated in the batch)'),
});

export const storedEventSchema = eventSchema.extend({
  receivedAt: z.number().int().describe('when the store first received it, epoch ms'),
});

export const jobSchema = z.object({
  key: z.string(),
  host: z.string(),
  scheduler: z.enum(['slurm', 'none', 'local']),
  schedulerId: z.string().nullable(),
  arrayId: z.string().nullable(),
  arrayTask: z.number().int().nullable(),
  name: z.string().nullable(),
  user: z.string().nullable(),
  command: z.string().nullable(),
  resources: z.record(z.string(), z.unknown()),
  state: z.string(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  reason: z.string().nullable(),
  submittedAt: z.number().int().nullable(),
  startedAt: z.number().int().nullable(),
  endedAt: z.number().int().nullable(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
  extra: z.record(z.string(), z.unknown()),
});

export const errorSchema = z.object({
  error: z.string().describe('a stable code: E_UNAUTHORIZED, E_TOO_LARGE, E_RATE_LIMITED, …'),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** Parse with a schema or answer 400 with every problem as `path: message`. */
export function parseOr400<T extends z.ZodType>(
  schema: T,
  value: unknown,
  what: string,
): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.slice(0, 20).map((i) => `${pathText(i.path)}: ${i.message}`);
  throw new ApiError(400, 'E_INVALID', `invalid ${what}: ${issues.join('; ')}`, {
    details: { issues },
  });
}

function pathText(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${String(p)}` : String(p)))
    .join('');
}

// ---- query strings ----------------------------------------------------------------------

type Query = Record<string, unknown>;

function one(q: Query, name: string): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ApiError(400, 'E_INVALID', `give ${name} once`);
  return v;
}

/** `since`/`until`: epoch ms or an ISO date-time. */
export function timeParam(q: Query, name: string): number | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) {
    throw new ApiError(400, 'E_INVALID', `${name} must be epoch milliseconds or an ISO date-time`);
  }
  return at;
}

export function intParam(
  q: Query,
  name: string,
  range: { min: number; max: number },
): number | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < range.min || n > range.max) {
    throw new ApiError(
      400,
      'E_INVALID',
      `${name} must be a whole number from ${range.min} to ${range.max}`,
    );
  }
  return n;
}

/** A comma-separated list (`state=running,failed`); repeated parameters are joined. */
export function listParam(q: Query, name: string): string[] | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  const parts = (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(','));
  const list = parts.map((s) => s.trim()).filter(Boolean);
  return list.length > 0 ? list : undefined;
}

export function stringParam(q: Query, name: string, max = 255): string | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') return undefined;
  if (v.length > max) throw new ApiError(400, 'E_INVALID', `${name} is longer than ${max}`);
  return v;
}

/** Query parameters of each GET route, for the handlers' docs and the OpenAPI document. */
export const QUERY_PARAMS = {
  jobs: [
    ['state', 'string', 'only these states, comma-separated (running,failed)'],
    ['host', 'string', 'only jobs on this host'],
    ['since', 'string', 'only jobs updated at or after this time (epoch ms or ISO)'],
    ['limit', 'integer', 'at most this many (default 100)'],
    ['offset', 'integer', 'skip this many'],
  ],
  events: [
    ['jobKey', 'string', 'only events of this job'],
    ['types', 'string', 'only these types, comma-separated (RUNNING,FAILED)'],
    ['since', 'string', 'only events at or after this time (epoch ms or ISO)'],
    ['until', 'string', 'only events before this time (epoch ms or ISO)'],
    ['limit', 'integer', 'at most this many (default 1000)'],
    ['order', 'string', 'asc (default, oldest first) or desc'],
  ],
  stream: [
    ['jobKey', 'string', 'only events of this job'],
    ['types', 'string', 'only these types, comma-separated'],
    ['lastEventId', 'string', 'resume after this event id (same as the Last-Event-ID header)'],
  ],
} as const satisfies Record<string, ReadonlyArray<readonly [string, string, string]>>;
