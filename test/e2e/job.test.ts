/**
 * `berth job …` as a user runs it, on the SLURM test cluster (`cluster`) and on this
 * machine without a scheduler (`local`, scheduler none): submit, status, wait, logs (also
 * -f), cancel, list, fetch, run, --dry-run, the --json shapes, exit codes, and hostile
 * input (nothing executes; bad names exit 2). Independent jobs run concurrently.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliResult } from '../helpers/cli.js';
import { clusterProjectYaml, sandbox } from '../helpers/sandbox.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'berth.js');
const TAG = `e2e-job-${randomBytes(3).toString('hex')}`;
const box = sandbox('berth-e2e-job-');
const canaries = join(box.dir, 'canaries');

/** The built CLI, asynchronously (so several can run at once). */
function berth(args: string[], opts: { timeoutMs?: number } = {}): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: box.cwd, env: box.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => {
      stdout += b;
    });
    child.stderr.on('data', (b) => {
      stderr += b;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 240_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

function json<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.status}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

interface View {
  key: string;
  host: string;
  jobId: string;
  scheduler: string;
  name: string;
  state: { kind: string; exitCode?: number | null };
  tasks?: Record<string, number>;
  taskCount?: number;
  workDir: string;
  schedulerIds: string[];
}

const HOSTS = ['cluster', 'local'] as const;
const started: string[] = [];

beforeAll(() => {
  box.writeProject(
    [
      clusterProjectYaml().trimEnd(),
      '  local:',
      '    scheduler: none',
      `    root: ${join(box.dir, 'local-root')}`,
      'poll:',
      '  minIntervalS: 1',
      '  submitIntervalS: 1',
      '  runningIntervalS: 2',
      '  maxIntervalS: 3',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await Promise.all(started.map((key) => berth(['job', 'cancel', key])));
  const removed = await berth(['job', 'list', '--json']);
  const dirs = json<View[]>(removed)
    .filter((v) => v.host === 'cluster' && v.workDir)
    .map((v) => v.workDir);
  if (dirs.length) {
    const { SshRunner } = await import('../../src/transport/ssh.js');
    const { cluster } = await import('../helpers/cluster.js');
    const c = cluster();
    const r = new SshRunner({
      host: 'c',
      target: c.sshAlias,
      configFile: c.sshConfig,
      stateDir: box.dir,
    });
    await r.run(['rm', '-rf', '--', ...dirs]);
    await r.close({ master: true });
  }
  box.cleanup();
});

async function submit(host: string, name: string, args: string[]): Promise<View> {
  const r = await berth([
    'job',
    'submit',
    '--host',
    host,
    '--name',
    `${TAG}-${name}`,
    '--json',
    ...args,
  ]);
  expect(r.status, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  const v = json<View>(r);
  started.push(v.key);
  return v;
}

describe.each(HOSTS)('berth job on %s', (host) => {
  const jobs: Record<string, View> = {};

  beforeAll(async () => {
    const [ok, three, cancel, array, hostile, slow] = await Promise.all([
      submit(host, 'ok', ['--', 'bash', '-c', 'echo hello; echo oops >&2']),
      submit(host, 'three', ['--', 'bash', '-c', 'exit 3']),
      submit(host, 'cancel', ['--', 'sleep', '300']),
      submit(host, 'array', [
        '--array',
        '0-2',
        '--',
        'bash',
        '-c',
        'echo "task $SLURM_ARRAY_TASK_ID"',
      ]),
      submit(host, 'hostile', [
        '--env',
        `EVIL=$(touch ${canaries}/env)`,
        '--',
        'bash',
        '-c',
        'printf "%s\\n" "$EVIL" "$@"',
        'argv0',
        `; touch ${canaries}/semi`,
        `\`touch ${canaries}/tick\``,
        "it's",
      ]),
      submit(host, 'slow', [
        '--',
        'bash',
        '-c',
        'for i in 1 2 3; do echo "line $i"; sleep 1; done',
      ]),
    ]);
    Object.assign(jobs, { ok, three, cancel, array, hostile, slow });
  });

  it('submit --json prints the job: key, host, scheduler, ids, work dir', () => {
    const v = jobs.ok!;
    expect(v).toMatchObject({
      key: `${host}:${v.jobId}`,
      host,
      scheduler: host === 'cluster' ? 'slurm' : 'none',
      name: `${TAG}-ok`,
      state: { kind: 'pending' },
      schedulerIds: [v.jobId],
    });
    expect(v.workDir).toMatch(/\/jobs\//);
    expect(jobs.array!.taskCount).toBe(3);
  });

  it("wait: exit 0 when all completed, else the first failure's exit code; --json {jobs, exitCode}", async () => {
    const [good, bad] = await Promise.all([
      berth(['job', 'wait', jobs.ok!.key, jobs.array!.key]),
      berth(['job', 'wait', '--json', jobs.ok!.key, jobs.three!.key]),
    ]);
    expect(good.status, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/completed/);
    expect(bad.status).toBe(3);
    const body = json<{ jobs: View[]; exitCode: number }>(bad);
    expect(body.exitCode).toBe(3);
    expect(body.jobs.map((j) => j.state.kind)).toEqual(['completed', 'failed']);
    expect(body.jobs[1]!.state.exitCode).toBe(3);
  });

  it('status shows the array as one job with counts per state', async () => {
    const r = await berth(['job', 'status', '--json', jobs.array!.key, jobs.three!.key]);
    expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
    const [array, three] = json<View[]>(r);
    expect(array).toMatchObject({
      key: jobs.array!.key,
      state: { kind: 'completed' },
      tasks: { completed: 3 },
    });
    expect(three!.state).toMatchObject({ kind: 'failed', exitCode: 3 });
    const text = await berth(['job', 'status', jobs.array!.key]);
    expect(text.stdout).toMatch(/completed 3 of 3/);
  });

  it('logs prints stdout or stderr; an array task by id; --json has the path and text', async () => {
    const [out, err, task, js] = await Promise.all([
      berth(['job', 'logs', jobs.ok!.key]),
      berth(['job', 'logs', '--stderr', jobs.ok!.key]),
      berth(['job', 'logs', `${jobs.array!.key}_2`]),
      berth(['job', 'logs', '--json', jobs.ok!.key]),
    ]);
    expect(out.stdout).toBe('hello\n');
    expect(err.stdout).toBe('oops\n');
    expect(task.stdout).toBe('task 2\n');
    expect(json(js)).toMatchObject({ host, jobId: jobs.ok!.jobId, text: 'hello\n' });
  });

  it('logs -f follows the output until the job ends', async () => {
    const r = await berth(['job', 'logs', '-f', jobs.slow!.key]);
    expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
    expect(r.stdout).toBe('line 1\nline 2\nline 3\n');
  });

  it('cancel cancels; status and list then say cancelled', async () => {
    const r = await berth(['job', 'cancel', '--json', jobs.cancel!.key]);
    expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
    const w = await berth(['job', 'wait', '--json', jobs.cancel!.key]);
    expect(json<{ jobs: View[] }>(w).jobs[0]!.state.kind).toBe('cancelled');
    expect(w.status).toBe(143);
    const list = await berth(['job', 'list', '--json', '--host', host, '--state', 'cancelled']);
    expect(json<View[]>(list).map((v) => v.key)).toContain(jobs.cancel!.key);
  });

  it('hostile env values and arguments arrive as text; nothing executes', async () => {
    await berth(['job', 'wait', jobs.hostile!.key]);
    const r = await berth(['job', 'logs', jobs.hostile!.key]);
    expect(r.stdout).toBe(
      `$(touch ${canaries}/env)\n; touch ${canaries}/semi\n\`touch ${canaries}/tick\`\nit's\n`,
    );
    expect(existsSync(canaries) ? readdirSync(canaries) : []).toEqual([]);
  });

  it('fetch copies the job dir back, or named paths', async () => {
    const to = join(box.dir, `fetch-${host}`);
    const r = await berth(['job', 'fetch', '--json', jobs.ok!.key, '--to', to]);
    expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
    expect(json(r)).toMatchObject({ host, jobId: jobs.ok!.jobId, to });
    expect(readFileSync(join(to, 'stdout'), 'utf8')).toBe('hello\n');
    expect(readdirSync(to)).toEqual(expect.arrayContaining(['job.sh', 'stdout', 'stderr']));
    const one = join(box.dir, `fetch-one-${host}`);
    const p = await berth(['job', 'fetch', jobs.ok!.key, 'stderr', '--to', one]);
    expect(p.status, p.stderr).toBe(0);
    expect(readdirSync(one)).toEqual(['stderr']);
  });

  it('--after-ok starts a job after another one succeeded', async () => {
    const dep = await submit(host, 'dep', ['--after-ok', jobs.ok!.key, '--', 'echo', 'after']);
    const w = await berth(['job', 'wait', '--json', dep.key]);
    expect(w.status, w.stderr).toBe(0);
    expect((await berth(['job', 'logs', dep.key])).stdout).toBe('after\n');
  });

  it('run streams the output and keeps the exit code', async () => {
    const r = await berth([
      'job',
      'run',
      '--host',
      host,
      '--name',
      `${TAG}-run`,
      '--',
      'bash',
      '-c',
      'echo hi; echo warn >&2; exit 7',
    ]);
    expect(r.status).toBe(7);
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toMatch(/warn/);
  });
});

describe('berth job: dry runs, bad input, list', () => {
  it('--dry-run prints the script and submits nothing; --json has script and submissions', async () => {
    const r = await berth([
      'job',
      'submit',
      '--host',
      'cluster',
      '--dry-run',
      '--time',
      '10',
      '--cpus',
      '2',
      '--',
      'echo',
      'a b',
    ]);
    expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
    expect(r.stdout).toMatch(/^#!\/bin\/bash/);
    expect(r.stdout).toMatch(/#SBATCH --cpus-per-task=2/);
    expect(r.stdout).toMatch(/exec echo 'a b'/);
    const j = await berth([
      'job',
      'submit',
      '--host',
      'cluster',
      '--dry-run',
      '--json',
      '--array',
      '0-2499',
      '--',
      'true',
    ]);
    const plan = json<{
      dryRun: boolean;
      script: string;
      submissions: Array<{ argv: string[]; offset: number; count: number }>;
    }>(j);
    expect(plan.dryRun).toBe(true);
    expect(plan.submissions.map((s) => [s.offset, s.count])).toEqual([
      [0, 1001],
      [1001, 1001],
      [2002, 498],
    ]);
    const none = await berth(['job', 'submit', '--host', 'local', '--dry-run', '--', 'true']);
    expect(none.status).toBe(0);
    expect(none.stdout).toMatch(/exec true/);
  });

  it('refuses bad names, hosts, ids and flags with exit 2 and a hint', async () => {
    const cases = await Promise.all([
      berth([
        'job',
        'submit',
        '--host',
        'local',
        '--name',
        `a;touch ${canaries}/name`,
        '--',
        'true',
      ]),
      berth(['job', 'submit', '--host', `x$(touch ${canaries}/host)`, '--', 'true']),
      berth(['job', 'submit', '--host', 'local', '--env', 'BAD NAME=1', '--', 'true']),
      berth(['job', 'submit', '--host', 'local', '--cpus', 'many', '--', 'true']),
      berth(['job', 'status', '--host', 'local', '1;id']),
      berth(['job', 'submit', '--host', 'local', 'no-such-script.sh']),
    ]);
    for (const r of cases) {
      expect(r.status, `${r.stderr}${r.stdout}`).toBe(2);
      expect(r.stderr).toMatch(/^hint: /m);
    }
    expect(existsSync(canaries) ? readdirSync(canaries) : []).toEqual([]);
  });

  it('an unknown host is exit 3; a down host is exit 5', async () => {
    const [unknown, down] = await Promise.all([
      berth(['job', 'status', '--host', 'nowhere', '1']),
      berth(['job', 'submit', '--host', 'down', '--', 'true']),
    ]);
    expect(unknown.status).toBe(3);
    expect(down.status).toBe(5);
  });

  it('list --json prints every job berth recorded, newest first', async () => {
    const r = await berth(['job', 'list', '--json']);
    const views = json<View[]>(r);
    expect(views.length).toBeGreaterThanOrEqual(12);
    for (const v of views) expect(v).toHaveProperty('state.kind');
  });
});
