import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  configFiles,
  findOnPath,
  getHost,
  hasSbatchOnPath,
  loadConfig,
  resolveScheduler,
} from '../../src/config/index.js';
import { ConfigError, NotFoundError, UsageError } from '../../src/core/errors.js';

let root: string;
let home: string;
let project: string;
let env: Record<string, string>;

function write(file: string, text: string): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

const userFile = () => join(home, '.config', 'berth', 'config.yaml');

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'berth-config-'));
  home = join(root, 'home');
  project = join(root, 'project');
  mkdirSync(home, { recursive: true });
  mkdirSync(project, { recursive: true });
  env = { HOME: home, PATH: '/nonexistent' };
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('loadConfig: the cascade', () => {
  it('built-ins alone, with the local host and every leaf sourced from default', () => {
    const c = loadConfig({ cwd: project, env });
    expect(c.stateDir).toBe(join(home, '.local', 'state', 'berth'));
    expect(c.defaultHost).toBe('local');
    expect(c.ssh).toEqual({ connectTimeoutS: 10, controlPersist: '10m' });
    expect(c.poll.minIntervalS).toBe(2);
    expect(c.poll.maxIntervalS).toBe(60);
    expect(c.hosts).toEqual({ local: { scheduler: 'auto' } });
    expect(Object.values(c.sources).every((s) => s === 'default')).toBe(true);
    expect(c.sources['hosts.local.scheduler']).toBe('default');
    expect(c.files.map((f) => f.exists)).toEqual([false, false]);
  });

  it('each of the five layers wins over the ones below it', () => {
    const user = write(
      userFile(),
      'ssh:\n  connectTimeoutS: 20\n  controlPersist: 5m\nlogLevel: info\n',
    );
    const proj = write(
      join(project, 'berth.yaml'),
      'ssh:\n  connectTimeoutS: 30\nlogLevel: debug\n',
    );
    const key = 'ssh.connectTimeoutS';

    expect(
      loadConfig({ cwd: project, env: { ...env, BERTH_SSH_CONNECT_TIMEOUT: '40' } }).ssh,
    ).toEqual({
      connectTimeoutS: 40,
      controlPersist: '5m',
    });
    const all = loadConfig({
      cwd: project,
      env: { ...env, BERTH_SSH_CONNECT_TIMEOUT: '40' },
      flags: { sshConnectTimeout: '50' },
    });
    expect(all.ssh.connectTimeoutS).toBe(50);
    expect(all.sources[key]).toBe('flag:--ssh-connect-timeout');
    expect(all.sources['ssh.controlPersist']).toBe(`user:${user}`);
    expect(all.sources.logLevel).toBe(`project:${proj}`);
    expect(all.logLevel).toBe('debug');

    const envWins = loadConfig({ cwd: project, env: { ...env, BERTH_SSH_CONNECT_TIMEOUT: '40' } });
    expect(envWins.sources[key]).toBe('env:BERTH_SSH_CONNECT_TIMEOUT');

    const projectWins = loadConfig({ cwd: project, env });
    expect([projectWins.ssh.connectTimeoutS, projectWins.sources[key]]).toEqual([
      30,
      `project:${proj}`,
    ]);

    rmSync(proj);
    const userWins = loadConfig({ cwd: project, env });
    expect([userWins.ssh.connectTimeoutS, userWins.sources[key]]).toEqual([20, `user:${user}`]);

    rmSync(user);
    const builtIn = loadConfig({ cwd: project, env });
    expect([builtIn.ssh.connectTimeoutS, builtIn.sources[key]]).toEqual([10, 'default']);
  });

  it('finds berth.yaml upward from a nested cwd', () => {
    const proj = write(join(project, 'berth.yaml'), 'defaultHost: c\nhosts:\n  c:\n    ssh: c\n');
    const nested = join(project, 'a', 'b', 'c');
    mkdirSync(nested, { recursive: true });
    const c = loadConfig({ cwd: nested, env });
    expect(c.defaultHost).toBe('c');
    expect(c.files[1]).toEqual({ layer: 'project', path: proj, exists: true });
    expect(c.sources.defaultHost).toBe(`project:${proj}`);
  });

  it('uses XDG_CONFIG_HOME for the user file', () => {
    const xdg = join(root, 'xdg');
    const file = write(join(xdg, 'berth', 'config.yaml'), 'logLevel: error\n');
    const c = loadConfig({ cwd: project, env: { ...env, XDG_CONFIG_HOME: xdg } });
    expect(c.logLevel).toBe('error');
    expect(configFiles({ cwd: project, env: { ...env, XDG_CONFIG_HOME: xdg } })[0]).toEqual({
      layer: 'user',
      path: file,
      exists: true,
    });
  });

  it('merges hosts per name and keys inside a host; lists replace', () => {
    const user = write(
      userFile(),
      [
        'hosts:',
        '  c:',
        '    ssh: alice@c.example.org',
        '    scheduler: slurm',
        '    slurm: { partition: cpu, account: a1, extraArgs: [--exclusive] }',
        '  other:',
        '    ssh: other',
      ].join('\n'),
    );
    const proj = write(
      join(project, 'berth.yaml'),
      'hosts:\n  c:\n    slurm: { partition: gpu, extraArgs: [--requeue] }\n    poll: { minIntervalS: 10 }\n',
    );
    const c = loadConfig({ cwd: project, env });
    expect(Object.keys(c.hosts).sort()).toEqual(['c', 'local', 'other']);
    expect(c.hosts.c).toEqual({
      ssh: 'alice@c.example.org',
      scheduler: 'slurm',
      slurm: { partition: 'gpu', account: 'a1', extraArgs: ['--requeue'] },
      poll: { minIntervalS: 10 },
    });
    expect(c.hosts.other?.scheduler).toBe('auto');
    expect(c.sources['hosts.c.slurm.partition']).toBe(`project:${proj}`);
    expect(c.sources['hosts.c.slurm.account']).toBe(`user:${user}`);
    expect(c.sources['hosts.c.slurm.extraArgs']).toBe(`project:${proj}`);
    expect(c.sources['hosts.other.scheduler']).toBe('default');
  });

  it('the local host is always there, even when a file only tunes it', () => {
    write(join(project, 'berth.yaml'), 'hosts:\n  local:\n    root: /tmp/work\n');
    const c = loadConfig({ cwd: project, env });
    expect(c.hosts.local).toEqual({ scheduler: 'auto', root: '/tmp/work' });
    const none = loadConfig({ cwd: project, env: { ...env } });
    expect(getHost(none, 'local').scheduler).toBe('auto');
  });

  it('expands ~ and file-relative paths; env paths are relative to cwd', () => {
    const proj = write(
      join(project, 'berth.yaml'),
      'stateDir: ~/state\nhosts:\n  ws:\n    ssh: ws\n    sshConfig: ./ssh_config\n',
    );
    const c = loadConfig({ cwd: join(project), env });
    expect(c.stateDir).toBe(join(home, 'state'));
    expect(c.hosts.ws?.sshConfig).toBe(join(dirname(proj), 'ssh_config'));
    const e = loadConfig({ cwd: project, env: { ...env, BERTH_STATE_DIR: 'rel/state' } });
    expect(e.stateDir).toBe(join(project, 'rel', 'state'));
    expect(e.sources.stateDir).toBe('env:BERTH_STATE_DIR');
  });

  it('a broken file stops the cascade with its ConfigError', () => {
    const proj = write(join(project, 'berth.yaml'), 'poll:\n  minIntervalS: fast\n');
    const run = () => loadConfig({ cwd: project, env });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(`${proj}:2:17: poll.minIntervalS: expected number, got string "fast"`);
  });

  it('min interval above max interval is a UsageError naming both sources', () => {
    const proj = write(join(project, 'berth.yaml'), 'poll:\n  maxIntervalS: 20\n');
    const run = () => loadConfig({ cwd: project, env: { ...env, BERTH_POLL_MIN_INTERVAL: '30' } });
    expect(run).toThrow(UsageError);
    expect(run).toThrow(
      `poll.minIntervalS (30, from env:BERTH_POLL_MIN_INTERVAL) is greater than poll.maxIntervalS (20, from project:${proj})`,
    );
  });
});

describe('host profiles', () => {
  it('getHost merges the host poll settings over the top-level ones', () => {
    write(
      join(project, 'berth.yaml'),
      'poll:\n  maxIntervalS: 120\nhosts:\n  c:\n    ssh: c\n    scheduler: slurm\n    poll:\n      minIntervalS: 10\n',
    );
    const c = loadConfig({ cwd: project, env });
    const h = getHost(c, 'c');
    expect(h).toMatchObject({ name: 'c', ssh: 'c', scheduler: 'slurm', slurm: {} });
    expect(h.poll).toEqual({
      minIntervalS: 10,
      submitIntervalS: 2,
      runningIntervalS: 15,
      maxIntervalS: 120,
      backoffFactor: 2,
      jitter: 0.1,
    });
    expect(getHost(c).name).toBe('local');
  });

  it('an unknown host is a NotFoundError listing the known hosts and how to add one', () => {
    const c = loadConfig({ cwd: project, env });
    let err: unknown;
    try {
      getHost(c, 'nope');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).exitCode).toBe(3);
    expect((err as NotFoundError).message).toBe('unknown host "nope"; known hosts are local');
    expect((err as NotFoundError).hint).toMatch(/berth\.yaml.*hosts: \{ nope: \{ ssh:/);
    expect(() => getHost(c, 'bad name')).toThrow(UsageError);
    expect(() => getHost(c, 'toString')).toThrow(NotFoundError);
  });

  it('resolveScheduler: auto means slurm when sbatch is there', () => {
    expect(resolveScheduler({ scheduler: 'auto' }, true)).toBe('slurm');
    expect(resolveScheduler({ scheduler: 'auto' }, false)).toBe('none');
    expect(resolveScheduler({ scheduler: 'none' }, true)).toBe('none');
    expect(resolveScheduler({ scheduler: 'slurm' }, false)).toBe('slurm');
  });

  it('finds sbatch on PATH with fs checks only', () => {
    const bin = join(root, 'bin');
    const empty = join(root, 'empty');
    mkdirSync(empty);
    write(join(bin, 'sbatch'), '#!/bin/sh\n');
    expect(hasSbatchOnPath({ PATH: `${empty}:${bin}` })).toBe(false); // not executable yet
    chmodSync(join(bin, 'sbatch'), 0o755);
    expect(findOnPath('sbatch', { PATH: `${empty}:${bin}` })).toBe(join(bin, 'sbatch'));
    expect(hasSbatchOnPath({ PATH: `${empty}:${bin}` })).toBe(true);
    expect(hasSbatchOnPath({ PATH: empty })).toBe(false);
    expect(hasSbatchOnPath({})).toBe(false);
    mkdirSync(join(empty, 'sbatch'));
    expect(hasSbatchOnPath({ PATH: empty })).toBe(false); // a directory is not a command
  });
});
