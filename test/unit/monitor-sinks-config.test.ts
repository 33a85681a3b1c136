import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { UsageError } from '../../src/core/errors.js';
import {
  createSinks,
  sinkSettingsFromConfig,
  sinkSettingsFromEnv,
} from '../../src/monitor/sinks/config.js';

describe('sink settings from the environment', () => {
  it('none by default', () => {
    expect(sinkSettingsFromEnv({})).toEqual({ api: null, webhooks: [] });
  });

  it('reads the API and a webhook with its filters', () => {
    const s = sinkSettingsFromEnv({
      BERTH_API_URL: 'http://login1:8787',
      BERTH_API_TOKEN: 'tok',
      BERTH_WEBHOOK_URL: 'https://ntfy.sh/my-topic',
      BERTH_WEBHOOK_KIND: 'NTFY',
      BERTH_WEBHOOK_SECRET: 'tk_x',
      BERTH_WEBHOOK_EVENTS: 'FAILED,COMPLETED',
      BERTH_WEBHOOK_JOBS: 'cluster:*',
    });
    expect(s).toEqual({
      api: { url: 'http://login1:8787', token: 'tok' },
      webhooks: [
        {
          name: 'webhook',
          url: 'https://ntfy.sh/my-topic',
          kind: 'ntfy',
          secret: 'tk_x',
          types: ['FAILED', 'COMPLETED'],
          jobs: 'cluster:*',
        },
      ],
    });
    expect(createSinks({ store: {}, ...s }).map((x) => x.name)).toEqual([
      'store',
      'api',
      'webhook',
    ]);
    expect(createSinks({ store: null, api: null, webhooks: [] })).toEqual([]);
  });

  it('ignores other BERTH_* variables, even broken ones', () => {
    expect(
      sinkSettingsFromEnv({ BERTH_POLL_JITTER: 'abc', BERTH_WEBHOOK_URL: 'https://h' }).webhooks,
    ).toHaveLength(1);
  });

  it('refuses an API URL without a token and an unknown kind, without echoing secrets', () => {
    expect(() => sinkSettingsFromEnv({ BERTH_API_URL: 'http://x' })).toThrow(
      'api.url is set (from env:BERTH_API_URL) but api.token is not',
    );
    try {
      sinkSettingsFromEnv({
        BERTH_WEBHOOK_URL: 'https://h/secretpath',
        BERTH_WEBHOOK_KIND: 'teams',
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      expect((e as Error).message).toBe(
        'BERTH_WEBHOOK_KIND="teams": "teams" is not valid; valid values are json, slack, ntfy',
      );
      expect((e as UsageError).hint).toMatch(/BERTH_WEBHOOK_KIND/);
    }
  });

  it('a secret without a URL is an error naming where the secret came from, not its value', () => {
    try {
      sinkSettingsFromEnv({ BERTH_WEBHOOK_SECRET: 'hunter2-secret' });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toBe(
        'webhook "default" has no url: webhooks.default.secret (from env:BERTH_WEBHOOK_SECRET) is set, webhooks.default.url is not',
      );
      expect(JSON.stringify(e)).not.toContain('hunter2');
    }
  });
});

describe('sink settings from the configuration', () => {
  it('every named webhook, sorted; default is the sink "webhook", others "webhook-<name>"', () => {
    const s = sinkSettingsFromConfig({
      api: { url: '', token: 'unused-without-url' },
      webhooks: {
        phone: { url: 'https://ntfy.sh/t', kind: 'ntfy', events: 'all', jobs: 'berth:*' },
        default: { url: 'https://h/hook', secret: 'k' },
      },
    });
    expect(s.api).toBeNull();
    expect(s.webhooks).toEqual([
      { name: 'webhook', url: 'https://h/hook', kind: 'json', secret: 'k', jobs: null },
      {
        name: 'webhook-phone',
        url: 'https://ntfy.sh/t',
        kind: 'ntfy',
        types: expect.arrayContaining(['HEARTBEAT', 'RUNNING', 'FAILED']),
        jobs: 'berth:*',
      },
    ]);
    expect(createSinks({ store: null, ...s }).map((x) => x.name)).toEqual([
      'webhook',
      'webhook-phone',
    ]);
  });

  it('env keys overlay a webhook of the file key by key (the secret from the env)', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'berth-sinks-config-'));
    try {
      writeFileSync(
        join(dir, 'berth.yaml'),
        'webhooks:\n  default:\n    url: https://hooks.example.org/x\n    events: [FAILED]\n',
      );
      const c = loadConfig({
        cwd: dir,
        env: { HOME: dir, BERTH_WEBHOOK_SECRET: 'from-env' },
      });
      expect(c.sources['webhooks.default.url']).toBe(`project:${join(dir, 'berth.yaml')}`);
      expect(c.sources['webhooks.default.secret']).toBe('env:BERTH_WEBHOOK_SECRET');
      expect(sinkSettingsFromConfig(c, c.sources).webhooks).toEqual([
        {
          name: 'webhook',
          url: 'https://hooks.example.org/x',
          kind: 'json',
          secret: 'from-env',
          types: ['FAILED'],
          jobs: null,
        },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
