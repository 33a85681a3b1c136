import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { makeEvent } from '../../src/monitor/events.js';
import { HttpSink } from '../../src/monitor/sinks/http.js';
import { displayUrl, redact, urlSecrets } from '../../src/monitor/sinks/redact.js';
import { backoffMs, postWithRetry, retryAfterMs } from '../../src/monitor/sinks/retry.js';
import {
  globToRegExp,
  matchesFilter,
  parseEventTypes,
  renderWebhook,
  signBody,
  summary,
  verifySignature,
  WebhookSink,
} from '../../src/monitor/sinks/webhook.js';

const context = { node: 'n1', command: 'python train.py' };
const failed = makeEvent(
  'FAILED',
  'cluster:42',
  { exitCode: 143, signal: 'SIGTERM', reason: 'cancelled', context },
  Date.UTC(2026, 0, 2, 3, 4, 5),
);
const SECRET = 's3cret-hmac-key';

describe('signatures', () => {
  it('is sha256=<hex HMAC-SHA256 of the raw body>, checkable in constant time', () => {
    const body = '{"a":1}';
    const want = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    expect(signBody(body, SECRET)).toBe(want);
    expect(verifySignature(body, SECRET, want)).toBe(true);
    expect(verifySignature(`${body} `, SECRET, want)).toBe(false);
    expect(verifySignature(body, 'other', want)).toBe(false);
    expect(verifySignature(body, SECRET, undefined)).toBe(false);
    expect(verifySignature(body, SECRET, 'sha256=00')).toBe(false);
  });
});

describe('renderWebhook', () => {
  it('json: the event with id/type headers and a signature over the exact body', () => {
    const r = renderWebhook('json', failed, SECRET);
    expect(JSON.parse(r.body)).toEqual({
      id: failed.id,
      jobKey: 'cluster:42',
      type: 'FAILED',
      at: failed.at,
      time: '2026-01-02T03:04:05.000Z',
      summary: 'cluster:42 FAILED (exit 143, SIGTERM, cancelled) on n1: python train.py',
      data: failed.data,
    });
    expect(r.headers['x-berth-event-id']).toBe(failed.id);
    expect(r.headers['x-berth-event-type']).toBe('FAILED');
    expect(verifySignature(r.body, SECRET, r.headers['x-berth-signature'])).toBe(true);
    expect(renderWebhook('json', failed).headers['x-berth-signature']).toBeUndefined();
  });

  it('slack: {text}; ntfy: text body with Title/Tags/Priority and the token as bearer', () => {
    const slack = renderWebhook('slack', failed, SECRET);
    expect(JSON.parse(slack.body)).toEqual({ text: `❌ ${summary(failed)}` });
    expect(slack.headers['x-berth-signature']).toBeUndefined();
    const ntfy = renderWebhook('ntfy', failed, 'tk_token');
    expect(ntfy.body).toBe(summary(failed));
    expect(ntfy.headers).toMatchObject({
      title: 'berth: cluster:42 FAILED',
      tags: 'x',
      priority: 'high',
      authorization: 'Bearer tk_token',
    });
  });
});

describe('filters', () => {
  it('by type and job key glob', () => {
    expect(globToRegExp('cluster:*').test('cluster:42')).toBe(true);
    expect(globToRegExp('cluster:4?').test('cluster:42')).toBe(true);
    expect(globToRegExp('c.uster:*').test('cluster:42')).toBe(false);
    const f = { types: ['FAILED' as const], jobs: 'cluster:*' };
    expect(matchesFilter(failed, f)).toBe(true);
    expect(matchesFilter({ ...failed, jobKey: 'local:1' }, f)).toBe(false);
    expect(matchesFilter({ ...failed, type: 'RUNNING' }, f)).toBe(false);
    expect(matchesFilter(failed, { types: ['FAILED'], jobs: null })).toBe(true);
  });

  it('parses type lists; unknown names list the valid ones', () => {
    expect(parseEventTypes('failed, Completed')).toEqual(['FAILED', 'COMPLETED']);
    expect(parseEventTypes('all')).toHaveLength(8);
    expect(() => parseEventTypes('FAILED,DONE')).toThrow(UsageError);
    try {
      parseEventTypes('DONE', 'BERTH_WEBHOOK_EVENTS');
    } catch (e) {
      expect((e as UsageError).message).toBe('BERTH_WEBHOOK_EVENTS: unknown event type "DONE"');
      expect((e as UsageError).hint).toMatch(/SUBMITTED, RUNNING, PAUSED/);
    }
  });
});

describe('redaction', () => {
  const slackUrl = 'https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX';
  it('shows only the origin of a URL and hides its path, query and password', () => {
    expect(displayUrl(slackUrl)).toBe('https://hooks.slack.com/…');
    expect(displayUrl('http://127.0.0.1:8787')).toBe('http://127.0.0.1:8787');
    expect(displayUrl('nonsense')).toBe('(invalid URL)');
    const text = `POST ${slackUrl} failed; token=${SECRET}; path services/T000/B000/XXXXSECRETXXXX`;
    const out = redact(text, [SECRET, ...urlSecrets(slackUrl)]);
    expect(out).not.toContain('XXXXSECRETXXXX');
    expect(out).not.toContain(SECRET);
    expect(urlSecrets('http://127.0.0.1:8787')).toEqual([]);
    expect(urlSecrets('https://u:pa55word@h/x')).toContain('pa55word');
  });

  it('a failing webhook reports host and event id, never the secret or the URL path', async () => {
    const port = await closedPort();
    const sink = new WebhookSink({
      url: `http://127.0.0.1:${port}/hooks/XXXXSECRETXXXX`,
      secret: SECRET,
      retry: { attempts: 2, baseDelayMs: 1, timeoutMs: 2000 },
    });
    const res = await sink.deliver([failed]);
    expect(res.done).toEqual([]);
    expect(res.error).toBe(
      `webhook: json webhook to http://127.0.0.1:${port}/…: event ${failed.id} not delivered after 2 attempt(s): ECONNREFUSED`,
    );
    expect(res.error).toContain('ECONNREFUSED');
    expect(res.error).not.toContain('XXXXSECRETXXXX');
    expect(res.error).not.toContain(SECRET);
  });

  it('an HTTP sink failure never shows the token', async () => {
    const token = 'tok_abcdefghijklmnop';
    const sink = new HttpSink({
      url: 'http://127.0.0.1:1',
      token,
      retry: { attempts: 1, fetch: async () => new Response('no', { status: 401 }) },
    });
    const res = await sink.deliver([failed]);
    expect(res).toEqual({
      done: [],
      error: 'api: POST http://127.0.0.1:1/… failed after 1 attempt(s): HTTP 401 (check the token)',
    });
  });
});

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('postWithRetry', () => {
  it('retries network errors, 5xx and 429 with back-off, not 4xx', async () => {
    const answers = [new Error('boom'), 503, 429, 200];
    const seen: string[] = [];
    const fake = (async (_url: string, init: RequestInit) => {
      seen.push(String(init.body));
      const a = answers.shift();
      if (a instanceof Error) throw a;
      return new Response('', {
        status: a as number,
        headers: a === 429 ? { 'retry-after': '0' } : {},
      });
    }) as typeof fetch;
    const res = await postWithRetry(
      'http://x',
      { body: 'B', headers: {} },
      {
        fetch: fake,
        baseDelayMs: 1,
        attempts: 5,
      },
    );
    expect(res).toEqual({ ok: true, status: 200, attempts: 4, error: null });
    expect(seen).toEqual(['B', 'B', 'B', 'B']);
    const bad = await postWithRetry(
      'http://x',
      { body: 'B', headers: {} },
      {
        fetch: (async () => new Response('', { status: 400 })) as typeof fetch,
        baseDelayMs: 1,
      },
    );
    expect(bad).toEqual({ ok: false, status: 400, attempts: 1, error: 'HTTP 400' });
  });

  it('backs off exponentially with jitter, capped; reads Retry-After', () => {
    expect(backoffMs(1, 300, 30_000, () => 1)).toBe(300);
    expect(backoffMs(3, 300, 30_000, () => 1)).toBe(1200);
    expect(backoffMs(3, 300, 30_000, () => 0)).toBe(600);
    expect(backoffMs(20, 300, 30_000, () => 1)).toBe(30_000);
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs(null)).toBeNull();
  });
});
