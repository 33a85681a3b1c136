/**
 * The HTTP API sink against a local stand-in for `berth serve`: POST /v1/events with a bearer
 * token, batches, a retry after a 503, and a wrong token leaving events pending.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../src/monitor/events.js';
import { berthRun } from '../fixtures/monitor/harness.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const TOKEN = 'berth_tok_0123456789abcdef';

class FakeApi {
  calls: Array<{
    method: string;
    url: string;
    headers: IncomingHttpHeaders;
    events: MonitorEvent[];
  }> = [];
  stored = new Map<string, MonitorEvent>();
  failFirst = 0;
  url = '';
  private server: Server | null = null;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const events = body ? (JSON.parse(body).events as MonitorEvent[]) : [];
        this.calls.push({ method: req.method!, url: req.url!, headers: req.headers, events });
        if (this.calls.length <= this.failFirst) return void res.writeHead(503).end();
        if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end();
        for (const e of events) if (!this.stored.has(e.id)) this.stored.set(e.id, e);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":1}');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }
}

let box: Sandbox;
let api: FakeApi;
beforeEach(async () => {
  box = sandbox('berth-monitor-http-');
  api = new FakeApi();
  await api.start();
});
afterEach(async () => {
  await api.stop();
  box.cleanup();
});

describe('HTTP API sink', () => {
  it('posts {events} to /v1/events with the bearer token, retrying a 503', async () => {
    api.failFirst = 1;
    const env = { ...box.env, BERTH_API_URL: `${api.url}/`, BERTH_API_TOKEN: TOKEN };
    const r = await berthRun(['run', '--no-db', '--job-key', 'api:1', '--', 'true'], {
      cwd: box.cwd,
      env,
    });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(api.calls.every((c) => c.method === 'POST' && c.url === '/v1/events')).toBe(true);
    expect(api.calls[1]!.headers['content-type']).toBe('application/json');
    expect([...api.stored.values()].map((e) => `${e.jobKey} ${e.type}`)).toEqual([
      'api:1 RUNNING',
      'api:1 COMPLETED',
    ]);
    const flush = await berthRun(['--json', 'events', 'flush', '--no-db'], { cwd: box.cwd, env });
    expect(JSON.parse(flush.stdout)).toMatchObject({ outboxes: 0 });
  });

  it('a wrong token: 401 is not retried, events wait, the token is never printed', async () => {
    const env = { ...box.env, BERTH_API_URL: api.url, BERTH_API_TOKEN: 'wrong-token-abcdef' };
    const r = await berthRun(['run', '--no-db', '--job-key', 'api:2', '--', 'true'], {
      cwd: box.cwd,
      env,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /api: POST http:\/\/127\.0\.0\.1:\d+\/… failed after 1 attempt\(s\): HTTP 401 \(check the token\)/,
    );
    expect(r.stderr).not.toContain('wrong-token-abcdef');
    const good = { ...env, BERTH_API_TOKEN: TOKEN };
    const flush = await berthRun(['--json', 'events', 'flush', '--no-db'], {
      cwd: box.cwd,
      env: good,
    });
    expect(JSON.parse(flush.stdout).sinks).toEqual([
      { sink: 'api', delivered: 2, pending: 0, errors: [] },
    ]);
    expect(api.stored.size).toBe(2);
  });
});
