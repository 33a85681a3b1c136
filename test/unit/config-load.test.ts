import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/defaults.js';
import { loadConfigFile, parseConfigText } from '../../src/config/index.js';
import { layerSchema } from '../../src/config/schema.js';
import { ConfigError } from '../../src/core/errors.js';

const fixture = (name: string) => join(import.meta.dirname, '..', 'fixtures', 'config', name);

/** Load a fixture that must fail; return the ConfigError. */
function failure(name: string): ConfigError {
  try {
    loadConfigFile(fixture(name));
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).exitCode).toBe(2);
    expect((e as ConfigError).hint).toMatch(/docs\/configuration\.md/);
    return e as ConfigError;
  }
  throw new Error(`${name} loaded without an error`);
}

describe('config file errors: FILE:LINE:COL: what is wrong', () => {
  it('unknown key: points at the key and lists the valid keys at that level', () => {
    const e = failure('unknown-key.yaml');
    expect(e.message).toBe(
      `${fixture('unknown-key.yaml')}:6:5: unknown key "schedular" in hosts.mycluster; ` +
        'valid keys are ssh, sshConfig, scheduler, root, slurm, poll',
    );
  });

  it('unknown top-level key lists the top-level keys', () => {
    const file = 'top.yaml';
    expect(() => parseConfigText('stateDir: /x\nstatedir: /y\n', file)).toThrow(
      'top.yaml:2:1: unknown key "statedir"; valid keys are stateDir, dbUrl, defaultHost, logLevel, ssh, poll, hosts',
    );
  });

  it('wrong type: expected number, got string', () => {
    const e = failure('wrong-type.yaml');
    expect(e.message).toBe(
      `${fixture('wrong-type.yaml')}:2:20: ssh.connectTimeoutS: expected number, got string "soon"`,
    );
  });

  it('broken YAML syntax', () => {
    // .txt, not .yaml: biome checks .yaml files and this one is broken on purpose.
    const e = failure('broken-syntax.txt');
    expect(e.message.startsWith(`${fixture('broken-syntax.txt')}:5:5: YAML syntax error: `)).toBe(
      true,
    );
    expect(e.message).not.toContain('\n');
  });

  it('duplicate key (uniqueKeys is on)', () => {
    const e = failure('duplicate-key.yaml');
    expect(e.message).toBe(
      `${fixture('duplicate-key.yaml')}:4:3: duplicate key: each key may appear only once in a mapping`,
    );
  });

  it('bad host name: points at the name', () => {
    const e = failure('bad-host-name.yaml');
    expect(
      e.message.startsWith(`${fixture('bad-host-name.yaml')}:2:3: invalid host name "my cluster"`),
    ).toBe(true);
  });

  it('bad scheduler value lists the valid values', () => {
    const e = failure('bad-scheduler.yaml');
    expect(e.message).toBe(
      `${fixture('bad-scheduler.yaml')}:4:16: hosts.mycluster.scheduler: "pbs" is not valid; valid values are slurm, none, auto`,
    );
  });

  it('every problem of a file, one line each, in file order', () => {
    const e = failure('several-problems.yaml');
    const f = fixture('several-problems.yaml');
    expect(e.message.split('\n')).toEqual([
      `${f}:1:11: logLevel: "loud" is not valid; valid values are silent, error, warn, info, debug, trace`,
      `${f}:3:11: poll.jitter: must be at most 1`,
      `${f}:4:1: unknown key "colour"; valid keys are stateDir, dbUrl, defaultHost, logLevel, ssh, poll, hosts, api, serve, webhooks`,
    ]);
  });

  it('api, serve and webhooks: every bad value at its line and column, secrets not repeated', () => {
    const text = [
      'api:',
      '  url: login1:8787',
      '  token: 12345',
      'serve:',
      '  port: 99999',
      '  bodyLimit: lots',
      '  publicMetrics: sometimes',
      'webhooks:',
      '  ops:',
      '    url: ftp://x/y',
      '    kind: teams',
      '    events: [FAILED, EXPLODED]',
      '    secret: [a, b]',
      '  "bad name":',
      '    url: https://h/x',
    ].join('\n');
    let message = '';
    try {
      parseConfigText(text, 'w.yaml');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'w.yaml:2:8: api.url: expected an http:// or https:// URL, or "" for none',
      'w.yaml:3:10: api.token: expected string, got a number (not shown)',
      'w.yaml:5:9: serve.port: must be at most 65535',
      'w.yaml:6:14: serve.bodyLimit: expected a size of at least 1K: bytes, or 512K, 1M',
      'w.yaml:7:18: serve.publicMetrics: expected boolean, got string "sometimes"',
      'w.yaml:10:10: webhooks.ops.url: expected an http:// or https:// URL',
      'w.yaml:11:11: webhooks.ops.kind: "teams" is not valid; valid values are json, slack, ntfy',
      expect.stringMatching(
        /^w\.yaml:12:13: webhooks\.ops\.events: expected all, or a list of event types from SUBMITTED, RUNNING, /,
      ),
      'w.yaml:13:13: webhooks.ops.secret: expected string, got a list (not shown)',
      `w.yaml:14:3: invalid webhook name "bad name"; webhook names are up to 56 letters, digits, '.', '_' and '-'`,
    ]);
  });

  it('an unknown key in a webhook lists the valid ones', () => {
    expect(() =>
      parseConfigText('webhooks:\n  ops:\n    url: https://h/x\n    colour: red\n', 'u.yaml'),
    ).toThrow(
      'u.yaml:4:5: unknown key "colour" in webhooks.ops; valid keys are url, kind, secret, events, jobs',
    );
  });

  it('api, serve and webhooks that load', () => {
    const layer = parseConfigText(
      [
        'api: { url: "http://login1:8787", token: berth_x }',
        'serve: { bind: 0.0.0.0, port: 0, bodyLimit: 2M, publicMetrics: true }',
        'webhooks:',
        '  default: { url: "https://ntfy.sh/t", kind: ntfy, events: all }',
        '  chat: { url: "https://hooks.slack.com/services/a", kind: slack, events: [FAILED] }',
      ].join('\n'),
      'ok.yaml',
    );
    expect(layer).toEqual({
      api: { url: 'http://login1:8787', token: 'berth_x' },
      serve: { bind: '0.0.0.0', port: 0, bodyLimit: '2M', publicMetrics: true },
      webhooks: {
        default: { url: 'https://ntfy.sh/t', kind: 'ntfy', events: 'all' },
        chat: { url: 'https://hooks.slack.com/services/a', kind: 'slack', events: ['FAILED'] },
      },
    });
  });

  it('the local host cannot have ssh', () => {
    const e = failure('local-ssh.yaml');
    expect(e.message).toMatch(
      /^.*local-ssh\.yaml:3:10: hosts\.local\.ssh: the local host is this machine/,
    );
  });

  it('a bad ssh target, extraArgs entry and a number where a word is expected', () => {
    const text = [
      'hosts:',
      '  c:',
      '    ssh: -oProxyCommand=evil',
      '    slurm:',
      '      account: 12345',
      '      extraArgs: [--exclusive, "rm -rf"]',
    ].join('\n');
    expect(() => parseConfigText(text, 'f.yaml')).toThrow(
      [
        'f.yaml:3:10: hosts.c.ssh: expected an ssh alias from ~/.ssh/config (e.g. mycluster) or user@host[:port] (e.g. alice@login.example.org:2222)',
        'f.yaml:5:16: hosts.c.slurm.account: expected string, got number 12345 (quote it: "12345")',
        'f.yaml:6:32: hosts.c.slurm.extraArgs[1]: each entry must be --option or --option=value',
      ].join('\n'),
    );
  });

  it('a list where a mapping belongs, and an empty value', () => {
    expect(() => parseConfigText('- a\n', 'f.yaml')).toThrow(
      'f.yaml:1:1: expected mapping, got list',
    );
    expect(() => parseConfigText('ssh:\n  connectTimeoutS:\n', 'f.yaml')).toThrow(
      'f.yaml:2:3: ssh.connectTimeoutS: expected number, got nothing (empty value)',
    );
  });
});

describe('config files that load', () => {
  it('a missing file is no layer', () => {
    expect(loadConfigFile(fixture('does-not-exist.yaml'))).toBeUndefined();
  });

  it('an empty file or one with only comments is an empty layer', () => {
    expect(parseConfigText('', 'f.yaml')).toEqual({});
    expect(parseConfigText('# nothing yet\n', 'f.yaml')).toEqual({});
  });

  it('the documented example', () => {
    const layer = loadConfigFile(fixture('berth.yaml'));
    expect(layer?.defaultHost).toBe('mycluster');
    expect(layer?.hosts?.mycluster?.slurm).toEqual({
      partition: 'gpu',
      account: 'proj123',
      qos: 'normal',
      time: '2:00:00',
      extraArgs: ['--gres=gpu:1', '--exclusive'],
    });
    expect(layer?.hosts?.workstation?.ssh).toBe('bob@ws.example.org:2222');
  });

  it('the built-in defaults satisfy the schema', () => {
    expect(layerSchema.safeParse(defaultConfig({ HOME: '/home/u' })).success).toBe(true);
  });
});
