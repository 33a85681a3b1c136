/**
 * Webhooks against a real local receiver (node:http on 127.0.0.1): delivery, retry after
 * failures, signature, filters, kinds, and replays that the receiver never processes twice.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/monitor/sinks/webhook.js';
import { berthRun, readOutbox } from '../fixtures/monitor/harness.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const SECRET = 'whsec-test-0123456789';
const PATH = '/hooks/T0SECRETPATH';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A receiver that answers 500 to the first `failFirst` requests and dedups by event id. */
class Receiver {
  requests: Received[] = [];
  processed = new Map<string, Received>();
  duplicates = 0;
  failFirst = 0;
  down = false;
  private server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const got = { headers: req.headers, body };
        this.requests.push(got);
        if (this.down || this.requests.length <= this.failFirst) {
          res.writeHead(this.down ? 503 : 500).end('not now');
          return;
        }
        const id = String(req.headers['x-berth-event-id']);
        if (this.processed.has(id)) this.duplicates += 1;
        else this.processed.set(id, got);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${PATH}`;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }
}

let box: Sandbox;
let hook: Receiver;
beforeEach(async () => {
  box = sandbox('berth-monitor-webhook-');
  hook = new Receiver();
  await hook.start();
});
afterEach(async () => {
  await hook.stop();
  box.cleanup();
});

const env = (extra: Record<string, string> = {}) => ({
  ...box.env,
  BERTH_WEBHOOK_URL: hook.url,
  BERTH_WEBHOOK_SECRET: SECRET,
  ...extra,
});
const outboxOf = (key: string) =>
  join(box.env.BERTH_STATE_DIR!, 'outbox', `${key.replace(':', '_')}.jsonl`);

describe('webhook sink', () => {
  it('retries after two failures, delivers each event once with a valid signature', async () => {
    hook.failFirst = 2;
    const r = await berthRun(['run', '--no-db', '--job-key', 'wh:1', '--', 'sh', '-c', 'exit 4'], {
      cwd: box.cwd,
      env: env(),
    });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe('');
    const outbox = readOutbox(outboxOf('wh:1'));
    expect([...hook.processed.keys()]).toEqual(outbox.map((e) => e.id));
    expect(hook.requests).toHaveLength(4);
    for (const got of hook.processed.values()) {
      expect(got.headers['content-type']).toBe('application/json');
      expect(verifySignature(got.body, SECRET, got.headers['x-berth-signature'] as string)).toBe(
        true,
      );
      const body = JSON.parse(got.body);
      expect(body.id).toBe(got.headers['x-berth-event-id']);
    }
    const failed = JSON.parse([...hook.processed.values()][1]!.body);
    expect(failed).toMatchObject({
      jobKey: 'wh:1',
      type: 'FAILED',
      data: { exitCode: 4, reason: 'exit_code' },
      summary: `wh:1 FAILED (exit 4, exit_code) on ${failed.data.context.node}: sh -c 'exit 4'`,
    });
    // Nothing is pending, so a flush sends nothing.
    const flush = await berthRun(
      ['--json', 'events', 'flush', '--no-db', '--outbox', outboxOf('wh:1')],
      {
        cwd: box.cwd,
        env: env(),
      },
    );
    expect(JSON.parse(flush.stdout).sinks).toEqual([
      { sink: 'webhook', delivered: 0, pending: 0, errors: [] },
    ]);
    expect(hook.requests).toHaveLength(4);
  });

  it('receiver down: the run is unaffected and the message hides secrets; replays never double-process', async () => {
    hook.down = true;
    const r = await berthRun(['run', '--no-db', '--job-key', 'wh:2', '--', 'true'], {
      cwd: box.cwd,
      env: env(),
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /webhook: json webhook to http:\/\/127\.0\.0\.1:\d+\/…: event \w+ not delivered after 5 attempt\(s\): HTTP 503/,
    );
    expect(r.stderr).toMatch(/events wait in .* for webhook \(2\)/);
    expect(r.stderr).not.toContain('T0SECRETPATH');
    expect(r.stderr).not.toContain(SECRET);
    expect(hook.processed.size).toBe(0);

    hook.down = false;
    const flush = await berthRun(['--json', 'events', 'flush', '--no-db'], {
      cwd: box.cwd,
      env: env(),
    });
    expect(flush.code).toBe(0);
    expect(JSON.parse(flush.stdout).sinks).toEqual([
      { sink: 'webhook', delivered: 2, pending: 0, errors: [] },
    ]);
    expect(hook.processed.size).toBe(2);

    // Lose the acknowledgements (a crash before they were written): the replay resends, and
    // the receiver, deduplicating by X-Berth-Event-Id, processes nothing twice.
    const dir = join(box.env.BERTH_STATE_DIR!, 'outbox');
    for (const f of readdirSync(dir)) if (!f.endsWith('.jsonl')) rmSync(join(dir, f));
    const replay = await berthRun(['--json', 'events', 'flush', '--no-db'], {
      cwd: box.cwd,
      env: env(),
    });
    expect(JSON.parse(replay.stdout).sinks[0]).toMatchObject({ delivered: 2, pending: 0 });
    expect(hook.processed.size).toBe(2);
    expect(hook.duplicates).toBe(2);
  });

  it('filters by event type and job key glob; skipped events are not left pending', async () => {
    const filtered = env({ BERTH_WEBHOOK_EVENTS: 'FAILED', BERTH_WEBHOOK_JOBS: 'keep:*' });
    await berthRun(['run', '--no-db', '--job-key', 'keep:1', '--', 'false'], {
      cwd: box.cwd,
      env: filtered,
    });
    await berthRun(['run', '--no-db', '--job-key', 'drop:1', '--', 'false'], {
      cwd: box.cwd,
      env: filtered,
    });
    await berthRun(['run', '--no-db', '--job-key', 'keep:2', '--', 'true'], {
      cwd: box.cwd,
      env: filtered,
    });
    expect(
      [...hook.processed.values()].map(
        (g) => `${JSON.parse(g.body).jobKey} ${JSON.parse(g.body).type}`,
      ),
    ).toEqual(['keep:1 FAILED']);
    const flush = await berthRun(['--json', 'events', 'flush', '--no-db'], {
      cwd: box.cwd,
      env: filtered,
    });
    expect(JSON.parse(flush.stdout)).toMatchObject({ outboxes: 0 });
  });

  it('slack and ntfy kinds', async () => {
    await berthRun(['run', '--no-db', '--job-key', 'k:slack', '--', 'true'], {
      cwd: box.cwd,
      env: env({ BERTH_WEBHOOK_KIND: 'slack', BERTH_WEBHOOK_EVENTS: 'COMPLETED' }),
    });
    const slack = [...hook.processed.values()][0]!;
    expect(JSON.parse(slack.body)).toEqual({
      text: expect.stringMatching(/^✅ k:slack COMPLETED \(exit 0\) on \S+: true$/),
    });
    await berthRun(['run', '--no-db', '--job-key', 'k:ntfy', '--', 'false'], {
      cwd: box.cwd,
      env: env({
        BERTH_WEBHOOK_KIND: 'ntfy',
        BERTH_WEBHOOK_EVENTS: 'FAILED',
        BERTH_WEBHOOK_SECRET: 'tk_ntfytoken',
      }),
    });
    const ntfy = [...hook.processed.values()][1]!;
    expect(ntfy.body).toMatch(/^k:ntfy FAILED \(exit 1, exit_code\) on \S+: false$/);
    expect(ntfy.headers).toMatchObject({
      title: 'berth: k:ntfy FAILED',
      tags: 'x',
      priority: 'high',
      authorization: 'Bearer tk_ntfytoken',
    });
  });
});

describe('webhooks from the configuration files (no BERTH_WEBHOOK_* in the environment)', () => {
  it('a webhook only in berth.yaml is delivered, signed with the user file secret; config show hides both', async () => {
    const project = box.writeProject(
      ['webhooks:', '  default:', `    url: ${hook.url}`, '    events: [RUNNING, FAILED]', ''].join(
        '\n',
      ),
    );
    // The secret lives in the user file, which overlays the project file key by key.
    const userFile = join(box.env.XDG_CONFIG_HOME!, 'berth', 'config.yaml');
    mkdirSync(dirname(userFile), { recursive: true });
    writeFileSync(userFile, `webhooks:\n  default:\n    secret: ${SECRET}\n`, { mode: 0o600 });
    const onlyFiles = { ...box.env };
    expect(Object.keys(onlyFiles).filter((k) => k.startsWith('BERTH_WEBHOOK'))).toEqual([]);

    const r = await berthRun(
      ['run', '--no-db', '--job-key', 'yaml:1', '--', 'sh', '-c', 'exit 5'],
      {
        cwd: box.cwd,
        env: onlyFiles,
      },
    );
    expect(r.code).toBe(5);
    expect(r.stderr).toBe('');
    const outbox = readOutbox(outboxOf('yaml:1'));
    expect(outbox.map((e) => e.type)).toEqual(['RUNNING', 'FAILED']);
    expect([...hook.processed.keys()]).toEqual(outbox.map((e) => e.id));
    for (const got of hook.processed.values()) {
      expect(verifySignature(got.body, SECRET, got.headers['x-berth-signature'] as string)).toBe(
        true,
      );
    }

    const shown = await berthRun(['--json', 'config', 'show'], { cwd: box.cwd, env: onlyFiles });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).not.toContain(SECRET);
    expect(shown.stdout).not.toContain('T0SECRETPATH');
    const { config, sources } = JSON.parse(shown.stdout);
    expect(config.webhooks.default).toMatchObject({ secret: '***', events: ['RUNNING', 'FAILED'] });
    expect(sources['webhooks.default.url']).toBe(`project:${project}`);
    expect(sources['webhooks.default.secret']).toBe(`user:${userFile}`);
  });

  it('two named webhooks from berth.yaml are two sinks; a broken one is a flush error at its line', async () => {
    box.writeProject(
      [
        'webhooks:',
        '  chat:',
        `    url: ${hook.url}`,
        '    kind: slack',
        '    events: [COMPLETED]',
        '  audit:',
        `    url: ${hook.url}`,
        '    events: all',
        '',
      ].join('\n'),
    );
    const r = await berthRun(['--json', 'run', '--no-db', '--job-key', 'yaml:2', '--', 'true'], {
      cwd: box.cwd,
      env: box.env,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(
      JSON.parse(r.stdout)
        .delivery.map((d: { sink: string }) => d.sink)
        .sort(),
    ).toEqual(['webhook-audit', 'webhook-chat']);
    const bodies = hook.requests.map((g) => g.body); // both sinks send the same event ids
    expect(bodies.filter((b) => b.startsWith('{"text":'))).toHaveLength(1); // chat: COMPLETED
    expect(bodies.filter((b) => b.startsWith('{"id":'))).toHaveLength(2); // audit: both events

    const file = box.writeProject('webhooks:\n  audit:\n    url: hooks.example.org/x\n');
    const flush = await berthRun(['events', 'flush', '--no-db'], { cwd: box.cwd, env: box.env });
    expect(flush.code).toBe(2);
    expect(flush.stderr).toContain(
      `${file}:3:10: webhooks.audit.url: expected an http:// or https:// URL`,
    );
  });
});
