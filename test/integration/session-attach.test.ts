/**
 * Sessions as a user meets them at the terminal and at the edges: attach (scripted
 * inside a test-side tmux on its own socket: send-keys, capture-pane, detach), tmux
 * servers berth did not start surviving `stop --all`, hostile names and values, bad spec
 * files, and an unreachable host read as unknown (never as gone).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionStatus, StartResult } from '../../src/sessions/index.js';
import {
  outerTerminal,
  type SessionSandbox,
  sessionSandbox,
  until,
} from '../fixtures/sessions/harness.js';

describe.each(['local', 'ssh'] as const)('sessions at the terminal, %s', (where) => {
  let sb: SessionSandbox;
  const names: string[] = [];
  const n = (base: string) => {
    const name = `${base}-${sb.tag}`;
    names.push(name);
    return name;
  };
  /** The test's own terminal: a tmux on its own socket, never berth's. */
  const term = () => outerTerminal(sb);
  const screen = (target = 'outer') => term().screen(target);

  beforeAll(() => {
    sb = sessionSandbox(where);
  });

  afterAll(() => {
    term().close();
    sb.run(['session', 'stop', '--all', '--grace', '1']);
    expect(sb.liveServers()).toEqual([]);
    if (names.length) sb.sh(`cd ${sb.root}/sessions && rm -rf ${names.join(' ')}`);
    sb.cleanup();
  });

  it('attach: typing reaches the program, the screen shows it, detaching leaves it running', async () => {
    const name = n('chat');
    sb.spec(name, `  command: 'echo "say something"; while read -r l; do echo "got:$l"; done'`);
    expect(sb.run(['session', 'start', `${name}.yaml`]).status).toBe(0);
    term().open('outer', ['session', 'attach', name]);
    await until('the attached screen', () => screen().includes('say something')).catch((e) => {
      throw new Error(`${e.message}; the outer screen:\n${screen()}`);
    });
    term().type('outer', 'hello from the keyboard');
    await until('the echo', () => screen().includes('got:hello from the keyboard'));
    expect(sb.run(['session', 'logs', name]).stdout).toMatch(/got:hello from the keyboard/);
    term().keys('outer', 'C-b', 'd');
    await until('the detach', () => screen().includes('ATTACH-EXIT=0'));
    expect(screen()).toMatch(/detached/);
    expect(sb.json<SessionStatus>(['session', 'status', name, '--json']).state).toBe('running');
  });

  it('attach: a stopped session is exit 3 with a hint; without a terminal, exit 2', async () => {
    const name = n('gone');
    sb.spec(name, "  command: 'exec sleep 600'");
    sb.run(['session', 'start', `${name}.yaml`]);
    sb.run(['session', 'stop', name, '--grace', '1']);
    term().open('refused', ['session', 'attach', name]);
    await until('the refusal', () => screen('refused').includes('ATTACH-EXIT=3')).catch((e) => {
      throw new Error(`${e.message}; the outer screen:\n${screen('refused')}`);
    });
    expect(screen('refused')).toMatch(new RegExp(`session ${name} has no tmux session`));
    expect(screen('refused')).toMatch(/hint: start it: berth session start/);
    const r = sb.run(['session', 'attach', name]); // spawnSync: no terminal
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/attach needs a terminal/);
  });

  it('stop --all leaves alone tmux servers and sessions berth did not start', () => {
    const name = n('mine');
    sb.spec(name, "  command: 'exec sleep 600'");
    sb.run(['session', 'start', `${name}.yaml`]);
    // Same session name on another socket of the host, and on a berth-looking socket
    // that no record names.
    const foreign = `foreign-${sb.tag}`;
    const lookalike = sb.socket(`unrecorded-${sb.tag}`);
    for (const socket of [foreign, lookalike]) {
      expect(sb.sh(`tmux -L ${socket} new-session -d -s ${name} 'sleep 600'`).status).toBe(0);
    }
    // Locally also the default server of this TMUX_TMPDIR.
    if (where === 'local') {
      const r = spawnSync('tmux', ['new-session', '-d', '-s', name, 'sleep 600'], { env: sb.env });
      expect(r.status).toBe(0);
    }
    try {
      const stopped = sb.json<Array<{ name: string }>>([
        'session',
        'stop',
        '--all',
        '--grace',
        '1',
        '--json',
      ]);
      expect(stopped.map((s) => s.name)).toContain(name);
      for (const socket of [foreign, lookalike]) {
        expect(sb.sh(`tmux -L ${socket} has-session -t =${name}`).status, socket).toBe(0);
      }
      if (where === 'local') {
        expect(spawnSync('tmux', ['has-session', '-t', `=${name}`], { env: sb.env }).status).toBe(
          0,
        );
      }
      expect(sb.liveServers()).toEqual([lookalike]);
    } finally {
      for (const socket of [foreign, lookalike]) sb.sh(`tmux -L ${socket} kill-server`);
      if (where === 'local') spawnSync('tmux', ['kill-server'], { env: sb.env });
    }
  });

  it('env values, workdir and labels are data, never shell text', () => {
    const name = n('hostile');
    const canary = `${sb.root}/canary-${sb.tag}`;
    const evil = `$(touch ${canary})\`touch ${canary}\`'; touch ${canary}; '"`;
    const dir = `/tmp/berth dir 'q' ${sb.tag}`;
    sb.sh(`mkdir -p "${dir}"`);
    sb.spec(
      name,
      [
        `  command: [printf, "%s|%s|%s\\\\n", "$EVIL", "$PWD", "${'$'}(touch ${canary})"]`,
        `  workdir: "${dir}"`,
        `  env: { EVIL: ${JSON.stringify(evil)} }`,
      ].join('\n'),
      { labels: `{ note: ${JSON.stringify(evil)} }` },
    );
    expect(sb.run(['session', 'start', `${name}.yaml`]).status).toBe(0);
    const out = sb.run(['session', 'logs', name, '-f']).stdout;
    // The list form is exec'd without a shell: "$EVIL" and "$PWD" stay as written.
    expect(out).toContain(`$EVIL|$PWD|$(touch ${canary})`);
    expect(sb.sh(`test -e ${canary}`).status).toBe(1);
    // The string form sees the values through the environment, unexpanded.
    const name2 = n('hostile2');
    sb.spec(
      name2,
      [
        `  command: 'printf "%s|%s\\n" "$EVIL" "$PWD"'`,
        `  workdir: "${dir}"`,
        `  env: { EVIL: ${JSON.stringify(evil)} }`,
      ].join('\n'),
    );
    sb.run(['session', 'start', `${name2}.yaml`]);
    expect(sb.run(['session', 'logs', name2, '-f']).stdout).toContain(`${evil}|${dir}`);
    expect(sb.sh(`test -e ${canary}`).status).toBe(1);
    sb.sh(`rmdir "${dir}"`);
  });

  it('hostile names are refused at the edge (exit 2) and nothing runs', () => {
    const canary = `${sb.dir}/canary`;
    for (const args of [
      ['session', 'status', `x;touch ${canary}`],
      ['session', 'start', 'x$(touch canary)'],
      ['session', 'stop', 'a b'],
      ['session', 'logs', '..'],
      ['session', 'restart', `-x`],
    ]) {
      const r = sb.run(args);
      expect(r.status, args.join(' ')).toBe(2);
    }
    expect(sb.run(['session', 'status', 'x;y']).stderr).toMatch(/invalid session name "x;y"/);
    expect(existsSync(canary)).toBe(false);
  });

  it('bad specs: file:line:col, exit 2, and nothing of the batch starts', () => {
    const good = n('good');
    sb.spec(good, "  command: 'exec sleep 600'");
    const bad = join(sb.cwd, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: berth/v1\nkind: Session\nmetadata: { name: "bad one" }\nspec:\n  command: x\n  restart: sometimes\n',
    );
    const r = sb.run(['session', 'start', `${good}.yaml`, 'bad.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${bad}:3:19: metadata.name: invalid session name "bad one"`);
    expect(r.stderr).toContain(`${bad}:6:12: spec.restart: "sometimes" is not valid`);
    expect(r.stderr).toMatch(/^hint: fix the spec/m);
    const j = JSON.parse(sb.run(['session', 'start', 'bad.yaml', '--json']).stdout);
    expect(j.error).toBe('E_CONFIG');
    expect(sb.run(['session', 'status', good]).status).toBe(3); // never started
  });

  it.runIf(where === 'ssh')('an unreachable host makes its sessions unknown, not gone', () => {
    const name = n('far');
    sb.spec(name, "  command: 'exec sleep 600'");
    sb.run(['session', 'start', `${name}.yaml`]);
    const file = join(sb.cwd, 'berth.yaml');
    const yaml = readFileSync(file, 'utf8');
    writeFileSync(file, yaml.replace(/ssh: berth-test/, 'ssh: berth-down'));
    try {
      const r = sb.run(['session', 'list', '--json']);
      expect(r.status).toBe(0);
      const s = (JSON.parse(r.stdout) as SessionStatus[]).find((x) => x.name === name);
      expect(s).toMatchObject({ state: 'unknown', desired: 'running' });
      expect(s?.error).toMatch(/cluster/);
    } finally {
      writeFileSync(file, yaml);
    }
    expect(sb.json<SessionStatus>(['session', 'status', name, '--json']).state).toBe('running');
    expect(sb.json<StartResult[]>(['session', 'stop', name, '--json'])).toHaveLength(1);
  });
});
