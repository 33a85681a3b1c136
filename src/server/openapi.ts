/**
 * The OpenAPI 3.1 document served at GET /openapi.json. Bodies and records come from the
 * zod schemas the handlers parse with (schemas.ts); routes and parameters are listed here.
 */
import { z } from 'zod';
import { VERSION } from '../core/version.js';
import {
  errorSchema,
  eventSchema,
  ingestBodySchema,
  ingestResultSchema,
  jobSchema,
  QUERY_PARAMS,
  storedEventSchema,
} from './schemas.js';

type Json = Record<string, unknown>;

function schema(s: z.ZodType, io: 'input' | 'output' = 'output'): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io }) as Json;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (s: Json) => ({ content: { 'application/json': { schema: s } } });
const error = (description: string) => ({ description, ...json(ref('Error')) });

const COMMON_ERRORS = {
  '401': error('missing, unknown or revoked token'),
  '429': {
    ...error('too many requests for this token; see Retry-After'),
    headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds' } },
  },
};

function params(list: ReadonlyArray<readonly [string, string, string]>): Json[] {
  return list.map(([name, type, description]) => ({
    name,
    in: 'query',
    required: false,
    description,
    schema: { type },
  }));
}

export function openApiDocument(opts: { metricsPublic?: boolean } = {}): Json {
  const secured = [{ bearer: [] }];
  return {
    openapi: '3.1.0',
    info: {
      title: 'berth API',
      version: VERSION,
      description:
        'Lifecycle events of monitored runs: batch ingest (idempotent by event id), job and event queries, a live stream. See docs/api.md.',
    },
    security: secured,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'a token from `berth token create NAME`',
        },
      },
      schemas: {
        Event: schema(eventSchema, 'input'),
        StoredEvent: schema(storedEventSchema),
        IngestRequest: schema(ingestBodySchema, 'input'),
        IngestResult: schema(ingestResultSchema),
        Job: schema(jobSchema),
        Error: schema(errorSchema),
      },
    },
    paths: {
      '/v1/events': {
        post: {
          summary: 'store a batch of events (idempotent by id) and fold them into their jobs',
          requestBody: { required: true, ...json(ref('IngestRequest')) },
          responses: {
            '200': {
              description: 'stored (durably, before this answer)',
              ...json(ref('IngestResult')),
            },
            '400': error('malformed JSON or an invalid event'),
            '413': error('body larger than the limit, or too many events'),
            '415': error('not application/json'),
            '503': error('the database is not reachable; retry (see Retry-After)'),
            ...COMMON_ERRORS,
          },
        },
        get: {
          summary: 'stored events, oldest first',
          parameters: params(QUERY_PARAMS.events),
          responses: {
            '200': {
              description: 'events',
              ...json({
                type: 'object',
                properties: { events: { type: 'array', items: ref('StoredEvent') } },
              }),
            },
            '400': error('invalid parameter'),
            ...COMMON_ERRORS,
          },
        },
      },
      '/v1/jobs': {
        get: {
          summary: 'jobs, most recently updated first',
          parameters: params(QUERY_PARAMS.jobs),
          responses: {
            '200': {
              description: 'jobs',
              ...json({
                type: 'object',
                properties: { jobs: { type: 'array', items: ref('Job') } },
              }),
            },
            '400': error('invalid parameter'),
            ...COMMON_ERRORS,
          },
        },
      },
      '/v1/jobs/{key}': {
        get: {
          summary: 'one job',
          parameters: [
            {
              name: 'key',
              in: 'path',
              required: true,
              schema: { type: 'string' },
              description: 'job key (URL-encoded)',
            },
          ],
          responses: {
            '200': {
              description: 'the job',
              ...json({ type: 'object', properties: { job: ref('Job') } }),
            },
            '404': error('no such job'),
            ...COMMON_ERRORS,
          },
        },
      },
      '/v1/stream': {
        get: {
          summary: 'server-sent events of newly stored events (resumable with Last-Event-ID)',
          parameters: [
            ...params(QUERY_PARAMS.stream),
            { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } },
          ],
          responses: {
            '200': {
              description:
                'a text/event-stream; each message has `id: <event id>` and `data: <StoredEvent JSON>`',
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            },
            ...COMMON_ERRORS,
          },
        },
      },
      '/healthz': {
        get: {
          summary: 'liveness and database check',
          security: [],
          responses: {
            '200': { description: 'up', ...json({ type: 'object' }) },
            '503': { description: 'the database is not reachable', ...json({ type: 'object' }) },
          },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'this document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1', ...json({ type: 'object' }) } },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics (text exposition format 0.0.4)',
          ...(opts.metricsPublic ? { security: [] } : {}),
          responses: {
            '200': {
              description: 'metrics',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
            ...(opts.metricsPublic ? {} : COMMON_ERRORS),
          },
        },
      },
    },
  };
}
