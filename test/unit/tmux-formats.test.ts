import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  checkSocket,
  isNoServer,
  isNoSession,
  parsePanes,
  parseSessions,
  sessionSocket,
  TMUX_NAME_PATTERN,
  tmuxArg,
  tmuxNameShell,
  tmuxSessionName,
} from '../../src/tmux/index.js';

// Captured from tmux 3.3a with SESSION_FORMAT and PANE_FORMAT (a live pane, a pane that
// exited 7 and one killed by SIGKILL, all with remain-on-exit on).
const SESSIONS = ['1795462886|0|1|a|b c', '1795462886|2|1|dead', '1795462886|0|3|sig', ''].join(
  '\n',
);
const PANES = ['17579|0|||0.0|a|b c', '17583|1|7||0.0|dead', '17593|1||9|0.0|sig', ''].join('\n');

describe('tmux -F parsers', () => {
  it('parse list-sessions output, keeping a name with "|" and spaces whole', () => {
    expect(parseSessions(SESSIONS)).toEqual([
      { name: 'a|b c', created: 1795462886, attached: 0, windows: 1 },
      { name: 'dead', created: 1795462886, attached: 2, windows: 1 },
      { name: 'sig', created: 1795462886, attached: 0, windows: 3 },
    ]);
  });

  it('parse list-panes output: live, exited with a status, killed by a signal', () => {
    expect(parsePanes(PANES)).toEqual([
      {
        session: 'a|b c',
        index: '0.0',
        pid: 17579,
        dead: false,
        exitStatus: null,
        exitSignal: null,
      },
      { session: 'dead', index: '0.0', pid: 17583, dead: true, exitStatus: 7, exitSignal: null },
      { session: 'sig', index: '0.0', pid: 17593, dead: true, exitStatus: null, exitSignal: 9 },
    ]);
  });

  it('skip banner noise and malformed lines, accept CRLF', () => {
    const text = `Welcome to the cluster\r\nno|fields\r\n${PANES.split('\n')[1]}\r\n`;
    expect(parsePanes(text).map((p) => p.session)).toEqual(['dead']);
    expect(parseSessions('motd line\n\nx|y|z|w\n')).toEqual([]);
  });

  it('recognise "no server" and "no session" answers', () => {
    expect(isNoServer('no server running on /tmp/tmux-0/berth-x')).toBe(true);
    expect(
      isNoServer('error connecting to /tmp/t/tmux-0/berth-x (No such file or directory)'),
    ).toBe(true);
    expect(isNoSession("can't find session: foo")).toBe(true);
    expect(isNoSession("can't find pane: =foo:")).toBe(true);
    expect(isNoSession('unknown option -- z')).toBe(false);
  });
});

describe('tmux sockets', () => {
  it('are always berth-owned names', () => {
    expect(checkSocket('berth-abc_1.2-x')).toBe('berth-abc_1.2-x');
    for (const bad of [
      'default',
      '',
      'berth-',
      'berth-a b',
      'berth-$(x)',
      'x-berth-a',
      'berth-../a',
    ])
      expect(() => checkSocket(bad), bad).toThrow(/refusing tmux socket/);
  });

  it('per session: namespaced, deterministic, short enough for a socket path', () => {
    const a = sessionSocket('/state/one', 'train');
    expect(a).toMatch(/^berth-[0-9a-f]{6}-train$/);
    expect(sessionSocket('/state/one', 'train')).toBe(a);
    expect(sessionSocket('/state/two', 'train')).not.toBe(a);
    const long = sessionSocket('/s', 'x'.repeat(128));
    expect(long.length).toBeLessThanOrEqual(50);
    expect(sessionSocket('/s', `${'x'.repeat(127)}y`)).not.toBe(long);
  });
});

describe('tmux session names', () => {
  it("map '.' and ':' the way tmux would", () => {
    expect(tmuxSessionName('exp.v2:a')).toBe('exp_v2_a');
    expect(tmuxSessionName('plain-name_1')).toBe('plain-name_1');
  });

  it('map the same way in the shell scripts (bash)', () => {
    for (const name of ['exp.v2:a', 'plain-name_1', '..a..', 'x']) {
      const r = spawnSync('bash', ['-c', `printf '%s' ${tmuxNameShell('name')}`], {
        env: { PATH: process.env.PATH, name },
        encoding: 'utf8',
      });
      expect(r.stdout).toBe(tmuxSessionName(name));
      expect(r.stdout).toMatch(TMUX_NAME_PATTERN);
    }
    expect(() => tmuxNameShell('a; rm')).toThrow(/not a shell variable/);
  });
});

describe('tmux arguments', () => {
  it("escape a trailing ';' so tmux does not take it as a command separator", () => {
    expect(tmuxArg('a;')).toBe('a\\;');
    expect(tmuxArg('a\\;')).toBe('a\\\\;');
    expect(tmuxArg(';')).toBe('\\;');
    expect(tmuxArg('a;b')).toBe('a;b');
  });
});
