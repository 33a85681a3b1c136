/**
 * Runtime `direct` end to end through the built CLI, on this machine and over ssh on the
 * test sshd: start, list, status, logs, stop, restart, --all, exit codes, hooks, restart
 * policies, staleness, checkpoints. Each sandbox has its own state dir (so its own tmux
 * sockets) and checks at the end that no tmux server it started is left.
 */
import { mkdirSync, renameSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  SessionStatus,
  StartResult,
  StatusDetail,
  StopResult,
} from '../../src/sessions/index.js';
import { type SessionSandbox, sessionSandbox, until } from '../fixtures/sessions/harness.js';

describe.each(['local', 'ssh'] as const)('sessions, runtime direct, %s', (where) => {
  let sb: SessionSandbox;
  const names: string[] = [];
  const n = (base: string) => {
    const name = `${base}-${sb.tag}`;
    names.push(name);
    return name;
  };
  const status = (name: string) => sb.json<StatusDetail>(['session', 'status', name, '--json']);

  beforeAll(() => {
    sb = sessionSandbox(where);
  });

  afterAll(() => {
    sb.run(['session', 'stop', '--all', '--grace', '1']);
    expect(sb.liveServers()).toEqual([]);
    if (names.length) sb.sh(`cd ${sb.root}/sessions && rm -rf ${names.join(' ')}`);
    sb.cleanup();
  });

  it('starts a session from a file; list, status and logs show it', async () => {
    const name = n('count');
    sb.spec(name, '  command: \'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done\'');
    const r = sb.run(['session', 'start', `${name}.yaml`, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [started] = JSON.parse(r.stdout) as StartResult[];
    expect(started).toMatchObject({
      name,
      host: sb.host,
      runtime: 'direct',
      started: true,
      reason: 'start',
    });
    expect(started?.runId).toMatch(/^\d{8}T\d{6}\.\d{3}Z$/);
    expect(started?.log).toMatch(new RegExp(`/sessions/${name}/${started?.runId}\\.log$`));
    expect(started?.socket).toBe(sb.socket(name));

    await until('output', () =>
      /tick 5/.test(sb.run(['session', 'logs', name, '-n', '50']).stdout),
    );
    const list = sb.json<SessionStatus[]>(['session', 'list', '--json']);
    expect(list.find((s) => s.name === name)).toMatchObject({
      state: 'running',
      host: sb.host,
      stale: false,
    });
    const s = status(name);
    expect(s).toMatchObject({
      state: 'running',
      desired: 'running',
      runId: started?.runId,
      exitCode: null,
    });
    expect(s.pid).toBeGreaterThan(1);
    expect(s.usage?.processes).toBeGreaterThanOrEqual(2); // launcher, command (and sleep)
    expect(s.usage?.rssMb).toBeGreaterThan(0);
    expect(s.runs).toHaveLength(1);
    expect(s.lastOutputAt).not.toBeNull();

    const text = sb.run(['session', 'list']);
    expect(text.stdout).toMatch(new RegExp(`^${name}\\s+${sb.host}\\s+direct\\s+running`, 'm'));
    const tail = sb.run(['session', 'logs', name, '-n', '3']).stdout.trimEnd().split('\n');
    expect(tail).toHaveLength(3);
    for (const line of tail) expect(line).toMatch(/^tick \d+$/);
    const screen = sb.json<{ screen: string }>(['session', 'logs', name, '--screen', '--json']);
    expect(screen.screen).toMatch(/tick \d+/);
  });

  it('refuses to start a running session (exit 7) unless --force, which makes a new run', () => {
    const name = names[0]!;
    const again = sb.run(['session', 'start', name]);
    expect(again.status).toBe(7);
    expect(again.stderr).toMatch(/already running/);
    expect(again.stderr).toMatch(/--force/);
    const before = status(name).runId;
    const forced = sb.json<StartResult[]>([
      'session',
      'start',
      `${name}.yaml`,
      '--force',
      '--grace',
      '2',
      '--json',
    ]);
    expect(forced[0]).toMatchObject({ started: true, reason: 'force' });
    expect(forced[0]?.runId).not.toBe(before);
    const s = status(name);
    expect(s.runs.map((r) => r.runId)).toEqual([forced[0]?.runId, before]);
    expect(s.runs[1]?.endedAt).not.toBeNull();
  });

  it('records the exit code; postStop runs only on success; logs -f ends with the command', () => {
    const ok = n('ok');
    const bad = n('bad');
    const hooks = (tag: string) =>
      `  hooks:\n    postStop: 'touch "$BERTH_SESSION_DIR/post-${tag}"'\n    preStart: 'echo "pre in $PWD"'\n  workdir: /tmp`;
    sb.spec(ok, `  command: 'echo working; sleep 1; echo done'\n${hooks('ok')}`);
    sb.spec(bad, `  command: 'echo failing; sleep 1; exit 3'\n${hooks('bad')}`);
    expect(sb.run(['session', 'start', `${ok}.yaml`, `${bad}.yaml`]).status).toBe(0);
    const follow = sb.run(['session', 'logs', ok, '-f']);
    expect(follow.status).toBe(0);
    expect(follow.stdout).toMatch(/^pre in \/tmp\nworking\ndone\n$/);
    sb.run(['session', 'logs', bad, '-f']);
    expect(status(ok)).toMatchObject({ state: 'exited', exitCode: 0 });
    expect(status(bad)).toMatchObject({ state: 'exited', exitCode: 3 });
    expect(status(bad).runs[0]).toMatchObject({ exitCode: 3 });
    const files = sb.sh(`ls ${sb.root}/sessions/${ok} ${sb.root}/sessions/${bad}`).stdout;
    expect(files).toMatch(/post-ok/);
    expect(files).not.toMatch(/post-bad/);
    expect(sb.run(['session', 'list']).stdout).toMatch(
      new RegExp(`^${bad}\\s.*exited \\(3\\)`, 'm'),
    );
  });

  it('applies restart policies when berth looks (no daemon): on-failure, always, never', () => {
    const flaky = n('flaky');
    const once = n('once');
    sb.spec(flaky, "  command: 'echo run; exit 5'\n  restart: on-failure");
    sb.spec(once, "  command: 'echo run; exit 5'\n  restart: never");
    sb.run(['session', 'start', `${flaky}.yaml`, `${once}.yaml`]);
    sb.run(['session', 'logs', flaky, '-f']);
    sb.run(['session', 'logs', once, '-f']);
    const looked = sb.json<SessionStatus[]>(['session', 'list', '--json']);
    const f = looked.find((s) => s.name === flaky)!;
    expect(f.restarted).toMatchObject({ previousExitCode: 5 });
    expect(f.restarts).toBe(1);
    expect(looked.find((s) => s.name === once)).toMatchObject({ state: 'exited', exitCode: 5 });
    expect(looked.find((s) => s.name === once)?.restarted).toBeUndefined();
    const s = status(flaky);
    expect(s.runs.map((r) => r.reason)).toContain('policy');
    expect(s.runs.find((r) => r.reason === 'start')?.exitCode).toBe(5);
  });

  it('flags a silent session as stale after logs.staleAfter', async () => {
    const quiet = n('quiet');
    sb.spec(quiet, "  command: 'echo hello; exec sleep 600'\n  logs: { staleAfter: 2s }");
    sb.run(['session', 'start', `${quiet}.yaml`]);
    expect(status(quiet)).toMatchObject({ state: 'running', stale: false });
    await new Promise((r) => setTimeout(r, 3500));
    expect(status(quiet)).toMatchObject({ state: 'running', stale: true });
    expect(sb.run(['session', 'list']).stdout).toMatch(
      new RegExp(`^${quiet}\\s.*running \\(stale\\)`, 'm'),
    );
  });

  it('gives the command BERTH_CHECKPOINT_DIR and, on the next run, the newest complete checkpoint', () => {
    const ck = n('ckpt');
    sb.spec(
      ck,
      [
        '  command: |',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
        '    echo "dir=$BERTH_CHECKPOINT_DIR resume=${BERTH_RESUME_FROM:-none}"',
        '    n=$(date +%s%N)',
        '    mkdir "$BERTH_CHECKPOINT_DIR/.tmp-$n" && echo "$n" > "$BERTH_CHECKPOINT_DIR/.tmp-$n/state"',
        '    touch "$BERTH_CHECKPOINT_DIR/.tmp-$n/COMPLETE" && mv "$BERTH_CHECKPOINT_DIR/.tmp-$n" "$BERTH_CHECKPOINT_DIR/$n"',
        '    mkdir "$BERTH_CHECKPOINT_DIR/9999999999999999999"  # incomplete: no marker',
      ].join('\n'),
    );
    sb.run(['session', 'start', `${ck}.yaml`]);
    const first = sb.run(['session', 'logs', ck, '-f']).stdout;
    expect(first).toMatch(new RegExp(`^dir=\\S+/sessions/${ck}/checkpoints resume=none$`, 'm'));
    const restarted = sb.json<StartResult>(['session', 'restart', ck, '--json']);
    expect(restarted).toMatchObject({ reason: 'restart', started: true });
    const second = sb.run(['session', 'logs', ck, '-f']).stdout;
    const resume = /resume=(\S+)/.exec(second)?.[1];
    expect(resume).toMatch(new RegExp(`/sessions/${ck}/checkpoints/\\d+$`));
    expect(resume).not.toMatch(/9999999999999999999/);
    expect(status(ck).checkpoint).toMatch(/checkpoints\/\d+$/);
    expect(status(ck).runs).toHaveLength(2);
  });

  it('stops named sessions with TERM first (the command can clean up), then --all', () => {
    const polite = n('polite');
    sb.spec(
      polite,
      '  command: \'trap "echo got TERM; exit 0" TERM; echo ready; while :; do sleep 0.1; done\'',
    );
    sb.run(['session', 'start', `${polite}.yaml`]);
    const stopped = sb.json<StopResult[]>(['session', 'stop', polite, '--json']);
    expect(stopped).toEqual([
      { name: polite, host: sb.host, runId: expect.any(String), ended: true, exitCode: 0 },
    ]);
    expect(sb.run(['session', 'logs', polite]).stdout).toMatch(/got TERM/);
    expect(status(polite)).toMatchObject({ state: 'stopped', desired: 'stopped', exitCode: 0 });

    const all = sb.json<StopResult[]>(['session', 'stop', '--all', '--grace', '1', '--json']);
    expect(all.map((s) => s.name)).toContain(names[0]);
    expect(all.map((s) => s.name)).not.toContain(polite); // already stopped
    expect(sb.liveServers()).toEqual([]);
    const list = sb.json<SessionStatus[]>(['session', 'list', '--json']);
    for (const s of list) expect(['stopped', 'exited']).toContain(s.state);
    expect(list.find((s) => s.name === names[0])?.restarted).toBeUndefined();
  });

  it('start --all starts every discovered spec, skipping running ones', () => {
    const dir = `${sb.dir}/specs`;
    const a = n('all-a');
    const b = n('all-b');
    sb.env.BERTH_SESSION_DIRS = dir;
    try {
      mkdirSync(dir, { recursive: true });
      for (const name of [a, b]) {
        renameSync(sb.spec(name, "  command: 'exec sleep 600'"), `${dir}/${name}.yaml`);
      }
      expect(sb.json<StartResult[]>(['session', 'start', a, '--json'])[0]?.started).toBe(true);
      const r = sb.json<StartResult[]>(['session', 'start', '--all', '--json']);
      expect(r.find((x) => x.name === a)).toMatchObject({
        started: false,
        note: 'already running',
      });
      expect(r.find((x) => x.name === b)).toMatchObject({ started: true });
      const stopped = sb.json<StopResult[]>(['session', 'stop', '--all', '--json']);
      expect(stopped.map((s) => s.name).sort()).toEqual([a, b].sort());
    } finally {
      delete sb.env.BERTH_SESSION_DIRS;
    }
  });
});
