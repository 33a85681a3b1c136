/**
 * The persistent login shell (shell-session.ts): login-shell start-up is paid once, a dead
 * session is replaced, and requests it cannot take (stdin, a busy session) still run.
 * The conformance suite (runner.test.ts) checks that its results match the other paths.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRunner } from '../../src/transport/local.js';
import { lastNonEmptyLine } from '../../src/transport/noise.js';
import { SshRunner } from '../../src/transport/ssh.js';
import { cluster } from '../helpers/cluster.js';

describe('persistent login shell (local, counting rc-file runs)', () => {
  let home: string;
  let counter: string;
  const savedHome = process.env.HOME;

  beforeAll(() => {
    // A HOME whose .profile counts how often a login shell starts.
    home = mkdtempSync(join(tmpdir(), 'berth-home-'));
    counter = join(home, 'logins');
    writeFileSync(join(home, '.profile'), `echo login >> ${counter}\necho 'MOTD noise'\n`);
    process.env.HOME = home;
  });
  afterAll(() => {
    process.env.HOME = savedHome;
    rmSync(home, { recursive: true, force: true });
  });
  const logins = () => readFileSync(counter, 'utf8').split('\n').filter(Boolean).length;

  it('runs .profile once for many login commands (and its noise is not in the output)', async () => {
    const runner = new LocalRunner({ persistentShell: true });
    try {
      writeFileSync(counter, '');
      const pids = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const r = await runner.sh('echo $$', { login: true });
        expect(r.exitCode).toBe(0);
        pids.add(r.stdout);
      }
      expect(pids.size).toBe(1);
      expect(logins()).toBe(1);
    } finally {
      await runner.close();
    }
  });

  it('without it, every login command runs .profile', async () => {
    const runner = new LocalRunner();
    writeFileSync(counter, '');
    for (let i = 0; i < 3; i++) await runner.sh('true', { login: true });
    expect(logins()).toBe(3);
  });

  it('replaces a session that was killed, and the next command runs normally', async () => {
    const runner = new LocalRunner({ persistentShell: true });
    try {
      const first = (await runner.sh('echo $$', { login: true })).stdout;
      const killed = await runner.sh('kill -9 $$', { login: true });
      expect(killed).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
      const r = await runner.sh('echo $$', { login: true });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).not.toBe(first);
    } finally {
      await runner.close();
    }
  });

  it('sends concurrent commands and commands with stdin the ordinary way', async () => {
    const runner = new LocalRunner({ persistentShell: true });
    try {
      const rs = await Promise.all(
        Array.from({ length: 5 }, (_, i) => runner.sh(`sleep 0.1; echo ${i}`, { login: true })),
      );
      // The ordinary `bash -lc` path prints .profile's noise first: that is what noise.ts is for.
      expect(rs.map((r) => lastNonEmptyLine(r.stdout))).toEqual(['0', '1', '2', '3', '4']);
      expect(rs.filter((r) => r.stdout.includes('MOTD noise')).length).toBeGreaterThanOrEqual(4);
      const withStdin = await runner.run(['cat'], { login: true, stdin: 'in' });
      expect(withStdin.stdout).toBe('MOTD noise\nin');
    } finally {
      await runner.close();
    }
  });
});

describe('persistent login shell: process lifetime', () => {
  it('an idle session does not keep node running (a CLI that forgot close() still exits)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-life-'));
    try {
      const local = join(import.meta.dirname, '..', '..', 'src', 'transport', 'local.js');
      const script = join(dir, 'forgot-close.mts');
      writeFileSync(
        script,
        `import { LocalRunner } from ${JSON.stringify(local)};\n` +
          'const r = new LocalRunner({ persistentShell: true });\n' +
          "const x = await r.sh('sleep 0.2; echo done', { login: true });\n" +
          'process.stdout.write(x.stdout);\n',
      );
      const t0 = Date.now();
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
        encoding: 'utf8',
        timeout: 90_000,
        cwd: join(import.meta.dirname, '..', '..'),
      });
      expect(r.stdout).toBe('done\n');
      expect(r.status).toBe(0);
      // The process exited by itself (the idle shell does not hold it open); a loose bound,
      // as a loaded machine can stall seconds.
      expect(Date.now() - t0).toBeLessThan(60_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('persistent login shell (ssh)', () => {
  it('reuses one remote shell: same $$, one ssh channel for many commands', async () => {
    const c = cluster();
    const stateDir = mkdtempSync(join(tmpdir(), 'berth-rs-'));
    const runner = new SshRunner({
      host: 'cluster',
      target: c.sshAlias,
      configFile: c.sshConfig,
      stateDir,
      persistentShell: true,
    });
    try {
      const pids = new Set<string>();
      for (let i = 0; i < 5; i++) pids.add((await runner.sh('echo $$')).stdout);
      expect(pids.size).toBe(1);
      const plain = await runner.sh('echo $$', { login: false }); // login: false is not the session
      expect(pids.has(plain.stdout)).toBe(false);
    } finally {
      await runner.close({ master: true });
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
