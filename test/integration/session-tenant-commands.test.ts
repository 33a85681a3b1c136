/**
 * Runtime `slurm-tenant` on the test cluster, command by command: start, list, status,
 * logs (-n, -f, --screen), attach (scripted through a test-side tmux: typing reaches the
 * program, detaching leaves it running), stop, restart, a restart policy, start --all and
 * stop --all (a tmux session berth did not create in the lease's server is left alone),
 * and a session whose name has a '.' (tmux keeps it as '_'). One lease (`--tmux`) hosts
 * every session of this file; hops are covered by session-tenant.test.ts.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  SessionStatus,
  StartResult,
  StatusDetail,
  StopResult,
} from '../../src/sessions/index.js';
import { quote, quoteArgs } from '../../src/transport/quote.js';
import {
  bookTmuxLease,
  known,
  outerTerminal,
  type SessionSandbox,
  sessionSandbox,
  until,
} from '../fixtures/sessions/harness.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'berth.js');

describe('sessions, runtime slurm-tenant: every command', () => {
  let sb: SessionSandbox;
  let lease: string;
  const names: string[] = [];
  const n = (base: string) => {
    const name = `${base}-${sb.tag}`;
    names.push(name);
    return name;
  };
  const status = (name: string) => sb.json<StatusDetail>(['session', 'status', name, '--json']);
  /** The status once it is not unknown (a busy controller makes a look unknown for a while). */
  const look = (name: string) => known(() => status(name));
  const running = (name: string) =>
    until(`${name} to run`, () => status(name).state === 'running', 180_000);
  const tenantSpec = (name: string, command: string, more: string[] = []) =>
    sb.spec(
      name,
      [
        '  runtime: slurm-tenant',
        `  command: ${JSON.stringify(command)}`,
        ...more,
        `  slurm: { lease: ${lease} }`,
      ].join('\n'),
    );
  const leaseJob = () =>
    sb.json<{ jobId: string; extra: { nodes: string[] } }>(['lease', 'get', lease, '--json']);
  /** tmux in the lease's current job, through srun on its batch host. */
  const leaseTmux = (...args: string[]) => {
    const { jobId, extra } = leaseJob();
    const argv = ['tmux', '-L', `berth-lease-${jobId}`, ...args];
    return sb.sh(
      `srun --jobid=${jobId} --overlap -w ${quote(extra.nodes[0]!)} -N1 -n1 -- ${quoteArgs(argv)}`,
    );
  };
  /** The sessions of the lease job's tmux server (polled until srun reaches the node). */
  const tmuxSessions = async () => {
    let out: string | undefined;
    await until(
      "the lease job's tmux sessions",
      () => {
        const r = leaseTmux('list-sessions', '-F', '#{session_name}');
        if (r.status === 0) out = r.stdout;
        return out !== undefined;
      },
      60_000,
    );
    return (out ?? '').split('\n').filter(Boolean);
  };
  /** `logs --screen` once srun reached the node (a busy node may refuse a step for a while). */
  const screenOf = async (name: string) => {
    let r = { status: null as number | null, stdout: '', stderr: '' };
    await until(
      `the screen of ${name}`,
      () => {
        r = sb.run(['session', 'logs', name, '--screen']);
        return r.status === 0;
      },
      60_000,
    ).catch((e) => {
      throw new Error(`${e.message}: ${r.stderr}`);
    });
    return r.stdout;
  };
  type Tenant = { name: string; alive: boolean };
  /** `lease tenant list` (it fails, exit 4, while srun cannot reach the node: then again). */
  const tenants = async () => {
    let out: Tenant[] | undefined;
    await until(
      'lease tenant list',
      () => {
        const r = sb.run(['lease', 'tenant', 'list', lease, '--json']);
        if (r.status === 0) out = JSON.parse(r.stdout) as Tenant[];
        return out !== undefined;
      },
      60_000,
    );
    return out ?? [];
  };
  /** Until `lease tenant list` shows the tenant alive in the lease's current job. */
  const alive = async (name: string) => {
    const end = Date.now() + 60_000;
    while (!(await tenants()).some((t) => t.name === name && t.alive)) {
      if (Date.now() > end)
        throw new Error(`timed out waiting for the lease to list ${name} alive`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  beforeAll(async () => {
    sb = sessionSandbox('ssh');
    lease = `tc-${sb.tag}`;
    await bookTmuxLease(sb, lease, ['--time', '30m']);
  }, 400_000);

  afterAll(async () => {
    outerTerminal(sb).close();
    sb.run(['session', 'stop', '--all', '--grace', '2']);
    sb.run(['lease', 'release', lease, '--missing-ok']);
    const ours = () =>
      sb.sh(`squeue -h -u "$USER" -t PENDING,RUNNING -o %j`).stdout.includes(lease);
    await until('the lease job to end', () => !ours(), 120_000);
    if (names.length) sb.sh(`cd ${sb.root}/sessions && rm -rf ${names.join(' ')}`);
    sb.cleanup();
  }, 200_000);

  it('starts in the lease: list, status, logs and screen; a second start is exit 7', async () => {
    const name = n('tick');
    tenantSpec(
      name,
      'i=0; while :; do echo "tick $i job $SLURM_JOB_ID"; i=$((i+1)); sleep 0.3; done',
    );
    const [started] = sb.json<StartResult[]>(['session', 'start', `${name}.yaml`, '--json']);
    const job = leaseJob().jobId;
    expect(started).toMatchObject({
      name,
      runtime: 'slurm-tenant',
      started: true,
      jobId: job,
      runId: null,
      reason: 'start',
    });
    await running(name);
    const s = await look(name);
    expect(s).toMatchObject({ state: 'running', jobId: job, socket: `berth-lease-${job}` });
    expect(s.node).toBe(leaseJob().extra.nodes[0]);
    expect(s.pid).toBeGreaterThan(0);
    expect(s.usage?.processes).toBeGreaterThanOrEqual(2);
    expect(s.runs).toHaveLength(1);
    expect(s.runs[0]).toMatchObject({ reason: 'start', jobId: job, endedAt: null });
    const listed = await known(
      () => sb.json<SessionStatus[]>(['session', 'list', '--json']).find((x) => x.name === name)!,
    );
    expect(listed).toMatchObject({ state: 'running', jobId: job });
    const row = new RegExp(`^${name}\\s+cluster\\s+slurm-tenant\\s+(\\S+)`, 'm');
    const table = await known(() => ({
      state: row.exec(sb.run(['session', 'list']).stdout)?.[1] ?? '',
    }));
    expect(table.state).toBe('running');
    await until(
      'output',
      () => new RegExp(`^tick 3 job ${job}$`, 'm').test(sb.run(['session', 'logs', name]).stdout),
      120_000,
    );
    const two = sb.run(['session', 'logs', name, '-n', '2']).stdout.trim().split('\n');
    expect(two).toHaveLength(2);
    const screen = await screenOf(name);
    expect(screen).toMatch(new RegExp(`tick \\d+ job ${job}`));
    await alive(name);
    expect(await tenants()).toEqual([expect.objectContaining({ name, alive: true })]);
    // a look that cannot tell (exit 4: squeue or the node busy) is retried, never a 2nd copy
    let again = { status: null as number | null, stderr: '' };
    await until(
      'a start that can tell',
      () => {
        again = sb.run(['session', 'start', name]);
        return again.status !== 4;
      },
      120_000,
    );
    expect(again.status).toBe(7);
    expect(again.stderr).toMatch(/already running/);
  }, 400_000);

  it('attaches through srun --pty in the lease job: typing reaches it, detaching leaves it', async () => {
    const name = n('chat');
    tenantSpec(name, 'echo "say something"; while read -r l; do echo "got:$l"; done');
    expect(sb.run(['session', 'start', `${name}.yaml`]).status).toBe(0);
    await running(name);
    const term = outerTerminal(sb);
    term.open('o', ['session', 'attach', name]);
    const screen = () => term.screen('o');
    await until('the attached screen', () => screen().includes('say something'), 90_000).catch(
      (e) => {
        throw new Error(`${e.message}; the outer screen:\n${screen()}`);
      },
    );
    term.type('o', 'hello tenant');
    await until('the echo', () => screen().includes('got:hello tenant'), 60_000);
    await until(
      'the echo in the log',
      () => /^got:hello tenant/m.test(sb.run(['session', 'logs', name]).stdout),
      60_000,
    );
    term.keys('o', 'C-b', 'd');
    await until('the detach', () => screen().includes('ATTACH-EXIT=0'), 60_000);
    expect(screen()).toMatch(/detached/);
    expect((await look(name)).state).toBe('running');
    term.tmux('kill-session', '-t', '=o');
  }, 400_000);

  it('logs -f follows a run until its command ends; the exit code is recorded', async () => {
    const name = n('short');
    tenantSpec(
      name,
      'echo begin; while [ ! -e "$BERTH_RUN_DIR/go-on" ]; do sleep 0.2; done; for i in 1 2 3; do echo "line $i"; sleep 0.5; done; exit 4',
    );
    expect(sb.run(['session', 'start', `${name}.yaml`]).status).toBe(0);
    await running(name);
    const runDir = `${sb.root}/sessions/${name}/runs/${(await look(name)).runId}`;
    // The command goes on once logs -f follows it; logs -f ends when the command does.
    const child = spawn(process.execPath, [bin, 'session', 'logs', name, '-f'], {
      cwd: sb.cwd,
      env: sb.env,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const ended = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await until('logs -f to print the start', () => out.includes('begin'), 60_000);
    } catch (e) {
      child.kill();
      throw e;
    }
    expect(sb.sh(`touch ${quote(runDir)}/go-on`).status).toBe(0);
    expect(await ended).toBe(0);
    expect(out).toMatch(/^line 3$/m);
    await until('the exit', () => status(name).state === 'exited', 60_000);
    const exited = await look(name);
    expect(exited).toMatchObject({ state: 'exited', exitCode: 4 });
    expect(exited.runs[0]).toMatchObject({ exitCode: 4 });
  }, 400_000);

  it('stops (TERM reaches the command, its tmux session ends) and restarts as a new run', async () => {
    const name = names[0]!;
    const job = leaseJob().jobId;
    const stopped = sb.json<StopResult[]>(['session', 'stop', name, '--json']);
    expect(stopped).toEqual([expect.objectContaining({ name, ended: true, exitCode: 143 })]);
    expect(await look(name)).toMatchObject({ state: 'stopped', desired: 'stopped', exitCode: 143 });
    expect(await tmuxSessions()).not.toContain(name);
    expect((await tenants()).map((t) => t.name)).not.toContain(name);
    const again = sb.json<StopResult[]>(['session', 'stop', name, '--json']);
    expect(again).toEqual([expect.objectContaining({ name, ended: false })]);
    const restarted = sb.json<StartResult>(['session', 'restart', name, '--json']);
    expect(restarted).toMatchObject({ name, started: true, jobId: job, reason: 'restart' });
    await until('the new run', () => status(name).runs.length === 2, 180_000);
    await running(name);
    const s = await look(name);
    expect(s.runs.map((r) => r.reason)).toEqual(['restart', 'start']);
    expect(s.runs[1]).toMatchObject({ exitCode: 143 });
    expect(s.runId).toBe(s.runs[0]?.runId);
    await alive(name);
  }, 400_000);

  it('applies a restart policy when berth looks', async () => {
    const name = n('flaky');
    tenantSpec(name, 'echo failing; sleep 2; exit 3', ['  restart: on-failure']);
    expect(sb.run(['session', 'start', `${name}.yaml`]).status).toBe(0);
    let seen: SessionStatus | undefined;
    await until(
      'the policy to act',
      () => {
        seen = sb.json<SessionStatus[]>(['session', 'list', '--json']).find((x) => x.name === name);
        return seen?.restarted !== undefined;
      },
      300_000,
    );
    expect(seen?.restarted).toMatchObject({ previousExitCode: 3 });
    expect(seen?.restarts).toBe(1);
    await until('the second run', () => status(name).runs.length >= 2, 180_000);
    const runs = (await look(name)).runs;
    expect(runs.at(-1)).toMatchObject({ reason: 'start', exitCode: 3 });
    expect(runs.at(-2)?.reason).toBe('policy');
    sb.run(['session', 'stop', name, '--grace', '1']);
    expect((await look(name)).state).toBe('stopped');
  }, 400_000);

  it("a name with a '.': tmux keeps it as '_', and every command finds it", async () => {
    const name = n('exp.v2');
    const tmuxName = name.replace(/\./g, '_');
    tenantSpec(name, 'while :; do echo "dotted $BERTH_SESSION"; sleep 0.5; done');
    expect(sb.run(['session', 'start', `${name}.yaml`]).status).toBe(0);
    await running(name);
    expect(await tmuxSessions()).toContain(tmuxName);
    await alive(name);
    expect(await screenOf(name)).toMatch(new RegExp(`dotted ${name.replace(/\./g, '\\.')}`));
    expect(sb.json<StopResult[]>(['session', 'stop', name, '--json'])).toEqual([
      expect.objectContaining({ name, ended: true }),
    ]);
    expect(await tmuxSessions()).not.toContain(tmuxName);
    // the lease's own tenant commands map the name the same way
    const other = `lt.x-${sb.tag}`;
    const added = sb.run(['lease', 'tenant', 'add', lease, other, '--', 'sleep', '600']);
    expect(added.status, added.stderr).toBe(0);
    await alive(other);
    const clash = sb.run(['lease', 'tenant', 'add', lease, other.replace('.', '_'), '--', 'true']);
    expect(clash.status).toBe(7);
    expect(clash.stderr).toMatch(/both are tmux session/);
    expect(sb.run(['lease', 'tenant', 'rm', lease, other]).status).toBe(0);
    expect(await tmuxSessions()).not.toContain(other.replace('.', '_'));
  }, 400_000);

  it('start --all and stop --all, leaving alone a tmux session berth did not create', async () => {
    const dir = `${sb.dir}/specs`;
    mkdirSync(dir, { recursive: true });
    const a = n('all-a');
    const b = n('all-b');
    for (const name of [a, b])
      renameSync(tenantSpec(name, 'exec sleep 600'), `${dir}/${name}.yaml`);
    const foreign = `foreign-${sb.tag}`;
    await until(
      'a tmux session of our own in the lease job',
      () =>
        leaseTmux('has-session', '-t', `=${foreign}`).status === 0 ||
        leaseTmux('new-session', '-d', '-s', foreign, 'sleep 600').status === 0,
      60_000,
    );
    sb.env.BERTH_SESSION_DIRS = dir;
    try {
      const started = sb.json<StartResult[]>(['session', 'start', '--all', '--json']);
      expect(started.map((s) => s.name).sort()).toEqual([a, b].sort());
      for (const s of started) expect(s).toMatchObject({ started: true, runtime: 'slurm-tenant' });
      // running ones are skipped (a look that cannot tell is an error: try again)
      let again: StartResult[] = [];
      await until(
        'start --all to skip both',
        () => {
          const r = sb.run(['session', 'start', '--all', '--json']);
          again = r.status === 0 ? (JSON.parse(r.stdout) as StartResult[]) : [];
          return again.length === 2;
        },
        120_000,
      );
      for (const s of again) expect(s).toMatchObject({ started: false, note: 'already running' });
      const stopped = sb.json<StopResult[]>(['session', 'stop', '--all', '--json']);
      expect(stopped.map((s) => s.name)).toEqual(expect.arrayContaining([a, b]));
      const left = await tmuxSessions();
      expect(left).toContain(foreign);
      expect(left).toContain('_root');
      for (const name of names) expect(left).not.toContain(name.replace(/\./g, '_'));
      expect(await tenants()).toEqual([]);
    } finally {
      delete sb.env.BERTH_SESSION_DIRS;
      leaseTmux('kill-session', '-t', `=${foreign}`);
    }
  }, 400_000);
});
