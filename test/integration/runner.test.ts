/**
 * The Runner conformance suite: one set of cases, run against every implementation
 * (LocalRunner on this machine, SshRunner to the test sshd of scripts/dev-cluster).
 * Both must give the same result shape for the same case.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { LocalRunner } from '../../src/transport/local.js';
import { quoteArgs } from '../../src/transport/quote.js';
import type { Runner, RunOptions } from '../../src/transport/runner.js';
import { SshRunner } from '../../src/transport/ssh.js';
import { cluster } from '../helpers/cluster.js';

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const MB10 = 10 * 1024 * 1024;

/** Strings that would do something if they ever reached a shell unquoted. */
function hostileStrings(dir: string): string[] {
  return [
    '$(touch x)',
    '`touch x`',
    `$(touch ${dir}/pwned-subst)`,
    `\`touch ${dir}/pwned-backtick\``,
    `; touch ${dir}/pwned-semicolon`,
    `&& touch ${dir}/pwned-and`,
    `| touch ${dir}/pwned-pipe`,
    `> ${dir}/pwned-redirect`,
    "it's",
    '"double"',
    `'single' "double" 'mixed"`,
    'line1\nline2\n',
    '*',
    '?',
    '[a-z]*',
    '-rf',
    '--',
    '-n',
    ';',
    '&&',
    '|',
    '>',
    '<',
    '$HOME',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion that must not expand
    '${HOME}',
    '\\',
    '\\n',
    'ünïcødé ✓ 日本 🚀',
    ' spaced  out ',
    '\t',
    '',
    '!event',
    '~',
    '#comment',
    '%s %d',
  ];
}

export interface Caps {
  /**
   * How a script names its own shell's pid: `$$` everywhere except in a persistent login
   * shell, where scripts run in a subshell of the session and `$$` is the session's pid.
   */
  self?: string;
}

export function conformance(
  name: string,
  makeRunner: () => Runner | Promise<Runner>,
  caps: Caps = {},
): void {
  const self = caps.self ?? '$$';
  describe(`Runner conformance: ${name}`, () => {
    let runner: Runner;
    let dir: string;

    beforeAll(async () => {
      runner = await makeRunner();
      const r = await runner.run(['mktemp', '-d', '/tmp/berth-conformance.XXXXXX']);
      expect(r.exitCode).toBe(0);
      dir = r.stdout.trim();
    });

    afterAll(async () => {
      await runner?.run(['rm', '-rf', '--', dir]);
      await runner?.close({ master: true });
    });

    it('reports exit codes 0, 1 and 42 in the same shape', async () => {
      const ok = await runner.run(['true']);
      expect(ok).toMatchObject({ command: 'true', host: runner.host, exitCode: 0, signal: null });
      expect(ok).toMatchObject({ stdout: '', stderr: '', timedOut: false });
      expect(ok.durationMs).toBeGreaterThan(0);
      expect((await runner.run(['false'])).exitCode).toBe(1);
      const r42 = await runner.sh('exit 42');
      expect(r42).toMatchObject({ command: 'exit 42', exitCode: 42, signal: null });
    });

    it('reports a death by signal as exitCode null and the signal name', async () => {
      expect(await runner.sh(`kill -9 ${self}`)).toMatchObject({
        exitCode: null,
        signal: 'SIGKILL',
      });
      expect(await runner.sh(`kill -TERM ${self}`)).toMatchObject({
        exitCode: null,
        signal: 'SIGTERM',
      });
      // exit 137 is an exit code, not a signal, though $? looks the same in bash.
      expect(await runner.sh('exit 137')).toMatchObject({ exitCode: 137, signal: null });
      expect(await runner.sh('exit 255')).toMatchObject({ exitCode: 255, signal: null });
    });

    it('reports a program that does not exist as exit 127 "command not found"', async () => {
      const r = await runner.run(['berth-no-such-program', 'x']);
      expect(r.exitCode).toBe(127);
      expect(r.stderr).toMatch(/berth-no-such-program: command not found/);
    });

    it('keeps stdout and stderr apart, unicode intact', async () => {
      const r = await runner.sh(
        "printf 'out ünï ✓ 日本\\n'; printf 'err ✓ 🚀' >&2; printf 'more\\n'",
      );
      expect(r.stdout).toBe('out ünï ✓ 日本\nmore\n');
      expect(r.stderr).toBe('err ✓ 🚀');
    });

    it('passes all 256 byte values through stdin, stdout and stderr with binary: true', async () => {
      // (not tee /dev/stderr: node's stdio pipes are socketpairs, which cannot be reopened)
      const r = await runner.sh('cat > bytes && cat bytes && cat bytes >&2 && rm bytes', {
        stdin: ALL_BYTES,
        binary: true,
        cwd: dir,
      });
      expect(r.exitCode).toBe(0);
      expect(r.stdoutBytes?.equals(ALL_BYTES)).toBe(true);
      expect(r.stderrBytes?.equals(ALL_BYTES)).toBe(true);
    });

    it('feeds a string to stdin and closes it', async () => {
      const r = await runner.run(['cat'], { stdin: 'hello\nwörld' });
      expect(r.stdout).toBe('hello\nwörld');
      const none = await runner.run(['cat']);
      expect(none).toMatchObject({ exitCode: 0, stdout: '' });
    });

    it('sets env and cwd (values with quotes and spaces)', async () => {
      const env = { BERTH_A: 'it\'s a "value" $(x)', BERTH_EMPTY: '' };
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
      const r = await runner.sh('printf "%s|%s|%s" "$BERTH_A" "${BERTH_EMPTY-unset}" "$PWD"', {
        env,
        cwd: dir,
      });
      expect(r.stdout).toBe(`${env.BERTH_A}||${dir}`);
    });

    it('refuses an invalid environment variable name before running anything', async () => {
      await expect(runner.run(['true'], { env: { 'A-B': '1' } })).rejects.toThrow(UsageError);
      await expect(runner.run(['true'], { env: { 'A=B': '1' } })).rejects.toThrow(UsageError);
    });

    it('fails like `cd` does for a missing cwd', async () => {
      const r = await runner.run(['true'], { cwd: `${dir}/missing` });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/cd: .*missing: No such file or directory/);
    });

    it('runs a login shell only when asked', async () => {
      const probe = 'shopt -q login_shell && echo login || echo plain';
      expect((await runner.sh(probe, { login: true })).stdout).toBe('login\n');
      expect((await runner.sh(probe, { login: false })).stdout).toBe('plain\n');
    });

    it('times out in bounded time and kills the whole process tree', async () => {
      const tag = `${Date.now() % 100000}.${Math.floor(Math.random() * 1000)}`;
      const t0 = Date.now();
      const r = await runner.sh(`sleep 1${tag} & sleep 2${tag}; echo never`, { timeoutMs: 500 });
      expect(r).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGTERM', stdout: '' });
      // Bounded: far less than the sleeps (over 1000 s); loose, as a loaded machine stalls.
      expect(Date.now() - t0).toBeLessThan(60_000);
      // Killed (signalled) by now; a loaded machine may take a moment to let them exit.
      const left = () => runner.run(['pgrep', '-f', `slee[p] [12]${tag}`]);
      for (const end = Date.now() + 30_000; Date.now() < end; ) {
        if ((await left()).stdout === '') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect((await left()).stdout).toBe('');
    });

    it('kills with SIGKILL after the grace period when SIGTERM is ignored', async () => {
      const t0 = Date.now();
      const r = await runner.sh('trap "" TERM; sleep 300', { timeoutMs: 300 });
      expect(r).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGKILL' });
      // Killed, not waited for (the sleep is 300 s); loose, as a loaded machine stalls.
      expect(Date.now() - t0).toBeLessThan(60_000);
    });

    it('stops on abort (same shape, timedOut false)', async () => {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 300);
      const t0 = Date.now();
      const r = await runner.sh('sleep 300', { signal: ac.signal });
      expect(r).toMatchObject({ timedOut: false, exitCode: null, signal: 'SIGTERM' });
      // Stopped, not waited for (the sleep is 300 s); loose, as a loaded machine stalls.
      expect(Date.now() - t0).toBeLessThan(60_000);
    });

    it('delivers 10 MB of arbitrary bytes intact', async () => {
      const r = await runner.sh(
        `head -c ${MB10} /dev/urandom > big && sha256sum < big >&2 && cat big && rm big`,
        { cwd: dir, binary: true },
      );
      expect(r.exitCode).toBe(0);
      expect(r.stdoutBytes?.length).toBe(MB10);
      const sha = createHash('sha256').update(r.stdoutBytes!).digest('hex');
      expect(r.stderr.split(' ')[0]).toBe(sha);
    });

    it('delivers 10 MB of text intact as a string', async () => {
      const line = 'abcdefghijklmnopqrstuvwxyz0123456789-✓\n';
      const r = await runner.sh(`yes 'abcdefghijklmnopqrstuvwxyz0123456789-✓' | head -c ${MB10}`);
      expect(Buffer.byteLength(r.stdout)).toBe(MB10);
      expect(r.stdout.startsWith(line.repeat(100))).toBe(true);
    });

    it('streams complete lines as they arrive, including a last partial line', async () => {
      const out: [string, number][] = [];
      const err: string[] = [];
      const t0 = Date.now();
      const r = await runner.sh(
        "echo first; sleep 2; printf 'ünï\\nlast'; echo e1 >&2; printf e2 >&2",
        { onStdoutLine: (l) => out.push([l, Date.now() - t0]), onStderrLine: (l) => err.push(l) },
      );
      expect(out.map(([l]) => l)).toEqual(['first', 'ünï', 'last']);
      expect(err).toEqual(['e1', 'e2']);
      // The first line came early, not at the end: 2 s before it, with 1 s of slack for a
      // loaded machine.
      expect(out[0]![1]).toBeLessThan(r.durationMs - 1000);
      expect(r.stdout).toBe('first\nünï\nlast');
    });

    it('passes hostile strings as argv byte-exact, and nothing in them runs', async () => {
      const words = hostileStrings(dir);
      const r = await runner.run(['printf', '%s\\0', ...words], { cwd: dir });
      expect(r.exitCode).toBe(0);
      expect(r.stdout.split('\0').slice(0, -1)).toEqual(words);
      const viaSh = await runner.sh(`printf '%s\\0' ${quoteArgs(words)}`, { cwd: dir });
      expect(viaSh.stdout).toBe(r.stdout);
      const viaLogin = await runner.run(['printf', '%s\\0', ...words], { cwd: dir, login: true });
      expect(viaLogin.stdout).toBe(r.stdout);
      const left = await runner.sh('ls -A . ; test -e "$HOME/x" && echo HOME-CANARY; true', {
        cwd: dir,
      });
      expect(left.stdout).toBe('');
    });

    it('passes hostile strings through env values and cwd names', async () => {
      const sub = `${dir}/$(touch pwned) it's`;
      expect((await runner.run(['mkdir', '--', sub])).exitCode).toBe(0);
      const r = await runner.run(['pwd'], { cwd: sub, env: { V: '`touch pwned2`' } });
      expect(r.stdout).toBe(`${sub}\n`);
      const ls = await runner.run(['ls', '-A'], { cwd: dir });
      expect(ls.stdout).toBe("$(touch pwned) it's\n");
    });

    it('hands the terminal over in interactive mode (nothing captured)', async () => {
      const r = await runner.sh('exit 3', { interactive: true });
      expect(r).toMatchObject({ exitCode: 3, stdout: '', stderr: '', timedOut: false });
    });
  });
}

/** The same runner with `login: true` unless a call says otherwise. */
function loginByDefault(runner: Runner): Runner {
  const opts = (o: RunOptions = {}) => ({ login: true, ...o });
  return {
    host: runner.host,
    kind: runner.kind,
    run: (argv, o) => runner.run(argv, opts(o)),
    sh: (script, o) => runner.sh(script, opts(o)),
    close: (o) => runner.close(o),
  };
}

const stateDirs: string[] = [];
function sshRunner(persistentShell = false): SshRunner {
  const c = cluster();
  const stateDir = mkdtempSync(join(tmpdir(), 'berth-rt-'));
  stateDirs.push(stateDir);
  return new SshRunner({
    host: 'cluster',
    target: c.sshAlias,
    configFile: c.sshConfig,
    stateDir,
    persistentShell,
  });
}

conformance('local', () => new LocalRunner());
conformance('ssh', () => sshRunner());
// The persistent login shell (shell-session.ts) must give the same results.
conformance(
  'local, persistent login shell',
  () => loginByDefault(new LocalRunner({ persistentShell: true })),
  {
    self: '$BASHPID',
  },
);
conformance('ssh, persistent login shell', () => sshRunner(true), { self: '$BASHPID' });

afterAll(() => {
  for (const d of stateDirs) rmSync(d, { recursive: true, force: true });
});
