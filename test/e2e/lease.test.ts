/**
 * `berth lease …` as a user runs it, against the test cluster over ssh: book (with a tmux
 * server and a hold body), exec (exit codes, stdin, --json), tasks, attach (typed through a
 * tmux of our own: send-keys and capture-pane), verify, adopt with a mismatch, release;
 * hostile names and hold bodies refused or quoted, checked with canary files.
 * One small lease (1 cpu) is shared by the tests, released in afterAll.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster } from '../helpers/cluster.js';
import { clusterProjectYaml, sandbox } from '../helpers/sandbox.js';

const info = cluster();
const sb = sandbox('berth-lease-e2e-');
sb.writeProject(clusterProjectYaml());
const tag = randomBytes(3).toString('hex');
const NAME = `e2e-${tag}`;
const ADOPTED = `e2e-adopt-${tag}`;
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'berth.js');
const CANARY = join(sb.dir, 'canary');
const REMOTE_CANARY = `/tmp/berth-lease-e2e-canary-${tag}`;
const TMUX = `berth-e2e-${tag}`;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI; async so a long book does not block other work, with its own time limit. */
function berth(args: string[], input = '', timeoutMs = 700_000): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: sb.cwd, env: sb.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

function json<T = Record<string, unknown>>(r: Result): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.status}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

function ssh(command: string): string {
  const r = spawnSync('ssh', ['-F', info.sshConfig, info.sshAlias, command], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return r.stdout;
}

function tmux(...args: string[]) {
  return spawnSync('tmux', ['-L', TMUX, ...args], { encoding: 'utf8' });
}

async function screenUntil(session: string, re: RegExp, ms = 120_000): Promise<string> {
  const t0 = Date.now();
  let text = '';
  while (Date.now() - t0 < ms) {
    text = tmux('capture-pane', '-p', '-t', session).stdout;
    if (re.test(text)) return text;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`screen never matched ${re}:\n${text}`);
}

/** Start `berth ARGS` in a tmux session of ours, as a user at a terminal would. */
function startInTerminal(session: string, args: string[]): string {
  const rcFile = join(sb.dir, `${session}.rc`);
  const script = join(sb.dir, `${session}.sh`);
  const env = Object.entries(sb.env)
    .map(([k, v]) => `export ${k}='${String(v).replaceAll("'", "'\\''")}'`)
    .join('\n');
  writeFileSync(
    script,
    `#!/bin/bash\n${env}\ncd '${sb.cwd}'\n'${process.execPath}' '${BIN}' ${args.join(' ')}\necho $? > '${rcFile}'\nsleep 30\n`,
  );
  chmodSync(script, 0o755);
  const r = tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '40', script);
  expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
  return rcFile;
}

async function rcOf(file: string, ms = 60_000): Promise<number> {
  const t0 = Date.now();
  while (!existsSync(file) || readFileSync(file, 'utf8').trim() === '') {
    if (Date.now() - t0 > ms) throw new Error(`no exit status in ${file}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return Number(readFileSync(file, 'utf8').trim());
}

let jobId = '';

beforeAll(async () => {
  const body = join(sb.dir, 'hold-body.sh');
  writeFileSync(
    body,
    `printf '%s\\n' '$(touch ${REMOTE_CANARY})' '\`id\`' "it's" > "$HOME/berth-lease-e2e-body-${tag}.out"\nexec sleep 3600\n`,
  );
  const r = await berth([
    'lease',
    'book',
    NAME,
    '--host',
    'cluster',
    '--cpus',
    '1',
    '--time',
    '15',
    '--tmux',
    '--hold-body',
    body,
    '--timeout',
    '600',
    '--json',
  ]);
  expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
  const lease = json<{
    jobId: string;
    state: string;
    liveness: string;
    wait: { running: boolean };
  }>(r);
  jobId = lease.jobId;
  expect(jobId).toMatch(/^\d+$/);
  expect(lease).toMatchObject({ state: 'running', liveness: 'ALIVE', wait: { running: true } });
}, 700_000);

afterAll(async () => {
  tmux('kill-server');
  await berth(['lease', 'release', NAME, '--missing-ok']);
  await berth(['lease', 'release', ADOPTED, '--missing-ok']);
  ssh(`rm -f ${REMOTE_CANARY} "$HOME/berth-lease-e2e-body-${tag}.out"`);
  sb.cleanup();
}, 300_000);

describe('berth lease (e2e, real SLURM over ssh)', () => {
  it('book saved the record: list and get show it ALIVE with its hop and extras', async () => {
    const list = json<Array<{ name: string; liveness: string; jobId: string }>>(
      await berth(['lease', 'list', '--json']),
    );
    expect(list.find((l) => l.name === NAME)).toMatchObject({ liveness: 'ALIVE', jobId });
    const get = json<{
      hops: Array<{ jobId: string; reason: string }>;
      spec: { tmux: boolean; holdBody: string; resources: { cpus: number; time: number } };
      extra: { dir: string; nodes: string[]; bins: { sbatch: string } };
    }>(await berth(['lease', 'get', NAME, '--json']));
    expect(get.hops).toEqual([expect.objectContaining({ jobId, reason: 'booked' })]);
    expect(get.spec).toMatchObject({ tmux: true, resources: { cpus: 1, time: 900 } });
    expect(get.spec.holdBody).toContain('exec sleep 3600');
    expect(get.extra.dir).toBe(`${info.workRoot}/leases/${NAME}`);
    expect(get.extra.nodes).toHaveLength(1);
    expect(get.extra.bins.sbatch).toMatch(/^\/.*sbatch$/);
    const text = await berth(['reservations', 'get', NAME]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/liveness\s+ALIVE/);
  }, 600_000);

  it('a second lease of the same name is refused while the first lives', async () => {
    const r = await berth(['lease', 'book', NAME, '--host', 'cluster', '--time', '5', '--json']);
    expect(r.status).toBe(7);
    expect(json(r)).toMatchObject({ error: 'E_CONFLICT' });
  }, 600_000);

  it('the hold body ran quoted: its text arrived literally and nothing expanded', async () => {
    const read = () =>
      ssh(`cat "$HOME/berth-lease-e2e-body-${tag}.out"; test -e ${REMOTE_CANARY} && echo CANARY`);
    // The deadline only bounds a failure: a loaded machine can be slow to run the body.
    for (const end = Date.now() + 120_000; Date.now() < end && read() === ''; ) {
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(read()).toBe(`$(touch ${REMOTE_CANARY})\n\`id\`\nit's\n`);
  }, 600_000);

  it('exec streams output, passes stdin and the exit code through', async () => {
    const r = await berth([
      'lease',
      'exec',
      NAME,
      '--',
      'bash',
      '-c',
      'echo "job=$SLURM_JOB_ID"; echo oops >&2; exit 5',
    ]);
    expect(r.status).toBe(5);
    expect(r.stdout).toBe(`job=${jobId}\n`);
    expect(r.stderr).toContain('oops');
    const upper = await berth(['lease', 'exec', NAME, '--', 'tr', 'a-z', 'A-Z'], 'hello lease\n');
    expect(upper.status).toBe(0);
    expect(upper.stdout).toBe('HELLO LEASE\n');
    const noStdin = await berth(['lease', 'exec', NAME, '-n', '--', 'cat'], 'not passed\n');
    expect(noStdin).toMatchObject({ status: 0, stdout: '' });
    const argv = await berth([
      'lease',
      'exec',
      NAME,
      '--',
      'printf',
      '%s|',
      '$(touch x)',
      "it's",
      'a b',
    ]);
    expect(argv.stdout).toBe("$(touch x)|it's|a b|");
  }, 600_000);

  it('exec --json reports the job and exit code; the command output goes to stderr', async () => {
    const r = await berth(
      ['lease', 'exec', NAME, '--json', '--', 'bash', '-c', 'cat; exit 3'],
      'in\n',
    );
    expect(r.status).toBe(3);
    expect(json(r)).toMatchObject({ lease: NAME, jobId, exitCode: 3, signal: null });
    expect(r.stderr).toContain('in');
  }, 600_000);

  it('exec --tasks runs a file of commands through one executor and lists each with --json', async () => {
    const file = join(sb.dir, 'tasks.txt');
    const lines = Array.from({ length: 50 }, (_, i) =>
      i === 7 ? 'echo seven; exit 2' : `echo t${i}`,
    );
    writeFileSync(file, `# a comment\n${lines.join('\n')}\n`);
    const r = await berth(['lease', 'exec', NAME, '--tasks', file, '--concurrency', '2', '--json']);
    expect(r.status).toBe(1);
    const report = json<{
      total: number;
      ok: number;
      failed: number;
      tasks: Array<{ index: number; exitCode: number; stdout: string; durationMs: number }>;
    }>(r);
    expect(report).toMatchObject({ total: 50, ok: 49, failed: 1 });
    expect(report.tasks[7]).toMatchObject({ index: 7, exitCode: 2, stdout: 'seven\n' });
    expect(report.tasks[3]).toMatchObject({ exitCode: 0, stdout: 't3\n' });
    const text = await berth(['lease', 'exec', NAME, '--tasks', file]);
    expect(text.stderr).toMatch(/50 tasks in lease .*: 49 ok, 1 failed, 0 not run/);
    expect(text.stdout).toContain('[7] seven');
  }, 600_000);

  it('verify: what was requested is what was granted', async () => {
    const r = await berth(['lease', 'verify', NAME, '--json']);
    expect(r.status).toBe(0);
    const report = json<{ ok: boolean; checks: Array<{ key: string; ok: boolean }> }>(r);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.key).sort()).toEqual(['cpus', 'time']);
  }, 600_000);

  it('attach joins the tmux server of the job; typed commands run in the allocation', async () => {
    const rc = startInTerminal('a1', ['lease', 'attach', NAME]);
    await screenUntil('a1', /\$ ?$/m);
    tmux('send-keys', '-t', 'a1', 'echo "attached-$SLURM_JOB_ID-$(hostname)"', 'Enter');
    const screen = await screenUntil('a1', new RegExp(`attached-${jobId}-n\\d`));
    expect(screen).toMatch(new RegExp(`attached-${jobId}-n\\d`));
    tmux('send-keys', '-t', 'a1', 'C-b', 'd'); // detach from the lease's server
    expect(await rcOf(rc)).toBe(0);
  }, 600_000);

  it('attach --shell opens a login shell in a step; exit leaves it', async () => {
    const rc = startInTerminal('a2', ['lease', 'attach', NAME, '--shell']);
    await screenUntil('a2', /\$ ?$/m);
    tmux('send-keys', '-t', 'a2', 'echo "shell-$SLURM_JOB_ID-$SLURM_STEP_ID"; exit 4', 'Enter');
    await screenUntil('a2', new RegExp(`shell-${jobId}-\\d+`));
    expect(await rcOf(rc)).toBe(4);
  }, 600_000);

  it('adopt an externally submitted job; verify reports the cpus it was not asked for', async () => {
    const external = ssh(
      `sbatch --parsable -c 1 --time 5 -J e2e-external-${tag} --wrap 'sleep 600'`,
    ).trim();
    expect(external).toMatch(/^\d+$/);
    const r = await berth([
      'lease',
      'adopt',
      ADOPTED,
      '--job-id',
      external,
      '--host',
      'cluster',
      '--cpus',
      '2',
      '--json',
    ]);
    expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
    expect(json(r)).toMatchObject({ name: ADOPTED, jobId: external, spec: { adopted: true } });
    const v = await berth(['lease', 'verify', ADOPTED, '--json']);
    expect(v.status).toBe(7);
    const report = json<{ ok: boolean; checks: unknown[] }>(v);
    expect(report.ok).toBe(false);
    expect(report.checks).toContainEqual({ key: 'cpus', requested: 2, granted: 1, ok: false });
    const text = await berth(['lease', 'verify', ADOPTED]);
    expect(text.stdout).toMatch(/cpus\s+2\s+1\s+MISMATCH/);
    const released = json<{ cancelled: string[] }>(
      await berth(['lease', 'release', ADOPTED, '--json']),
    );
    expect(released.cancelled).toEqual([external]);
  }, 600_000);

  it('hostile names are refused before anything runs; hostile hold bodies are refused', async () => {
    for (const bad of [`x;touch ${CANARY}`, `$(touch ${CANARY})`, '../x', 'a b', '-x']) {
      for (const args of [
        ['lease', 'book', bad, '--host', 'cluster', '--time', '5', '--dry-run'],
        ['lease', 'exec', bad, '--', 'true'],
        ['lease', 'release', bad],
      ]) {
        const r = await berth(args);
        expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      }
    }
    const nul = join(sb.dir, 'nul-body.sh');
    writeFileSync(nul, 'echo a\0b\n');
    const r = await berth([
      'lease',
      'book',
      `body-${tag}`,
      '--host',
      'cluster',
      '--time',
      '5',
      '--hold-body',
      nul,
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/hold body contains a NUL byte/);
    expect(existsSync(CANARY)).toBe(false);
    expect(ssh(`test -e ${CANARY} && echo CANARY; test -e ${REMOTE_CANARY} && echo CANARY`)).toBe(
      '',
    );
    const list = json<Array<{ name: string }>>(
      await berth(['lease', 'list', '--no-check', '--json']),
    );
    expect(list.map((l) => l.name).sort()).toEqual([NAME]);
  }, 600_000);

  it('release cancels the job and forgets the lease; a second release is not found', async () => {
    const r = await berth(['lease', 'release', NAME, '--json']);
    expect(r.status).toBe(0);
    expect(json(r)).toMatchObject({ lease: NAME, released: true, cancelled: [jobId] });
    // slurmctld tells slurmdbd (sacct) about the end asynchronously: poll, with a deadline
    // that only bounds a failure.
    const state = () => ssh(`squeue -h -j ${jobId} -o %T; sacct -X -n -P -j ${jobId} -o State`);
    for (const end = Date.now() + 120_000; Date.now() < end && !/CANCELLED/.test(state()); ) {
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(state()).toMatch(/CANCELLED/);
    const again = await berth(['lease', 'release', NAME]);
    expect(again.status).toBe(3);
    const ok = await berth(['lease', 'release', NAME, '--missing-ok', '--json']);
    expect(ok.status).toBe(0);
    expect(json(ok)).toMatchObject({ released: false, missing: true });
    const exec = await berth(['lease', 'exec', NAME, '--', 'true']);
    expect(exec.status).toBe(3);
  }, 600_000);
});
