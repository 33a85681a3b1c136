/**
 * The ssh runner's connection handling against the test sshd: one authentication per master,
 * repair of a stale master, bounded failure for a dead host, host-key errors with a hint.
 *
 * Each test binds its client side to its own loopback address (127.x.y.z, via BindAddress),
 * so "Accepted publickey ... from <that address>" lines in the sshd log count exactly this
 * test's authentications, whatever else talks to the sshd at the same time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { UnreachableError } from '../../src/core/errors.js';
import { SshRunner, type SshRunnerOptions } from '../../src/transport/ssh.js';
import { cluster } from '../helpers/cluster.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A loopback source address of its own (127.0.0.1 is what everybody else uses). */
function ownAddress(): string {
  const b = () => 1 + Math.floor(Math.random() * 250);
  return `127.${b()}.${b()}.${b()}`;
}

/** A runner with its own state dir and source address; its master is closed and checked after the test. */
function runnerFor(overrides: Partial<SshRunnerOptions> = {}) {
  const c = cluster();
  const address = ownAddress();
  const runner = new SshRunner({
    host: 'cluster',
    target: c.sshAlias,
    configFile: c.sshConfig,
    stateDir: tempDir('berth-sm-'),
    extraOptions: ['-o', `BindAddress=${address}`],
    ...overrides,
  });
  cleanups.push(async () => {
    await runner.close({ master: true });
    expect(sshProcessesFor(runner.controlPath)).toEqual([]);
  });
  const log = sshdLog(address);
  return { runner, address, log };
}

/** New sshd log lines about one source address since this call. */
function sshdLog(address: string) {
  const file = cluster().sshdLog;
  const start = readFileSync(file).length;
  const lines = () =>
    readFileSync(file)
      .subarray(start)
      .toString('utf8')
      .split('\n')
      .filter((l) => l.includes(` from ${address} port `));
  return {
    authentications: () =>
      lines().filter((l) => l.startsWith(`Accepted publickey for ${cluster().sshUser} `)).length,
    sessions: () => lines().filter((l) => l.startsWith('Starting session: command')).length,
  };
}

/** Local processes whose argv mentions this ControlPath (the master, stray clients). */
function sshProcessesFor(controlPath: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.includes(controlPath)) found.push(`${pid}: ${argv.join(' ')}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** Wait for a process to be gone; the deadline only bounds a failure (loaded CI machines). */
async function waitGone(pid: number): Promise<void> {
  for (const end = Date.now() + 60_000; Date.now() < end; ) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(20);
  }
  throw new Error(`process ${pid} did not exit`);
}

/** A copy of the cluster's ssh_config whose known_hosts holds `knownHosts`. */
function sshConfigWithKnownHosts(knownHosts: string): string {
  const dir = tempDir('berth-kh-');
  const kh = join(dir, 'known_hosts');
  writeFileSync(kh, knownHosts);
  const c = cluster();
  const text = readFileSync(c.sshConfig, 'utf8').replaceAll(c.knownHosts, kh);
  expect(text).toContain(kh);
  const cfg = join(dir, 'ssh_config');
  writeFileSync(cfg, text);
  return cfg;
}

describe('ssh master: one connection, reused', () => {
  it('authenticates once for the first call and not again for 10 more', async () => {
    const { runner, log } = runnerFor();
    for (let i = 0; i < 11; i++) {
      const r = await runner.run(['true']);
      expect(r.exitCode).toBe(0);
    }
    expect(log.authentications()).toBe(1);
    expect(log.sessions()).toBe(11);
    const status = await runner.masterStatus();
    expect(status.running).toBe(true);
    expect(sshProcessesFor(runner.controlPath)).toHaveLength(1); // only the master
  });

  it('runs 20 commands at once over the one master (sessions are limited, not refused)', async () => {
    const { runner, log } = runnerFor();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runner.run(['sh', '-c', `sleep 0.2; echo ${i}`])),
    );
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `${i}\n`));
    expect(log.authentications()).toBe(1);
  });

  it('two runners for the same target share one master (opening is locked)', async () => {
    const { runner, address, log } = runnerFor();
    const c = cluster();
    const twin = new SshRunner({
      host: 'cluster',
      target: c.sshAlias,
      configFile: c.sshConfig,
      stateDir: join(runner.controlPath, '..', '..'),
      extraOptions: ['-o', `BindAddress=${address}`],
    });
    expect(twin.controlPath).toBe(runner.controlPath);
    const [a, b] = await Promise.all([runner.run(['echo', 'a']), twin.run(['echo', 'b'])]);
    expect(a.stdout + b.stdout).toBe('a\nb\n');
    expect(log.authentications()).toBe(1);
  });

  it('close({ master: true }) stops the master and removes its socket', async () => {
    const { runner } = runnerFor();
    await runner.run(['true']);
    expect(existsSync(runner.controlPath)).toBe(true);
    await runner.close({ master: true });
    expect(existsSync(runner.controlPath)).toBe(false);
    // The master may take a moment to exit on a loaded machine: poll (bounded) for it.
    for (const end = Date.now() + 60_000; Date.now() < end; await sleep(50)) {
      if (sshProcessesFor(runner.controlPath).length === 0) break;
    }
    expect(sshProcessesFor(runner.controlPath)).toEqual([]);
    expect((await runner.masterStatus()).running).toBe(false);
  });
});

describe('ssh master: repair', () => {
  it('replaces a master that was killed (stale socket) and the next call just works', async () => {
    const { runner, log } = runnerFor();
    expect((await runner.run(['true'])).exitCode).toBe(0);
    const before = await runner.masterStatus();
    expect(before.detail).toMatch(/^Master running \(pid=\d+\)$/);
    process.kill(before.pid!, 'SIGKILL');
    await waitGone(before.pid!);
    expect(existsSync(runner.controlPath)).toBe(true); // the stale socket is left behind
    expect((await runner.masterStatus()).running).toBe(false);

    const r = await runner.run(['echo', 'back']);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'back\n' });
    const after = await runner.masterStatus();
    expect(after.running).toBe(true);
    expect(after.pid).not.toBe(before.pid);
    expect(log.authentications()).toBe(2);
  });
});

describe('ssh failures', () => {
  it('a host that is down fails fast with UnreachableError and a hint', async () => {
    const c = cluster();
    const { runner } = runnerFor({ target: c.downAlias, connectTimeoutS: 3 });
    const t0 = Date.now();
    const e = await runner.run(['true']).catch((err: unknown) => err);
    // Fast: refused at once, not waiting for anything; loose, as a loaded machine stalls.
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(e).toBeInstanceOf(UnreachableError);
    expect((e as UnreachableError).message).toMatch(/connection was refused/);
    expect((e as UnreachableError).hint).toBeTruthy();
    expect(existsSync(runner.controlPath)).toBe(false);
  });

  it('a host that accepts but never answers fails after the connect timeout', async () => {
    const server: Server = createServer(() => {}); // accepts, says nothing
    const sockets: import('node:net').Socket[] = [];
    server.on('connection', (s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
    );
    const port = (server.address() as import('node:net').AddressInfo).port;
    const { runner } = runnerFor({
      target: `${cluster().sshUser}@127.0.0.1:${port}`,
      connectTimeoutS: 2,
    });
    const t0 = Date.now();
    const e = await runner.run(['true']).catch((err: unknown) => err);
    const ms = Date.now() - t0;
    expect(e).toBeInstanceOf(UnreachableError);
    expect((e as UnreachableError).message).toMatch(/timed out/);
    expect(ms).toBeGreaterThanOrEqual(1500);
    // After the 2 s ConnectTimeout, well before berth's own fallback deadline for opening a
    // master (connectTimeoutS * 2 s + 15 s = 19 s); loose, as a loaded machine stalls.
    expect(ms).toBeLessThan(15_000);
  });

  it('a changed host key gives UnreachableError with a hint that never says to disable checking', async () => {
    const dir = tempDir('berth-key-');
    const key = join(dir, 'other');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const pub = readFileSync(`${key}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const c = cluster();
    const cfg = sshConfigWithKnownHosts(`[127.0.0.1]:${c.sshPort} ${pub}\n`);
    const { runner, log } = runnerFor({ configFile: cfg });
    const e = await runner.run(['true']).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(UnreachableError);
    const err = e as UnreachableError;
    expect(err.message).toMatch(/host key has changed/);
    expect(err.hint).toMatch(/ssh-keygen -f .* -R/);
    expect(err.hint).toMatch(/Do not disable host-key checking/);
    expect(`${err.message} ${err.hint}`).not.toMatch(/StrictHostKeyChecking\s*=?\s*no/i);
    expect(log.authentications()).toBe(0);
  });

  it('an unknown host key (strict checking) gives UnreachableError with an ssh-keyscan hint', async () => {
    const { runner } = runnerFor({ configFile: sshConfigWithKnownHosts('') });
    const e = await runner.run(['true']).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(UnreachableError);
    expect((e as UnreachableError).message).toMatch(/host key could not be verified/);
    expect((e as UnreachableError).hint).toMatch(/ssh-keyscan/);
  });
});
