/**
 * Parsers against output captured from a real SLURM 22.05 cluster
 * (test/golden/slurm/captured/, see its README), with login-shell noise mixed in.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RemoteError } from '../../src/core/errors.js';
import {
  parseSacct,
  parseSbatchReply,
  parseSqueue,
  SACCT_FIELDS,
  SQUEUE_FORMAT,
  type SqueueRow,
  sacctArgs,
  squeueArgs,
} from '../../src/scheduler/slurm/parse.js';

const CAPTURED = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'slurm', 'captured');
const read = (name: string) => readFileSync(join(CAPTURED, name), 'utf8');
const jobs = JSON.parse(read('jobs.json')) as Record<string, number>;

/** What rc files, module systems and motd print around a command run by `bash -lc`. */
const BANNER_BEFORE = [
  'Last login: Mon Nov 23 18:59:02 2026 from 10.0.0.7',
  '*** Welcome to Cluster | docs: https://hpc.example.org | help: hpc@example.org ***',
  'Lmod has detected the following error: The following module(s) are unknown: "cuda/99"',
  '(base) ',
  '\u001b[1;33mquota: /home 91% used\u001b[0m',
  '@berth|not|a|job|line',
  '12345',
  'JobID|JobIDRaw|State|ExitCode',
  '',
].join('\n');
const BANNER_AFTER = [
  '',
  'logout',
  'Connection to login1 closed.',
  'a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p|q|r|s',
].join('\n');
const noisy = (text: string) => `${BANNER_BEFORE}\n${text}${BANNER_AFTER}\n`;

function byName<T extends { name: string }>(rows: T[], name: string): T[] {
  return rows.filter((r) => r.name === name);
}
function one<T extends { name: string }>(rows: T[], name: string): T {
  const found = byName(rows, name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
}

describe('parseSbatchReply', () => {
  it('reads --parsable, --parsable with a cluster, and the human reply', () => {
    expect(parseSbatchReply(read('sbatch-parsable.txt'))).toEqual({
      jobId: Number(read('sbatch-parsable.txt').trim()),
    });
    const [id, cluster] = read('sbatch-parsable-cluster.txt').trim().split(';');
    expect(parseSbatchReply(read('sbatch-parsable-cluster.txt'))).toEqual({
      jobId: Number(id),
      cluster,
    });
    expect(cluster).toBe('berth');
    expect(parseSbatchReply(read('sbatch-human.txt')).jobId).toBe(
      Number(read('sbatch-human.txt').trim().split(' ').at(-1)),
    );
    expect(parseSbatchReply('Submitted batch job 77 on cluster alpha\n')).toEqual({
      jobId: 77,
      cluster: 'alpha',
    });
  });

  it('finds the reply among login-shell noise', () => {
    const reply = read('sbatch-parsable.txt');
    expect(parseSbatchReply(noisy(reply)).jobId).toBe(Number(reply.trim()));
    expect(parseSbatchReply(noisy(read('sbatch-human.txt'))).jobId).toBeGreaterThan(0);
  });

  it('throws a RemoteError carrying the output when sbatch refused the job', () => {
    const text = read('sbatch-error.txt');
    expect(text).toMatch(/sbatch: error: Invalid --time specification/);
    try {
      parseSbatchReply(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RemoteError);
      expect((e as RemoteError).code).toBe('E_SBATCH_REPLY');
      expect((e as RemoteError).details?.output).toBe(text);
    }
  });
});

describe('squeue command and format', () => {
  it('is the format the capture script used', () => {
    const script = read('capture.sh');
    expect(script).toContain(`SQUEUE_FORMAT='${SQUEUE_FORMAT}'`);
    expect(script).toContain(`SACCT_FIELDS='${SACCT_FIELDS.join(',')}'`);
  });

  it('builds argv', () => {
    expect(squeueArgs({ jobs: ['12', '13'], allStates: true, expandArrays: true })).toEqual([
      'squeue',
      '--noheader',
      `--format=${SQUEUE_FORMAT}`,
      '--states=all',
      '--array',
      '--jobs=12,13',
    ]);
    expect(sacctArgs({ jobs: ['12'], allocationsOnly: true })).toEqual([
      'sacct',
      '--noheader',
      '--parsable2',
      '--allocations',
      `--format=${SACCT_FIELDS.join(',')}`,
      '--jobs=12',
    ]);
  });
});

describe('parseSqueue on live jobs', () => {
  const text = read('squeue-live.txt');
  const rows = parseSqueue(text);

  it('reads every line of real output', () => {
    expect(rows).toHaveLength(text.trim().split('\n').length);
  });

  it('reads a running job: nodes, start time, limit', () => {
    const run = one(rows, 'golden-run');
    expect(run.id).toEqual({ kind: 'job', jobId: jobs.run });
    expect(run.state.kind).toBe('running');
    expect(run.nodes).toHaveLength(1);
    expect(run.state).toEqual({ kind: 'running', nodes: run.nodes, startedAt: run.startedAt });
    expect(run.startedAt).toBeGreaterThan(Date.UTC(2026, 0, 1));
    expect(run.submittedAt).toBeLessThanOrEqual(run.startedAt!);
    expect(run.endsAt).toBeNull();
    expect(run.timeLimitS).toBeNull();
    expect(run.user).toBe('berthtest');
    expect(one(rows, 'golden-timeout').timeLimitS).toBe(60);
  });

  it('reads the pending part of a throttled array as one range', () => {
    const range = one(rows, 'golden-array');
    expect(range.idText).toBe(`${jobs.array}_[0-5%2]`);
    const tasks = { indices: [0, 1, 2, 3, 4, 5], throttle: 2 };
    expect(range.id).toEqual({ kind: 'array_range', jobId: jobs.array, tasks });
    expect(range.arrayTask).toEqual(tasks);
    expect(range.arrayJobId).toBe(jobs.array);
    expect(range.state).toEqual({ kind: 'pending', reason: 'Resources' });
  });

  it('reads het components (this one could not start: one node, and they never share)', () => {
    const het = byName(rows, 'golden-het');
    expect(het.map((r) => r.id)).toEqual([
      { kind: 'het', jobId: jobs.het, hetOffset: 0 },
      { kind: 'het', jobId: jobs.het, hetOffset: 1 },
    ]);
    expect(het.map((r) => r.elementId)).toEqual([jobs.het, jobs.het! + 1]);
    expect(het.map((r) => r.state)).toEqual(Array(2).fill({ kind: 'pending', reason: null }));
    expect(het[0]!.arrayJobId).toBeNull();
  });

  it('reads pending reasons', () => {
    expect(one(rows, 'golden-held').state).toEqual({ kind: 'pending', reason: 'JobHeldUser' });
    expect(one(rows, 'golden-dep').state).toEqual({ kind: 'pending', reason: 'Dependency' });
    const begin = one(rows, 'golden-begin');
    expect(begin.state).toEqual({ kind: 'pending', reason: 'BeginTime' });
    // For a job waiting for --begin, %S is the time it may start (an hour after submit).
    expect(begin.startedAt! - begin.submittedAt!).toBeGreaterThanOrEqual(3_599_000);
    expect(['Priority', 'Resources']).toContain(one(rows, 'golden-ok').reason);
  });

  it('reads ISO times the same as epoch times given the cluster offset', () => {
    const iso = parseSqueue(read('squeue-live-iso.txt'), { utcOffsetMinutes: 0 });
    const pick = (r: SqueueRow) => [r.idText, r.slurmState, r.submittedAt, r.startedAt];
    expect(iso.map(pick)).toEqual(rows.map(pick));
  });

  it('reads one line per task with --array', () => {
    const tasks = byName(parseSqueue(read('squeue-live-array.txt')), 'golden-array');
    expect(tasks.map((t) => t.id)).toEqual(
      [0, 1, 2, 3, 4, 5].map((taskId) => ({ kind: 'array_task', jobId: jobs.array, taskId })),
    );
    expect(tasks.map((t) => t.arrayTask)).toEqual([0, 1, 2, 3, 4, 5]);
    // A task that has not started has no id of its own yet: %A is the array's.
    expect(tasks.every((t) => t.elementId === jobs.array)).toBe(true);
  });

  it('gives the same rows with login-shell noise around them', () => {
    expect(parseSqueue(noisy(text))).toEqual(rows);
    expect(parseSqueue(noisy(text).replaceAll('\n', '\r\n'))).toEqual(rows);
  });

  it('reads squeue refusing an unknown job as no rows', () => {
    expect(read('squeue-invalid-job.txt')).toMatch(/Invalid job id specified/);
    expect(parseSqueue(read('squeue-invalid-job.txt'))).toEqual([]);
  });
});

describe('parseSqueue on finished, cancelled, suspended, requeued jobs', () => {
  const rows = parseSqueue(read('squeue-finished.txt'));

  it('reads every final state squeue still shows (MinJobAge)', () => {
    expect(one(rows, 'golden-ok').state).toMatchObject({ kind: 'completed', exitCode: 0 });
    expect(one(rows, 'golden-fail3').state).toMatchObject({
      kind: 'failed',
      exitCode: null,
      reason: 'NonZeroExitCode',
    });
    expect(one(rows, 'golden-sigkill').state).toMatchObject({
      kind: 'failed',
      reason: 'JobLaunchFailure',
    });
    expect(one(rows, 'golden-run').state.kind).toBe('cancelled');
    expect(one(rows, 'golden-timeout').state).toMatchObject({ kind: 'timeout', limit: 'walltime' });
    expect(one(rows, 'golden-timeout').reason).toBe('TimeLimit');
    expect(byName(rows, 'golden-array').map((r) => r.state.kind)).toEqual(
      Array(6).fill('completed'),
    );
    expect(byName(rows, 'golden-het').map((r) => r.state.kind)).toEqual(['cancelled', 'cancelled']);
  });

  it('reads a dependency that can never be satisfied', () => {
    const dep = one(parseSqueue(read('squeue-cancelled.txt')), 'golden-dep');
    expect(dep.state).toEqual({ kind: 'pending', reason: 'DependencyNeverSatisfied' });
  });

  it('reads suspended, and requeued (completing, then pending)', () => {
    expect(one(parseSqueue(read('squeue-suspended.txt')), 'golden-suspend').state.kind).toBe(
      'suspended',
    );
    expect(one(parseSqueue(read('squeue-requeued.txt')), 'golden-requeue').state.kind).toBe(
      'completing',
    );
    expect(one(parseSqueue(read('squeue-requeued-pending.txt')), 'golden-requeue').state).toEqual({
      kind: 'pending',
      reason: 'BeginTime',
    });
  });
});

describe('parseSacct', () => {
  const text = read('sacct-finished.txt');
  const rows = parseSacct(text);

  it('reads every line of real output', () => {
    expect(rows).toHaveLength(text.trim().split('\n').length);
  });

  it('reads exit codes, signals and who cancelled', () => {
    expect(one(rows, 'golden-ok').state).toEqual({
      kind: 'completed',
      exitCode: 0,
      endedAt: one(rows, 'golden-ok').endedAt,
    });
    const fail = one(rows, 'golden-fail3');
    expect(fail.exitCode).toEqual({ exitCode: 3, signal: 0 });
    expect(fail.state).toEqual({ kind: 'failed', exitCode: 3, endedAt: fail.endedAt });
    expect(one(rows, 'golden-sigkill').state).toMatchObject({
      kind: 'failed',
      exitCode: 0,
      signal: 9,
    });
    expect(one(rows, 'golden-run').state).toMatchObject({ kind: 'cancelled', by: '1001' });
    const timeout = one(rows, 'golden-timeout');
    expect(timeout.state).toMatchObject({ kind: 'timeout', limit: 'walltime' });
    expect(timeout.timeLimitS).toBe(60);
    expect(timeout.elapsedS).toBeGreaterThanOrEqual(60);
    expect(timeout.endedAt! - timeout.startedAt!).toBe(timeout.elapsedS! * 1000);
  });

  it('reads a job cancelled while pending: no start, no nodes, Partition_Limit', () => {
    const held = one(rows, 'golden-held');
    expect(held.state).toMatchObject({ kind: 'cancelled', by: '1001' });
    expect(held.startedAt).toBeNull();
    expect(held.nodes).toEqual([]);
    expect(held.reason).toBe('JobHeldUser');
    expect(held.timeLimitS).toBeNull();
  });

  it('reads array tasks and het components with their raw ids', () => {
    const tasks = byName(rows, 'golden-array');
    expect(tasks.map((t) => t.idText)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `${jobs.array}_${i}`));
    expect(tasks.map((t) => t.state.kind)).toEqual(Array(6).fill('completed'));
    // Each started task got an id of its own; the last one took the array's.
    expect(new Set(tasks.map((t) => t.rawId)).size).toBe(6);
    expect(tasks.at(-1)!.rawId).toBe(String(jobs.array));
    const het = byName(rows, 'golden-het');
    expect(het.map((r) => r.idText)).toEqual([`${jobs.het}+0`, `${jobs.het}+1`]);
    expect(het.map((r) => r.rawId)).toEqual([String(jobs.het), String(jobs.het! + 1)]);
    // Cancelled by root (uid 0) before it could start.
    expect(het[0]!.state).toEqual({ kind: 'cancelled', by: '0', endedAt: het[0]!.endedAt });
    expect(het[0]!.startedAt).toBeNull();
  });

  it('reads a time limit of days', () => {
    expect(one(rows, 'golden-ok').timeLimitS).toBe(365 * 86_400);
  });

  it('reads ISO times the same as epoch times given the cluster offset', () => {
    const iso = parseSacct(read('sacct-finished-iso.txt'), { utcOffsetMinutes: 0 });
    expect(iso).toEqual(rows);
    const cet = parseSacct(read('sacct-finished-iso.txt'), { utcOffsetMinutes: 60 });
    expect(cet[0]!.submittedAt).toBe(rows[0]!.submittedAt! - 3_600_000);
  });

  it('reads job steps: batch and numbered, also of array tasks', () => {
    const steps = parseSacct(read('sacct-steps.txt'));
    const ofSteps = steps.filter((r) => r.idText.startsWith(`${jobs.steps}`));
    expect(ofSteps.map((r) => r.idText)).toEqual([
      `${jobs.steps}`,
      `${jobs.steps}.batch`,
      `${jobs.steps}.0`,
      `${jobs.steps}.1`,
    ]);
    const step1 = ofSteps[3]!;
    expect(step1.id).toEqual({ kind: 'job', jobId: jobs.steps, step: { kind: 'numbered', id: 1 } });
    expect(step1.name).toBe('sleep');
    expect(step1.partition).toBe('');
    expect(step1.state.kind).toBe('completed');
    expect(steps.find((r) => r.idText === `${jobs.array}_0.batch`)?.id).toEqual({
      kind: 'array_task',
      jobId: jobs.array,
      taskId: 0,
      step: { kind: 'batch' },
    });
  });

  it('reads live jobs, including a pending array range and a running batch step', () => {
    const live = parseSacct(read('sacct-live.txt'));
    expect(one(live, 'golden-run').state.kind).toBe('running');
    expect(one(live, 'golden-run').endedAt).toBeNull();
    const range = one(live, 'golden-array');
    expect(range.idText).toBe(`${jobs.array}_[0-5%2]`);
    expect(range.id.kind).toBe('array_range');
    expect(range.state).toEqual({ kind: 'pending', reason: null });
    expect(range.nodes).toEqual([]);
    expect(range.startedAt).toBeNull();
    const batch = live.find((r) => r.idText === `${jobs.run}.batch`)!;
    expect(batch.id).toEqual({ kind: 'job', jobId: jobs.run, step: { kind: 'batch' } });
    expect(batch.state.kind).toBe('running');
    expect(one(live, 'golden-held').state).toEqual({ kind: 'pending', reason: 'JobHeldUser' });
  });

  it('reads a suspended job', () => {
    const susp = one(parseSacct(read('sacct-suspended.txt')), 'golden-suspend');
    expect(susp.state.kind).toBe('suspended');
  });

  it('reads a requeued job with --duplicates: the old run, its batch step, the new run', () => {
    const rows = parseSacct(read('sacct-requeued.txt'));
    expect(rows.map((r) => [r.idText, r.state.kind])).toEqual([
      [`${jobs.requeue}`, 'pending'],
      [`${jobs.requeue}.batch`, 'cancelled'],
      [`${jobs.requeue}`, 'pending'],
    ]);
    expect(rows[0]!.state).toEqual({ kind: 'pending', reason: 'requeued' });
    expect(rows[1]!.exitCode).toEqual({ exitCode: 0, signal: 15 });
    expect(rows[2]!.state).toEqual({ kind: 'pending', reason: null });
  });

  it('gives the same rows with login-shell noise around them', () => {
    expect(parseSacct(noisy(text))).toEqual(rows);
  });

  it('keeps a | inside a job name', () => {
    const line = `5|5|COMPLETED|0:0|0:0|None|100|100|101|00:00:01|UNLIMITED|n1|1|1|debug|u|a|b|c`;
    expect(parseSacct(line)[0]!.name).toBe('a|b|c');
  });
});
