import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/defaults.js';
import { parseSshTarget, redactConfig, redactUrl } from '../../src/config/index.js';

describe('redactUrl', () => {
  it.each([
    ['postgres://user:secret@host/db', 'postgres://user:***@host/db'],
    [
      'postgresql://berth:pa55@db.example.org:5432/berth?sslmode=require',
      'postgresql://berth:***@db.example.org:5432/berth?sslmode=require',
    ],
    ['mysql://root:p@ss/w:rd@127.0.0.1:3306/berth', 'mysql://root:***@127.0.0.1:3306/berth'],
    [
      'mysql://berth@localhost/berth?password=hunter2&charset=utf8',
      'mysql://berth@localhost/berth?password=***&charset=utf8',
    ],
    ['postgres://user@host/db', 'postgres://user@host/db'],
    ['postgres://host/db', 'postgres://host/db'],
    ['sqlite:/var/lib/berth/berth.db', 'sqlite:/var/lib/berth/berth.db'],
    ['', ''],
  ])('%s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it('redactConfig masks dbUrl and leaves the rest', () => {
    const c = { ...defaultConfig({ HOME: '/h' }), dbUrl: 'postgres://u:x@h/d' };
    const r = redactConfig(c);
    expect(r.dbUrl).toBe('postgres://u:***@h/d');
    expect(r.stateDir).toBe(c.stateDir);
    expect(c.dbUrl).toBe('postgres://u:x@h/d');
  });
});

describe('redactConfig: monitor secrets', () => {
  it('hides the API token, webhook secrets and webhook URL paths; keeps the rest', () => {
    const c = {
      ...defaultConfig({ HOME: '/h' }),
      api: { url: 'https://ops:pw9@login1:8787', token: 'berth_TOKENVALUE' },
      webhooks: {
        default: { url: 'https://hooks.slack.com/services/T0/B0/xyz', kind: 'slack' as const },
        phone: { url: 'https://ntfy.sh/my-topic-x81k', secret: 'tk_SECRET', jobs: 'berth:*' },
      },
    };
    const r = redactConfig(c);
    expect(r.api).toEqual({ url: 'https://ops:***@login1:8787', token: '***' });
    expect(r.webhooks).toEqual({
      default: { url: 'https://hooks.slack.com/…', kind: 'slack' },
      phone: { url: 'https://ntfy.sh/…', secret: '***', jobs: 'berth:*' },
    });
    const text = JSON.stringify(r);
    for (const secret of ['pw9', 'TOKENVALUE', 'xyz', 'my-topic', 'tk_SECRET']) {
      expect(text).not.toContain(secret);
    }
    expect(c.api.token).toBe('berth_TOKENVALUE');
  });

  it('an unset token stays empty, so "not set" and "hidden" differ', () => {
    expect(redactConfig(defaultConfig({ HOME: '/h' })).api).toEqual({ url: '', token: '' });
  });
});

describe('parseSshTarget', () => {
  it.each([
    ['mycluster', { host: 'mycluster' }],
    ['login.example.org', { host: 'login.example.org' }],
    ['alice@login.example.org', { user: 'alice', host: 'login.example.org' }],
    ['alice@login.example.org:2222', { user: 'alice', host: 'login.example.org', port: 2222 }],
    ['bob@[2001:db8::1]:22', { user: 'bob', host: '[2001:db8::1]', port: 22 }],
  ])('%s', (text, expected) => {
    expect(parseSshTarget(text)).toEqual(expected);
  });

  it.each([
    '',
    '-oProxyCommand=touch /tmp/x',
    'alice@-oProxyCommand=x',
    'a b',
    'alice@host:0',
    'alice@host:70000',
    'alice@@host',
    'host;rm',
  ])('rejects %j', (text) => {
    expect(parseSshTarget(text)).toBeUndefined();
  });
});
