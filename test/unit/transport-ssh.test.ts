import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UnreachableError, UsageError } from '../../src/core/errors.js';
import {
  checkExtraOptions,
  commandArgs,
  controlArgs,
  controlPathFor,
  MAX_CONTROL_PATH,
  masterArgs,
  parseTarget,
  type SshEndpoint,
} from '../../src/transport/ssh-args.js';
import { sshFailure, sshFailureOrGeneric } from '../../src/transport/ssh-failure.js';

const fixture = (name: string) =>
  readFileSync(
    join(import.meta.dirname, '../fixtures/transport/ssh-stderr', `${name}.txt`),
    'utf8',
  );

const endpoint: SshEndpoint = {
  destination: 'alice@login.example.org',
  port: 2222,
  configFile: '/etc/berth/ssh_config',
  controlPath: '/state/cm/0123456789ab',
  connectTimeoutS: 7,
  extraOptions: [],
};

describe('parseTarget', () => {
  it('splits user@host:port into a destination and -p', () => {
    expect(parseTarget('alice@login.example.org:2222')).toEqual({
      destination: 'alice@login.example.org',
      port: 2222,
    });
    expect(parseTarget('mycluster')).toEqual({ destination: 'mycluster' });
    expect(parseTarget('bob@[2001:db8::1]:22')).toEqual({
      destination: 'bob@2001:db8::1',
      port: 22,
    });
  });

  it('refuses what ssh could read as an option or that is not a target', () => {
    expect(() => parseTarget('-oProxyCommand=sh')).toThrow(UsageError);
    expect(() => parseTarget('a b')).toThrow(UsageError);
    expect(() => parseTarget('host:99999')).toThrow(UsageError);
  });
});

describe('controlPathFor', () => {
  it('is deterministic, short and differs per target and config file', () => {
    const a = controlPathFor('/home/u/.local/state/berth', 'berth-test', '/tmp/cfg');
    expect(a).toBe(controlPathFor('/home/u/.local/state/berth', 'berth-test', '/tmp/cfg'));
    expect(a).toMatch(/^\/home\/u\/\.local\/state\/berth\/cm\/[0-9a-f]{12}$/);
    expect(controlPathFor('/home/u/.local/state/berth', 'berth-test')).not.toBe(a);
    expect(controlPathFor('/home/u/.local/state/berth', 'other', '/tmp/cfg')).not.toBe(a);
  });

  it('falls back to a short per-user directory when the state dir is too deep for a socket', () => {
    const deep = `/home/u/${'very-long-directory-name/'.repeat(6)}state`;
    const p = controlPathFor(deep, 'berth-test', undefined, [], 1234);
    expect(Buffer.byteLength(p)).toBeLessThanOrEqual(MAX_CONTROL_PATH);
    expect(p).toMatch(/\/berth-1234\/cm\/[0-9a-f]{12}$/);
  });
});

describe('ssh argument lists', () => {
  it('commands: never a master, never a prompt, connect timeout, port, config, no tty', () => {
    const args = commandArgs(endpoint, 'exec bash -c true');
    expect(args).toEqual([
      '-F',
      '/etc/berth/ssh_config',
      '-S',
      '/state/cm/0123456789ab',
      '-o',
      'ConnectTimeout=7',
      '-p',
      '2222',
      '-o',
      'ControlMaster=no',
      '-o',
      'BatchMode=yes',
      '-T',
      '--',
      'alice@login.example.org',
      'exec bash -c true',
    ]);
  });

  it('master: ControlMaster=yes with ControlPersist, backgrounded, and no BatchMode (may prompt)', () => {
    const args = masterArgs(endpoint, '10m');
    expect(args).toContain('ControlMaster=yes');
    expect(args).toContain('ControlPersist=10m');
    expect(args.slice(-4)).toEqual(['-N', '-f', '--', 'alice@login.example.org']);
    expect(args.join(' ')).not.toMatch(/BatchMode/);
  });

  it('control requests use -O and BatchMode', () => {
    expect(controlArgs(endpoint, 'check').slice(-5)).toEqual([
      'BatchMode=yes',
      '-O',
      'check',
      '--',
      'alice@login.example.org',
    ]);
  });

  it('escapes % in the control path (ssh expands %-tokens there)', () => {
    const args = commandArgs({ ...endpoint, controlPath: '/s/100%/cm/x' }, 'true');
    expect(args).toContain('/s/100%%/cm/x');
  });

  it('never turns host-key checking off, and refuses options that would', () => {
    for (const args of [
      masterArgs(endpoint, '10m'),
      commandArgs(endpoint, 'x'),
      controlArgs(endpoint, 'exit'),
    ]) {
      expect(args.join(' ')).not.toMatch(/StrictHostKeyChecking|UserKnownHostsFile/);
    }
    expect(() => checkExtraOptions(['-o', 'StrictHostKeyChecking=no'])).toThrow(UsageError);
    expect(() => checkExtraOptions(['-oStrictHostKeyChecking = off'])).toThrow(UsageError);
    expect(() => checkExtraOptions(['-o', 'UserKnownHostsFile=/dev/null'])).toThrow(UsageError);
    expect(checkExtraOptions(['-o', 'ProxyJump=gw'])).toEqual(['-o', 'ProxyJump=gw']);
  });
});

describe('sshFailure (real OpenSSH 9.2 stderr)', () => {
  const cases: [string, RegExp, RegExp][] = [
    ['refused', /connection was refused/, /host name, the port/],
    [
      'changed',
      /host key has changed/,
      /ssh-keygen -f "\/tmp\/bt\/cap\/kh_wrong" -R "\[127\.0\.0\.1\]:2222"/,
    ],
    ['unknown', /host key could not be verified/, /ssh-keyscan/],
    ['denied', /authentication failed/, /ssh-agent/],
    ['resolve', /could not be resolved/, /ssh -G/],
    ['banner', /timed out/, /connect timeout/],
  ];
  for (const [name, reason, hint] of cases) {
    it(`${name}: UnreachableError with a reason and a hint`, () => {
      const e = sshFailure(fixture(name), 'cluster', 'berth-test');
      expect(e).toBeInstanceOf(UnreachableError);
      expect(e!.code).toBe('E_UNREACHABLE');
      expect(e!.message).toMatch(/^cannot reach host cluster \(berth-test\): /);
      expect(e!.message).toMatch(reason);
      expect(e!.hint).toMatch(hint);
      expect(e!.hint).not.toMatch(
        /StrictHostKeyChecking\s*=?\s*no|UserKnownHostsFile.*\/dev\/null/i,
      );
    });
  }

  it('the changed-key hint names the fingerprint ssh saw and says not to disable checking', () => {
    const e = sshFailure(fixture('changed'), 'cluster', 'berth-test')!;
    expect(e.hint).toContain('SHA256:yrRGa++zAoBK3oEOB7AbS8gmoBCswrhT8OOwOXEoMSE');
    expect(e.hint).toMatch(/Do not disable host-key checking/);
  });

  it("is undefined for a command's own stderr, and generic when forced", () => {
    expect(sshFailure('grep: foo: No such file or directory\n', 'c', 't')).toBeUndefined();
    expect(sshFailureOrGeneric('', 'c', 't').message).toMatch(/ssh failed/);
  });
});
