/**
 * `berth run` inside real SLURM jobs (the dev cluster, proctrack/cgroup, SLURM 22.05):
 * suspend/resume, scancel and walltime give the right events, reasons and exit codes.
 * The jobs run as root (the test runs as root) and write their outbox and SQLite store to a
 * temp dir on the filesystem the nodes share. All jobs are submitted at once: the walltime
 * one takes one to two minutes.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../src/monitor/events.js';
import { getJob, listEvents, openStore } from '../../src/store/index.js';
import { berthEntry, procState, readOutbox, waitFor } from '../fixtures/monitor/harness.js';
import { cluster } from '../helpers/cluster.js';

let dir: string;
const jobs: Record<string, string> = {};
const types = (events: MonitorEvent[]) => events.map((e) => e.type);
const outbox = (key: string) =>
  readOutbox(join(dir, 'outbox', `${key.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`));

function sbatch(name: string, script: string, extra: string[] = []): string {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    BERTH_OUTBOX_DIR: join(dir, 'outbox'),
    BERTH_STATE_DIR: join(dir, 'state'),
  };
  const id = execFileSync(
    'sbatch',
    [
      '--parsable',
      `--job-name=berth-mon-${name}`,
      `--output=${join(dir, `${name}.out`)}`,
      ...extra,
      '--wrap',
      script,
    ],
    { env, encoding: 'utf8' },
  ).trim();
  jobs[name] = id;
  return id;
}

const scontrol = (...args: string[]) => execFileSync('scontrol', args, { encoding: 'utf8' });

function jobState(id: string): string {
  const text = execFileSync('squeue', ['-h', '-j', id, '-o', '%T'], { encoding: 'utf8' }).trim();
  return text || 'GONE';
}

/** The cgroup v1 freezer state of a process ('FROZEN', 'THAWED'), or null. */
function freezerState(pid: number): string | null {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => /^\d+:freezer:/.test(l));
    if (!line) return null;
    const path = line.slice(line.indexOf(':freezer:') + ':freezer:'.length);
    return readFileSync(`/sys/fs/cgroup/freezer${path}/freezer.state`, 'utf8').trim();
  } catch {
    return null;
  }
}

function sacct(id: string): string {
  return execFileSync('sacct', ['-n', '-P', '-j', id, '-o', 'JobID,State,ExitCode'], {
    encoding: 'utf8',
  }).trim();
}

beforeAll(() => {
  cluster(); // fails clearly when the dev cluster is not up
  dir = mkdtempSync(join(tmpdir(), 'berth-monitor-slurm-'));
  chmodSync(dir, 0o755);
  const run = `exec node ${berthEntry()} run`;
  sbatch('walltime', `${run} --job-key mon:walltime -- sleep 300`, ['--time=1']);
  sbatch('suspend', `${run} --job-key mon:suspend -- sleep 30`);
  // Not exec'd: the batch shell is SLURM's task, the wrapper is its child.
  sbatch('suspend-noexec', `node ${berthEntry()} run --job-key mon:noexec -- sleep 30`);
  sbatch('cancel', `${run} -- sleep 300`);
});

afterAll(async () => {
  for (const id of Object.values(jobs)) {
    try {
      execFileSync('scancel', [id]);
    } catch {
      // already gone
    }
  }
  await waitFor(
    'the jobs to leave the queue',
    () => Object.values(jobs).every((id) => jobState(id) === 'GONE'),
    60_000,
  ).catch(() => {});
  if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 500 });
}, 120_000);

describe('berth run under SLURM', () => {
  it('scontrol suspend/resume: PAUSED (SIGTSTP) and RESUMED (SIGCONT), the child stopped', async () => {
    const first = await waitFor('RUNNING', () => outbox('mon:suspend')[0], 180_000);
    await waitFor('RUNNING (no exec)', () => outbox('mon:noexec')[0], 180_000);
    expect(first.data.context).toMatchObject({
      host: cluster().clusterName,
      slurm: { jobId: jobs.suspend, jobName: 'berth-mon-suspend', partition: cluster().partition },
    });
    const pid = first.data.pid as number;
    scontrol('suspend', jobs.suspend!);
    scontrol('suspend', jobs['suspend-noexec']!);
    // SIGTSTP reaches the wrapper (SLURM's task) first: it stops the child and records
    // PAUSED; two seconds later slurmstepd freezes the whole step (cgroup freezer), after
    // which the child shows D. So the state T is looked for at once, alongside PAUSED; the
    // deadlines only bound a failure (once frozen the child cannot show T before resume).
    await Promise.all([
      waitFor('child stopped by the wrapper', () => procState(pid) === 'T', 30_000),
      waitFor('PAUSED', () => types(outbox('mon:suspend')).includes('PAUSED'), 60_000),
    ]);
    const pausedSeen = Date.now();
    await waitFor('SUSPENDED', () => jobState(jobs.suspend!) === 'SUSPENDED', 60_000);
    await waitFor('the step frozen', () => freezerState(pid) === 'FROZEN', 60_000);
    // Stay suspended for 8 s after PAUSED was recorded (pausedMs is checked below).
    await new Promise((r) => setTimeout(r, Math.max(0, pausedSeen + 8000 - Date.now())));
    expect(jobState(jobs.suspend!)).toBe('SUSPENDED');
    expect(freezerState(pid)).toBe('FROZEN');
    expect(['T', 'D']).toContain(procState(pid)); // a frozen task shows D
    scontrol('resume', jobs.suspend!);
    scontrol('resume', jobs['suspend-noexec']!);
    await waitFor('suspend job end', () => jobState(jobs.suspend!) === 'GONE', 60_000);
    const events = outbox('mon:suspend');
    expect(types(events)).toEqual(['RUNNING', 'PAUSED', 'RESUMED', 'COMPLETED']);
    expect(events[1]!.data).toMatchObject({ source: 'signal', signal: 'SIGTSTP' });
    expect(events[2]!.data).toMatchObject({ source: 'signal', signal: 'SIGCONT' });
    expect(events[2]!.data.pausedMs as number).toBeGreaterThan(8000);
    expect(events[3]!.data).toMatchObject({ exitCode: 0, reason: null });

    // Without exec the wrapper gets no signal at all: it is frozen, and sees its clock jump.
    await waitFor('noexec job end', () => jobState(jobs['suspend-noexec']!) === 'GONE', 60_000);
    const noexec = outbox('mon:noexec');
    expect(types(noexec)).toEqual(['RUNNING', 'PAUSED', 'RESUMED', 'COMPLETED']);
    expect(noexec[1]!.data).toMatchObject({ source: 'clock_gap', estimated: true });
  }, 300_000);

  it('scancel: TERMINATING, then FAILED with reason cancelled and exit 143', async () => {
    const key = `${cluster().clusterName}:${jobs.cancel}`;
    await waitFor('RUNNING', () => outbox(key)[0], 180_000);
    execFileSync('scancel', [jobs.cancel!]);
    await waitFor('cancel job end', () => jobState(jobs.cancel!) === 'GONE', 60_000);
    const events = outbox(key);
    expect(types(events)).toEqual(['RUNNING', 'TERMINATING', 'FAILED']);
    expect(events[2]!.data).toMatchObject({
      exitCode: 143,
      signal: 'SIGTERM',
      reason: 'cancelled',
      slurmState: 'COMPLETING',
    });
    // sacct agrees; SLURM 22.05's sacct prints an exit status above 128 minus 128 (143 → 15:0),
    // while scontrol and berth give the real 143.
    const acct = await waitFor(
      'sacct',
      () => /CANCELLED/.test(sacct(jobs.cancel!)) && sacct(jobs.cancel!),
      90_000,
    );
    expect(acct).toMatch(new RegExp(`^${jobs.cancel}\\|CANCELLED by 0\\|`, 'm'));
    expect(acct).toMatch(new RegExp(`^${jobs.cancel}\\.batch\\|FAILED\\|15:0$`, 'm'));
  }, 240_000);

  it('walltime: TERMINATING, then FAILED with reason timeout', async () => {
    await waitFor('walltime job end', () => jobState(jobs.walltime!) === 'GONE', 300_000);
    const events = outbox('mon:walltime');
    expect(types(events)).toEqual(['RUNNING', 'TERMINATING', 'FAILED']);
    expect(events[2]!.data).toMatchObject({
      exitCode: 143,
      signal: 'SIGTERM',
      reason: 'timeout',
      slurmState: 'COMPLETING TimeLimit',
    });
    const out = readFileSync(join(dir, 'walltime.out'), 'utf8');
    expect(out).toMatch(/CANCELLED AT \S+ DUE TO TIME LIMIT/);
  }, 320_000);

  it('the SQLite store on the shared filesystem has every event once and the right job rows', async () => {
    const store = await openStore({ stateDir: join(dir, 'state'), env: {} });
    try {
      const want: Record<string, string> = {
        'mon:suspend': 'completed',
        'mon:noexec': 'completed',
        [`${cluster().clusterName}:${jobs.cancel}`]: 'cancelled',
        'mon:walltime': 'timeout',
      };
      for (const [key, state] of Object.entries(want)) {
        const stored = await listEvents(store.db, { jobKey: key });
        expect(stored.map((e) => e.id)).toEqual(outbox(key).map((e) => e.id));
        expect((await getJob(store.db, key))?.state).toBe(state);
      }
      const row = await getJob(store.db, 'mon:walltime');
      expect(row).toMatchObject({
        scheduler: 'slurm',
        schedulerId: jobs.walltime,
        exitCode: 143,
        reason: 'timeout',
      });
    } finally {
      await store.close();
    }
  }, 30_000);
});
