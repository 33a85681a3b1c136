import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, OVERRIDES } from '../../src/config/index.js';
import { UsageError } from '../../src/core/errors.js';

let root: string;
let env: Record<string, string>;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'berth-config-env-'));
  env = { HOME: root };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const load = (extra: Record<string, string>, flags?: Record<string, unknown>) =>
  loadConfig({ cwd: root, env: { ...env, ...extra }, flags });

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).exitCode).toBe(2);
    return e as UsageError;
  }
  throw new Error('no error thrown');
}

describe('env overlay: the BERTH_* allow-list', () => {
  it('every allow-listed variable sets its key, typed', () => {
    const c = load({
      BERTH_STATE_DIR: '/srv/berth',
      BERTH_DB_URL: 'postgres://u:p@db/berth',
      BERTH_HOST: 'local',
      BERTH_LOG_LEVEL: 'debug',
      BERTH_SSH_CONNECT_TIMEOUT: '30',
      BERTH_SSH_CONTROL_PERSIST: '1h',
      BERTH_POLL_MIN_INTERVAL: '5',
      BERTH_POLL_SUBMIT_INTERVAL: '5',
      BERTH_POLL_RUNNING_INTERVAL: '20',
      BERTH_POLL_MAX_INTERVAL: '300',
      BERTH_POLL_BACKOFF_FACTOR: '1.5',
      BERTH_POLL_JITTER: '0',
      BERTH_API_URL: 'http://login1:8787',
      BERTH_API_TOKEN: 'berth_tok',
      BERTH_SERVE_BIND: '0.0.0.0',
      BERTH_SERVE_PORT: '9000',
      BERTH_SERVE_BODY_LIMIT: '512K',
      BERTH_SERVE_MAX_BATCH: '50',
      BERTH_SERVE_RATE: '0',
      BERTH_SERVE_BURST: '7',
      BERTH_SERVE_PUBLIC_METRICS: 'yes',
      BERTH_SERVE_SHUTDOWN_TIMEOUT: '2.5',
      BERTH_WEBHOOK_URL: 'https://ntfy.sh/topic-x',
      BERTH_WEBHOOK_KIND: 'NTFY',
      BERTH_WEBHOOK_SECRET: 'tk_abc',
      BERTH_WEBHOOK_EVENTS: 'failed, COMPLETED',
      BERTH_WEBHOOK_JOBS: 'berth:*',
    });
    expect(c).toMatchObject({
      stateDir: '/srv/berth',
      dbUrl: 'postgres://u:p@db/berth',
      defaultHost: 'local',
      logLevel: 'debug',
      ssh: { connectTimeoutS: 30, controlPersist: '1h' },
      poll: {
        minIntervalS: 5,
        submitIntervalS: 5,
        runningIntervalS: 20,
        maxIntervalS: 300,
        backoffFactor: 1.5,
        jitter: 0,
      },
      api: { url: 'http://login1:8787', token: 'berth_tok' },
      serve: {
        bind: '0.0.0.0',
        port: 9000,
        bodyLimit: '512K',
        maxBatch: 50,
        rate: 0,
        burst: 7,
        publicMetrics: true,
        shutdownTimeoutS: 2.5,
      },
      webhooks: {
        default: {
          url: 'https://ntfy.sh/topic-x',
          kind: 'ntfy',
          secret: 'tk_abc',
          events: ['FAILED', 'COMPLETED'],
          jobs: 'berth:*',
        },
      },
    });
    for (const o of OVERRIDES) {
      expect(c.sources[o.key.join('.')]).toBe(`env:${o.env}`);
    }
  });

  it('an unknown BERTH_* variable is ignored and reported in ignoredEnv', () => {
    const c = load({ BERTH_FOO: 'x', BERTH_STATEDIR: '/typo' });
    expect(c.stateDir).toBe(join(root, '.local', 'state', 'berth'));
    expect(c.ignoredEnv).toEqual(['BERTH_FOO', 'BERTH_STATEDIR']);
    expect(Object.values(c.sources).every((s) => s === 'default')).toBe(true);
  });

  it('an empty variable counts as unset', () => {
    const c = load({ BERTH_SSH_CONNECT_TIMEOUT: '', BERTH_DB_URL: '' });
    expect(c.sources['ssh.connectTimeoutS']).toBe('default');
    expect(c.sources.dbUrl).toBe('default');
  });

  it('BERTH_SSH_CONNECT_TIMEOUT=abc is a UsageError naming the variable', () => {
    const e = usageError(() => load({ BERTH_SSH_CONNECT_TIMEOUT: 'abc' }));
    expect(e.message).toBe('BERTH_SSH_CONNECT_TIMEOUT="abc": expected number, got string "abc"');
    expect(e.hint).toMatch(/BERTH_SSH_CONNECT_TIMEOUT/);
  });

  it('api, serve and webhook variables are checked too; a secret is never repeated', () => {
    expect(usageError(() => load({ BERTH_SERVE_PORT: '70000' })).message).toBe(
      'BERTH_SERVE_PORT="70000": must be at most 65535',
    );
    expect(usageError(() => load({ BERTH_SERVE_PUBLIC_METRICS: 'maybe' })).message).toBe(
      'BERTH_SERVE_PUBLIC_METRICS="maybe": expected a boolean: true/false, yes/no, 1/0, on/off',
    );
    expect(usageError(() => load({ BERTH_SERVE_BODY_LIMIT: '12' })).message).toBe(
      'BERTH_SERVE_BODY_LIMIT="12": expected a size of at least 1K: bytes, or 512K, 1M',
    );
    expect(usageError(() => load({ BERTH_WEBHOOK_EVENTS: 'FAILED,EXPLODED' })).message).toMatch(
      /^BERTH_WEBHOOK_EVENTS="FAILED,EXPLODED": expected all, or a list of event types from SUBMITTED, /,
    );
    expect(usageError(() => load({ BERTH_API_URL: 'login1:8787' })).message).toBe(
      'BERTH_API_URL="login1:8787": expected an http:// or https:// URL, or "" for none',
    );
    const e = usageError(() => load({ BERTH_WEBHOOK_SECRET: 's3cr3t-value\nsecond line' }));
    expect(e.message).toBe('BERTH_WEBHOOK_SECRET=(hidden): must be a single line');
    expect(`${e.message} ${e.hint}`).not.toContain('s3cr3t');
    expect(load({ BERTH_WEBHOOK_EVENTS: 'All' }).webhooks.default?.events).toBe('all');
    expect(load({ BERTH_SERVE_PUBLIC_METRICS: '0' }).serve.publicMetrics).toBe(false);
  });

  it('serve flags win over BERTH_SERVE_* (the flag layer)', () => {
    const c = load(
      { BERTH_SERVE_PORT: '9000' },
      { port: '9100', bind: '::1', publicMetrics: true },
    );
    expect(c.serve).toMatchObject({ port: 9100, bind: '::1', publicMetrics: true });
    expect(c.sources['serve.port']).toBe('flag:--port');
    expect(c.sources['serve.publicMetrics']).toBe('flag:--public-metrics');
    expect(c.sources['serve.rate']).toBe('default');
  });

  it('values are checked with the file schema: range, enum, host name', () => {
    expect(usageError(() => load({ BERTH_SSH_CONNECT_TIMEOUT: '2.5' })).message).toBe(
      'BERTH_SSH_CONNECT_TIMEOUT="2.5": expected whole number, got number 2.5',
    );
    expect(usageError(() => load({ BERTH_POLL_JITTER: '3' })).message).toBe(
      'BERTH_POLL_JITTER="3": must be at most 1',
    );
    expect(usageError(() => load({ BERTH_LOG_LEVEL: 'loud' })).message).toBe(
      'BERTH_LOG_LEVEL="loud": "loud" is not valid; valid values are silent, error, warn, info, debug, trace',
    );
    expect(usageError(() => load({ BERTH_HOST: 'a/b' })).message).toMatch(
      /^BERTH_HOST="a\/b": invalid host name "a\/b"/,
    );
  });
});

describe('flag overlay', () => {
  it('commander option names map to keys; other options are ignored', () => {
    const c = load(
      { BERTH_LOG_LEVEL: 'info' },
      { logLevel: 'trace', stateDir: 'here', dbUrl: undefined, timeout: '30' },
    );
    expect(c.logLevel).toBe('trace');
    expect(c.sources.logLevel).toBe('flag:--log-level');
    expect(c.stateDir).toBe(join(root, 'here'));
    expect(c.sources.stateDir).toBe('flag:--state-dir');
    expect(c.sources.dbUrl).toBe('default');
  });

  it('a bad flag value is a UsageError naming the flag', () => {
    expect(usageError(() => load({}, { sshConnectTimeout: 'soon' })).message).toBe(
      '--ssh-connect-timeout="soon": expected number, got string "soon"',
    );
  });
});
