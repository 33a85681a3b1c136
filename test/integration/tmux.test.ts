/**
 * The tmux module against real tmux: on this machine and over ssh on the test sshd.
 * Each run uses its own socket names (and locally its own TMUX_TMPDIR) and checks that no
 * server it started is left behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tmux } from '../../src/tmux/index.js';
import { createRunner, type Runner } from '../../src/transport/index.js';
import { cluster } from '../helpers/cluster.js';

const tag = randomBytes(3).toString('hex');
const tmp = mkdtempSync(join(tmpdir(), 'berth-tmux-'));
const sockets: Array<{ runner: Runner; socket: string }> = [];

beforeAll(() => {
  process.env.TMUX_TMPDIR = tmp;
});

afterAll(async () => {
  for (const { runner, socket } of sockets) {
    const left = await runner.run(['tmux', '-L', socket, 'list-sessions']);
    expect(left.exitCode, `tmux server ${socket} on ${runner.host} was left running`).not.toBe(0);
    await runner.close();
  }
  rmSync(tmp, { recursive: true, force: true });
});

function runners(): Array<[string, () => Runner]> {
  return [
    ['local', () => createRunner({ name: 'local' }, { stateDir: tmp })],
    [
      'ssh',
      () => {
        const c = cluster();
        return createRunner(
          { name: 'cluster', ssh: c.sshAlias, sshConfig: c.sshConfig },
          { stateDir: tmp },
        );
      },
    ],
  ];
}

/** Poll `check`; the deadline only bounds a failure (a loaded CI machine can stall seconds). */
async function until(what: string, check: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.each(runners())('tmux over the %s runner', (_kind, make) => {
  let runner: Runner;
  let tmux: Tmux;
  let dir: string;

  beforeAll(async () => {
    runner = make();
    const socket = `berth-t${tag}-${_kind}`;
    tmux = new Tmux(runner, socket);
    sockets.push({ runner, socket });
    const r = await runner.sh('d=$(mktemp -d) && printf %s "$d"');
    dir = r.stdout.trim().split('\n').pop()!;
  });

  afterAll(async () => {
    for (const s of await tmux.listSessions()) await tmux.killSession(s.name);
    await runner.run(['rm', '-rf', dir]);
  });

  it('starts a detached session with env and cwd, lists it, reads its screen', async () => {
    await tmux.newSession({
      name: 'hello',
      command: 'echo "cwd=$PWD v=$BERTH_T"; exec cat',
      cwd: dir,
      env: { BERTH_T: "it's $(x)" },
      width: 100,
      height: 20,
    });
    expect(await tmux.hasSession('hello')).toBe(true);
    expect((await tmux.listSessions()).map((s) => s.name)).toContain('hello');
    await until('the screen', async () =>
      (await tmux.capturePane('hello')).includes(`cwd=${dir} v=it's $(x)`),
    );
  });

  it('types into a session (keys and literal text) and captures the result', async () => {
    await tmux.sendKeys('hello', ['-n $(literal) ; text'], { literal: true });
    await tmux.sendKeys('hello', ['Enter']);
    await until('the echo of cat', async () => {
      const screen = await tmux.capturePane('hello');
      return screen.split('\n').filter((l) => l === '-n $(literal) ; text').length === 2;
    });
  });

  it("passes arguments ending in ';' through unchanged", async () => {
    await tmux.sendKeys('hello', ['semi;', ' back\\;'], { literal: true });
    await tmux.sendKeys('hello', ['Enter']);
    await until('the semicolons', async () =>
      (await tmux.capturePane('hello')).includes('semi; back\\;'),
    );
    await tmux.newSession({
      name: 'argv',
      command: ['bash', '-c', 'echo "[$1][$2]"; exec sleep 300', 'x', 'a;', 'b\\;'],
    });
    await until('the argv', async () => (await tmux.capturePane('argv')).includes('[a;][b\\;]'));
    expect(await tmux.killSession('argv')).toBe(true);
  });

  it('pipes the output of a pane into a log file', async () => {
    const log = `${dir}/it's a log.txt`;
    await tmux.pipeToFile('hello', log);
    await tmux.sendKeys('hello', ['piped line', 'Enter']);
    await until('the log', async () => {
      const r = await runner.run(['cat', log]);
      return r.stdout.includes('piped line');
    });
  });

  it('reports a dead pane, with its exit status once tmux has reaped the process', async () => {
    await tmux.newSession({ name: 'dies', command: 'sleep 0.3; exit 7', remainOnExit: true });
    await until('the pane to die', async () => (await tmux.paneStatus('dies'))?.dead === true);
    // tmux 3.3a sometimes never reaps a pane's process (it stays a zombie, and
    // #{pane_dead_status} stays empty): the status is best effort, see formats.ts.
    await new Promise((r) => setTimeout(r, 300));
    const pane = await tmux.paneStatus('dies');
    expect(pane).toMatchObject({ session: 'dies', dead: true, exitSignal: null });
    expect([7, null]).toContain(pane?.exitStatus);
    expect((await tmux.listPanes('dies'))[0]?.pid).toBe(pane?.pid);
  });

  it('targets are exact: "train" does not reach "training"', async () => {
    await tmux.newSession({ name: 'training', command: 'exec sleep 300' });
    expect(await tmux.hasSession('train')).toBe(false);
    expect(await tmux.killSession('train')).toBe(false);
    expect(await tmux.paneStatus('train')).toBeUndefined();
    expect(await tmux.hasSession('training')).toBe(true);
    expect(await tmux.killSession('training')).toBe(true);
  });

  it('a hostile session name is refused, and elsewhere only ever an argument', async () => {
    const canary = `${dir}/canary`;
    const name = `x$(touch ${canary});'"\`touch ${canary}\``;
    await expect(tmux.newSession({ name, command: ['sleep', '300'] })).rejects.toThrow(
      /refusing tmux session name/,
    );
    expect(await tmux.hasSession(name)).toBe(false);
    expect(await tmux.killSession(name)).toBe(false);
    expect(await tmux.paneStatus(name)).toBeUndefined();
    expect((await runner.run(['test', '-e', canary])).exitCode).toBe(1);
  });

  it('answers "nothing" when no server runs on the socket', async () => {
    const idle = new Tmux(runner, `berth-t${tag}-idle-${_kind}`);
    expect(await idle.listSessions()).toEqual([]);
    expect(await idle.listPanes('x')).toEqual([]);
    expect(await idle.hasSession('x')).toBe(false);
    expect(await idle.killSession('x')).toBe(false);
    await expect(idle.capturePane('x')).rejects.toThrow(/cannot capture the screen of x/);
  });

  it('ending its sessions ends the server', async () => {
    for (const s of await tmux.listSessions()) await tmux.killSession(s.name);
    expect(await tmux.listSessions()).toEqual([]);
  });
});

describe('tmux on the local default socket', () => {
  it('is never reached: same session name, berth socket killed, user server survives', async () => {
    const runner = createRunner({ name: 'local' }, { stateDir: tmp });
    const socket = `berth-t${tag}-mine`;
    sockets.push({ runner, socket });
    execFileSync('tmux', ['new-session', '-d', '-s', 'work', 'sleep 300']);
    try {
      const mine = new Tmux(runner, socket);
      await mine.newSession({ name: 'work', command: 'exec sleep 300' });
      expect(await mine.killSession('work')).toBe(true);
      expect(spawnSync('tmux', ['has-session', '-t', '=work']).status).toBe(0);
      expect(existsSync(join(tmp, `tmux-${process.getuid?.()}`, 'default'))).toBe(true);
    } finally {
      execFileSync('tmux', ['kill-server']); // the default server of our own TMUX_TMPDIR
    }
    expect(readFileSync('/proc/self/stat', 'utf8')).toBeTruthy();
  });
});
