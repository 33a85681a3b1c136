/**
 * Runtime `slurm` on the test cluster (over ssh): one job per session. Start, list, status,
 * logs, screen, attach (scripted through a test-side tmux), stop, restart, --all, a restart
 * policy; and the checkpoint acceptance test: a counting session with a walltime of two
 * minutes hops to successor jobs and resumes from its last complete checkpoint each time —
 * across every run's log the count never restarts at zero, skips or repeats.
 */
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionStatus, StartResult, StatusDetail } from '../../src/sessions/index.js';
import {
  known,
  outerTerminal,
  type SessionSandbox,
  sessionSandbox,
  until,
} from '../fixtures/sessions/harness.js';

const counter = readFileSync(
  join(import.meta.dirname, '../../examples/checkpoint/count.sh'),
  'utf8',
);

describe('sessions, runtime slurm', () => {
  let sb: SessionSandbox;
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
    until(`${name} to run`, () => status(name).state === 'running', 300_000);
  /** Jobs of this sandbox's sessions still in the queue. */
  const queued = () =>
    sb
      .sh(`squeue -h -u "$USER" -o '%i %j'`)
      .stdout.split('\n')
      .filter((l) => names.some((name) => l.endsWith(` berth-session-${name}`)));

  beforeAll(() => {
    sb = sessionSandbox('ssh');
  });

  afterAll(() => {
    outerTerminal(sb).close();
    sb.run(['session', 'stop', '--all', '--grace', '2']);
    expect(queued()).toEqual([]);
    if (names.length) sb.sh(`cd ${sb.root}/sessions && rm -rf ${names.join(' ')}`);
    sb.sh(`rm -f ${sb.root}/count-${sb.tag}.sh`);
    sb.cleanup();
  });

  it('submits a job, runs the session in it, and shows job, node, usage, logs and screen', async () => {
    const name = n('tick');
    sb.spec(
      name,
      [
        `  runtime: slurm`,
        `  command: 'i=0; while :; do echo "tick $i job $SLURM_JOB_ID"; i=$((i+1)); sleep 0.3; done'`,
        '  slurm: { time: 10m, resources: { cpus: 1 } }',
      ].join('\n'),
    );
    const [started] = sb.json<StartResult[]>(['session', 'start', `${name}.yaml`, '--json']);
    expect(started).toMatchObject({
      name,
      runtime: 'slurm',
      started: true,
      runId: null,
      pid: null,
    });
    expect(started?.jobId).toMatch(/^\d+$/);
    await running(name);
    const s = await look(name);
    expect(s).toMatchObject({ state: 'running', jobId: started?.jobId, runtime: 'slurm' });
    expect(s.node).toMatch(/^n\d$/);
    expect(s.socket).toBe(`${sb.socket(name)}-j${started?.jobId}`);
    expect(s.usage?.processes).toBeGreaterThanOrEqual(2);
    expect(s.runs).toHaveLength(1);
    expect(s.runs[0]).toMatchObject({ reason: 'start', jobId: started?.jobId });
    await until(
      'output',
      () => /tick 3 job \d+/.test(sb.run(['session', 'logs', name]).stdout),
      120_000,
    );
    expect(sb.run(['session', 'logs', name, '--screen']).stdout).toMatch(
      new RegExp(`tick \\d+ job ${started?.jobId}`),
    );
    const list = sb.json<SessionStatus[]>(['session', 'list', '--json']);
    expect(list.find((x) => x.name === name)).toMatchObject({ state: 'running', node: s.node });
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

  it('attaches through srun --pty on the node, and detaches', async () => {
    const name = names[0]!;
    const term = outerTerminal(sb);
    term.open('o', ['session', 'attach', name]);
    const screen = () => term.screen('o');
    await until('the attached screen', () => /tick \d+ job/.test(screen()), 120_000).catch((e) => {
      throw new Error(`${e.message}; the outer screen:\n${screen()}`);
    });
    term.keys('o', 'C-b', 'd');
    await until('the detach', () => screen().includes('ATTACH-EXIT=0'), 60_000);
    expect((await look(name)).state).toBe('running');
  });

  it('stops (TERM to the command, the job ends) and restarts in a new job', async () => {
    const name = names[0]!;
    const before = (await look(name)).jobId;
    const stopped = sb.json<Array<{ exitCode: number | null; ended: boolean }>>([
      'session',
      'stop',
      name,
      '--json',
    ]);
    expect(stopped[0]).toMatchObject({ ended: true, exitCode: 143 });
    expect(queued()).toEqual([]);
    expect(await look(name)).toMatchObject({ state: 'stopped', desired: 'stopped', exitCode: 143 });
    const restarted = sb.json<StartResult>(['session', 'restart', name, '--json']);
    expect(restarted.jobId).toMatch(/^\d+$/);
    expect(restarted.jobId).not.toBe(before);
    await running(name);
    expect((await look(name)).runs.map((r) => r.reason)).toEqual(['restart', 'start']);
  }, 400_000);

  it('applies a restart policy by submitting a new job when berth looks', async () => {
    const name = n('flaky');
    sb.spec(
      name,
      [
        '  runtime: slurm',
        "  command: 'echo failing; sleep 2; exit 3'",
        '  restart: on-failure',
        '  slurm: { time: 5m }',
      ].join('\n'),
    );
    sb.run(['session', 'start', `${name}.yaml`]);
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
    expect(seen?.jobId).toMatch(/^\d+$/);
    expect(seen?.restarts).toBe(1);
    sb.run(['session', 'stop', name, '--grace', '1']);
  }, 400_000);

  it('start --all and stop --all', () => {
    const dir = `${sb.dir}/specs`;
    mkdirSync(dir, { recursive: true });
    const a = n('all-a');
    const b = n('all-b');
    for (const name of [a, b]) {
      renameSync(
        sb.spec(name, "  runtime: slurm\n  command: 'exec sleep 600'\n  slurm: { time: 5m }"),
        `${dir}/${name}.yaml`,
      );
    }
    sb.env.BERTH_SESSION_DIRS = dir;
    try {
      const started = sb.json<StartResult[]>(['session', 'start', '--all', '--json']);
      expect(started.map((s) => s.name).sort()).toEqual([a, b].sort());
      for (const s of started) expect(s.jobId).toMatch(/^\d+$/);
      const again = sb.json<StartResult[]>(['session', 'start', '--all', '--json']);
      for (const s of again) expect(s).toMatchObject({ started: false });
      const stopped = sb.json<Array<{ name: string }>>(['session', 'stop', '--all', '--json']);
      expect(stopped.map((s) => s.name)).toEqual(expect.arrayContaining([a, b]));
      expect(queued()).toEqual([]);
    } finally {
      delete sb.env.BERTH_SESSION_DIRS;
    }
  });

  it('a counting session hits its walltime, comes back in the successor job and resumes from its last checkpoint', async () => {
    const name = n('count');
    const script = `${sb.root}/count-${sb.tag}.sh`;
    expect(sb.sh(`cat > ${script} <<'BERTH_EOF'\n${counter}BERTH_EOF`).status).toBe(0);
    sb.spec(
      name,
      [
        '  runtime: slurm',
        `  command: [bash, ${script}]`,
        '  env: { COUNT_INTERVAL: 0.2 }',
        `  hooks: { walltimeSignal: 'echo "walltime hook: $BERTH_SESSION"' }`,
        '  slurm: { time: 2m, autoResubmit: true, lead: 60s }',
      ].join('\n'),
    );
    sb.run(['session', 'start', `${name}.yaml`]);
    // SLURM sends USR1 up to a minute before lead (it checks about once a minute).
    await until(
      'two hops',
      () => status(name).runs.length >= 3 && status(name).state === 'running',
      420_000,
    );
    const s = await look(name);
    const chain = sb.sh(`cat ${sb.root}/sessions/${name}/chain`).stdout;
    const successors = [...chain.matchAll(/ resubmit-ok (\d+)$/gm)].map((m) => m[1]);
    expect(successors.length).toBeGreaterThanOrEqual(2);
    expect(s.jobId).toBe(successors.at(-1)); // the record points at the newest job
    expect(s.runs.map((r) => r.reason).slice(-1)).toEqual(['start']);
    expect(s.runs.slice(0, -1).every((r) => r.reason === 'resubmit')).toBe(true);
    expect(new Set(s.runs.map((r) => r.jobId)).size).toBe(s.runs.length);
    sb.run(['session', 'stop', name]);
    expect(queued()).toEqual([]);

    const counts = (text: string) => [...text.matchAll(/^count (\d+)$/gm)].map((m) => Number(m[1]));
    const all: number[] = [];
    const runs = [...(await look(name)).runs].reverse();
    runs.forEach((r, i) => {
      const log = sb.run(['session', 'logs', name, '--run', r.runId, '-n', '100000']).stdout;
      if (i > 0) expect(log).toMatch(new RegExp(`^resuming after ${all.at(-1)} `, 'm'));
      if (i < runs.length - 1) {
        expect(log).toMatch(/^walltime hook: /m);
        expect(log).toMatch(/^got USR1$/m);
      }
      expect(log).toMatch(/^checkpoint at \d+ /m);
      all.push(...counts(log));
    });
    expect(all[0]).toBe(1);
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
  }, 600_000);
});
