/**
 * The shell text leases send to a host, run by a local bash with fake SLURM and tmux
 * programs on PATH: the step (chain following), the task executor, release, the tenant
 * launcher, the submit script. Hostile values must arrive byte for byte and run nothing.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderAttach } from '../../src/lease/attach.js';
import { renderSubmitHold } from '../../src/lease/book.js';
import { EXECUTOR, FrameReader, type TaskResult } from '../../src/lease/executor.js';
import { renderRelease } from '../../src/lease/release.js';
import { renderStep } from '../../src/lease/srun.js';
import { renderTenantLauncher } from '../../src/lease/tenants.js';
import { quote } from '../../src/transport/quote.js';

const HOSTILE = [
  '$(touch pwned)',
  '`touch pwned`',
  "it's",
  'a;touch pwned',
  '*',
  '$HOME',
  ' sp ',
  '',
  'ü ✓',
];

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A scratch dir with fake programs (each logs its argv, NUL-separated, then runs `body`). */
function sandbox(fakes: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'berth-lease sh $(x) '));
  dirs.push(root);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  for (const [name, body] of Object.entries(fakes)) {
    const file = join(bin, name);
    writeFileSync(
      file,
      `#!/bin/bash\nprintf '%s\\0' "$@" >> ${quote(join(root, `${name}.argv`))}\nprintf '\\n' >> ${quote(join(root, `${name}.argv`))}\n${body}\n`,
    );
    chmodSync(file, 0o755);
  }
  const run = (script: string, input = '') =>
    spawnSync('bash', ['-c', script], {
      cwd: root,
      input,
      encoding: 'utf8',
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: root },
    });
  const argv = (name: string) => {
    const f = join(root, `${name}.argv`);
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\0').slice(0, -1));
  };
  return { root, run, argv, pwned: () => existsSync(join(root, 'pwned')) };
}

describe('the step (lease exec)', () => {
  it('runs srun --jobid --overlap -n1 with the argv byte for byte', () => {
    const s = sandbox({ srun: 'while [ "$1" != -- ]; do shift; done; shift; exec "$@"' });
    const script = renderStep('41', ['printf', '%s|', ...HOSTILE], { node: 'n2', announce: '@@x' });
    const r = s.run(script);
    expect(r.stdout).toBe(`${HOSTILE.join('|')}|`);
    expect(r.stderr).toBe('@@x:job=41\n');
    expect(s.argv('srun')[0]!.slice(0, 6)).toEqual([
      '--jobid=41',
      '--overlap',
      '-n1',
      '-w',
      'n2',
      '--',
    ]);
    expect(s.pwned()).toBe(false);
  });

  it('follows the chain to the newest job that has started, not to a pending one', () => {
    const s = sandbox({ srun: 'true' });
    const dir = join(s.root, 'lease $(x)');
    mkdirSync(dir);
    const chain = (lines: string[]) => writeFileSync(join(dir, 'chain'), `${lines.join('\n')}\n`);
    const used = () => s.run(renderStep('41', ['true'], { chainDir: dir, announce: '@@x' })).stderr;
    expect(used()).toBe('@@x:job=41\n'); // no chain file yet
    chain(['1 41 start n1', '2 41 resubmit-ok 42', '3 42 start n2 *', '4 42 resubmit-ok 43']);
    expect(used()).toBe('@@x:job=42\n'); // 43 is submitted but has not started
    chain([
      '1 41 start n1',
      '2 41 resubmit-ok 42',
      '3 42 start n2 *',
      '4 42 resubmit-ok 43',
      '5 43 start n3',
    ]);
    expect(used()).toBe('@@x:job=43\n');
    expect(s.argv('srun').at(-1)![0]).toBe('--jobid=43');
  });

  it('passes the exit code through', () => {
    const s = sandbox({ srun: 'exit 7' });
    expect(s.run(renderStep('41', ['true'])).status).toBe(7);
  });

  it('refuses a job id that is not a number, and a bad node', () => {
    expect(() => renderStep('41;x', ['true'])).toThrow();
    expect(() => renderStep('41', ['true'], { node: '$(x)' })).toThrow();
  });

  it('attaches with srun --pty, to the tmux server of the job or a login shell', () => {
    expect(renderAttach('41', { tmux: '/usr/bin/tmux', node: 'n1' })).toBe(
      'exec srun --jobid=41 --overlap --pty -n1 -w n1 -- /usr/bin/tmux -L berth-lease-41 attach-session -t =_root',
    );
    expect(renderAttach('41', {})).toBe('exec srun --jobid=41 --overlap --pty -n1 -- bash -l');
    // a tenant is reached by the name tmux kept ('.' becomes '_')
    expect(renderAttach('41', { tmux: '/usr/bin/tmux', session: 'exp.v2' })).toMatch(
      / attach-session -t =exp_v2$/,
    );
  });
});

describe('the task executor', () => {
  function runTasks(commands: string[], concurrency: number) {
    const s = sandbox({});
    const r = s.run(
      `bash -c ${quote(EXECUTOR)} berth-tasks @@n ${concurrency}`,
      `${commands.join('\n')}\n`,
    );
    const reader = new FrameReader('@@n', commands);
    const results: TaskResult[] = [];
    for (const line of r.stdout.split('\n')) {
      const t = reader.push(line);
      if (t) results.push(t);
    }
    results.sort((a, b) => a.index - b.index);
    return { r, results, reader, pwned: s.pwned };
  }

  it('runs each line, reports exit code, duration and both outputs, tasks cannot read its stdin', () => {
    const { r, results, reader } = runTasks(
      ['echo out; echo err >&2; exit 3', 'printf "no newline"', 'cat; echo read-nothing', 'exit 0'],
      1,
    );
    expect(r.status).toBe(0);
    expect(reader.host).toBeTruthy();
    expect(results.map((t) => [t.index, t.exitCode, t.stdout, t.stderr])).toEqual([
      [0, 3, 'out\n', 'err\n'],
      [1, 0, 'no newline\n', ''],
      [2, 0, 'read-nothing\n', ''],
      [3, 0, '', ''],
    ]);
    expect(results.every((t) => typeof t.durationMs === 'number' && t.durationMs! >= 0)).toBe(true);
  });

  it('runs up to N at once and reports every task exactly once', () => {
    const commands = Array.from({ length: 40 }, (_, i) => `sleep 0.0$((${i} % 5)); echo ${i}`);
    const { results } = runTasks(commands, 4);
    expect(results).toHaveLength(40);
    expect(new Set(results.map((t) => t.index)).size).toBe(40);
    for (const t of results) expect(t.stdout).toBe(`${t.index}\n`);
    const slow = runTasks(['sleep 0.3', 'sleep 0.3', 'sleep 0.3', 'sleep 0.3'], 4);
    expect(slow.results).toHaveLength(4);
  });

  it('keeps a task from touching the executor (exit, cd, variables stay in its subshell)', () => {
    const { results } = runTasks(
      ['cd /; n=oops; exit 1', 'pwd >/dev/null; echo "$n"', "echo '$(touch pwned)'"],
      2,
    );
    expect(results.map((t) => t.stdout)).toEqual(['', '\n', '$(touch pwned)\n']);
  });
});

describe('release', () => {
  it('marks the lease released and cancels the job, its chain and its namesakes, once each', () => {
    const s = sandbox({ squeue: 'printf "43\\n50\\n"', scancel: 'true' });
    const dir = join(s.root, 'lease dir');
    mkdirSync(dir);
    writeFileSync(join(dir, 'chain'), '1 41 start n1\n2 41 resubmit-ok 42\n3 42 resubmit-ok 43\n');
    const r = s.run(renderRelease({ jobId: '41', dir, jobName: 'berth-lease-x' }));
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('@@berth-release 41 42 43 50');
    expect(existsSync(join(dir, 'released'))).toBe(true);
    expect(s.argv('scancel')).toEqual([['41', '42', '43', '50']]);
    expect(s.argv('squeue')).toEqual([['-h', '--me', '--name=berth-lease-x', '-o', '%i']]);
  });

  it('cancels nothing when there is nothing', () => {
    const s = sandbox({ scancel: 'true' });
    const r = s.run(renderRelease({ jobId: null, dir: null, jobName: null }));
    expect(r.stdout.trim()).toBe('@@berth-release');
    expect(s.argv('scancel')).toEqual([]);
  });
});

describe('tenant launcher and submit script', () => {
  it('pipes the pane to the log (appending), then execs the command byte for byte', () => {
    const s = sandbox({ tmux: 'true' });
    const log = join(s.root, "it's a log");
    const text = renderTenantLauncher({
      lease: 'x',
      session: 't1',
      command: ['printf', '%s|', ...HOSTILE],
      log,
      tmux: join(s.root, 'bin', 'tmux'),
    });
    const r = spawnSync('bash', ['-c', text], {
      cwd: s.root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, TMUX_PANE: '%3', SLURM_JOB_ID: '41' },
    });
    expect(r.stdout).toMatch(/berth: tenant t1 starts in job 41 on /);
    expect(r.stdout.split('\n').at(-1)).toBe(`${HOSTILE.join('|')}|`);
    expect(s.argv('tmux')).toEqual([['pipe-pane', '-o', '-t', '%3', `exec cat >> ${quote(log)}`]]);
    // the pipe command itself, run by a shell as tmux does, appends to the file
    spawnSync('sh', ['-c', `exec cat >> ${quote(log)}`], { input: 'one\n' });
    spawnSync('sh', ['-c', `exec cat >> ${quote(log)}`], { input: 'two\n' });
    expect(readFileSync(log, 'utf8')).toBe('one\ntwo\n');
    expect(s.pwned()).toBe(false);
  });

  it('keeps the script at its stable path and submits that file', () => {
    const s = sandbox({ sbatch: 'echo 4242' });
    const dir = join(s.root, 'leases', 'x');
    mkdirSync(join(dir, 'tenants'), { recursive: true });
    for (const f of ['chain', 'released', 'tenants/old.sh', 'job-1.out'])
      writeFileSync(join(dir, f), '');
    const r = s.run(renderSubmitHold(dir), '#!/bin/bash\necho hold\n');
    expect(r.stdout.trim()).toBe('4242');
    expect(readFileSync(join(dir, 'hold.sh'), 'utf8')).toBe('#!/bin/bash\necho hold\n');
    expect(s.argv('sbatch')).toEqual([['--parsable', join(dir, 'hold.sh')]]);
    expect(existsSync(join(dir, 'chain'))).toBe(false);
    expect(existsSync(join(dir, 'released'))).toBe(false);
    expect(existsSync(join(dir, 'tenants', 'old.sh'))).toBe(false);
    expect(existsSync(join(dir, 'job-1.out'))).toBe(true);
  });
});
