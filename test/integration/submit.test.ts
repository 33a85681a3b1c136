/**
 * `berth submit SCRIPT` on the dev cluster (host `local`, scheduler auto → slurm; the jobs run
 * as root): the user's file is not changed, its own #SBATCH lines apply, its body runs under
 * `berth run`, and SUBMITTED, RUNNING and the end reach the store (the compute node writes
 * its outbox in the job dir; `berth events flush --dir <jobs>` collects it). `berth job show`
 * prints the timeline. The state dir is a temp dir on the filesystem the nodes share.
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../src/monitor/events.js';
import { berthRun, readOutbox, waitFor } from '../fixtures/monitor/harness.js';
import { cluster } from '../helpers/cluster.js';

let dir: string;
let env: NodeJS.ProcessEnv;
const submitted: Record<string, { jobKey: string; job: { jobId: string; workDir: string } }> = {};

const FAIL = `#!/bin/bash
#SBATCH --job-name=berth-sub-fail
#SBATCH --time=5

# a comment in the header
echo "body ran as $BERTH_JOB_KEY"
cat <<'EOF'
a heredoc of the user's own
EOF
exit 3
`;

const OK = `#!/bin/sh
#SBATCH -J berth-sub-ok
echo ok
`;

// Prints how many arguments it got, then each one, NUL-terminated: byte-exact on the way back.
const ARGS = `#!/bin/bash
#SBATCH --job-name=berth-sub-args
#SBATCH --time=5
printf '%s\\0' "$#" "$@"
`;

const HOSTILE = [
  'two words',
  "it's",
  'say "hi" \\"there\\"',
  '$(touch pwned-dollar)',
  '`touch pwned-tick`',
  'line one\nline two\n',
  '*',
  '',
  '--epochs=10',
  '-x',
  '; touch pwned-semi',
  '#SBATCH --time=1',
  'ünï €',
];

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const berth = (args: string[]) => berthRun(args, { cwd: dir, env });

function jobName(id: string): string {
  const text = execFileSync('scontrol', ['show', 'job', id], { encoding: 'utf8' });
  return /JobName=(\S+)/.exec(text)?.[1] ?? '';
}

async function ended(name: string): Promise<MonitorEvent[]> {
  const outbox = join(submitted[name]!.job.workDir, 'outbox.jsonl');
  return waitFor(
    `${name} to end`,
    () => {
      const events = readOutbox(outbox);
      return events.some((e) => e.type === 'COMPLETED' || e.type === 'FAILED') && events;
    },
    180_000,
  );
}

async function show(
  key: string,
): Promise<{ job: Record<string, unknown>; events: MonitorEvent[] }> {
  const r = await berth(['jobs', 'show', key, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

beforeAll(async () => {
  cluster(); // fails clearly when the dev cluster is not up
  dir = mkdtempSync(join(tmpdir(), 'berth-submit-'));
  chmodSync(dir, 0o755);
  env = { PATH: process.env.PATH, HOME: process.env.HOME, BERTH_STATE_DIR: join(dir, 'state') };
  writeFileSync(join(dir, 'fail.sh'), FAIL, { mode: 0o644 });
  writeFileSync(join(dir, 'ok.sh'), OK, { mode: 0o644 });
  writeFileSync(join(dir, 'args.sh'), ARGS, { mode: 0o644 });
  for (const name of ['fail', 'ok']) {
    const before = sha(join(dir, `${name}.sh`));
    const r = await berth(['submit', '--host', 'local', '--json', `${name}.sh`]);
    expect(r.code, r.stderr).toBe(0);
    submitted[name] = JSON.parse(r.stdout);
    expect(sha(join(dir, `${name}.sh`))).toBe(before);
  }
}, 120_000);

afterAll(async () => {
  for (const s of Object.values(submitted)) {
    try {
      execFileSync('scancel', [s.job.jobId]);
    } catch {
      // already gone
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 500 });
});

describe('berth submit', () => {
  it('--dry-run prints the wrapper: the user header first, the body under exec berth run', async () => {
    const r = await berth(['submit', '--host', 'local', '--time', '7', '--dry-run', 'fail.sh']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('#!/bin/bash');
    expect(lines[1]).toBe('#SBATCH --job-name=berth-sub-fail');
    expect(lines).toContain('#SBATCH --time=00:07:00'); // the flag comes after the script's own --time=5, so it wins
    expect(r.stdout).toContain("cat <<'EOF'\na heredoc of the user's own\nEOF\nexit 3\n");
    expect(r.stdout).toMatch(/\nexec \S+ \S+ run -- "\$body" "\$@"\n/);
    expect(r.stdout).toContain('# submit: sbatch --parsable job.sh');
  });

  it('a body that exits 3: the user name, SUBMITTED, RUNNING, FAILED (exit 3), job show', async () => {
    const s = submitted.fail!;
    expect(s.jobKey).toBe(`local:${s.job.jobId}`);
    const events = await ended('fail');
    expect(jobName(s.job.jobId)).toBe('berth-sub-fail');
    expect(readFileSync(join(s.job.workDir, 'stdout'), 'utf8')).toBe(
      `body ran as ${s.jobKey}\na heredoc of the user's own\n`,
    );
    expect(events.map((e) => e.jobKey)).toEqual(events.map(() => s.jobKey));
    const flush = await berth(['events', 'flush', '--dir', join(dir, 'state', 'jobs')]);
    expect(flush.code, flush.stdout + flush.stderr).toBe(0);

    const found = await show(s.jobKey);
    expect(found.events.map((e) => e.type)).toEqual(['SUBMITTED', 'RUNNING', 'FAILED']);
    expect(found.events[0]!.data).toMatchObject({
      host: 'local',
      jobId: s.job.jobId,
      script: join(dir, 'fail.sh'),
      name: 'berth-sub-fail',
    });
    expect(found.events[1]!.data.context).toMatchObject({
      host: 'local',
      slurm: { jobId: s.job.jobId, jobName: 'berth-sub-fail' },
    });
    expect(found.events[2]!.data).toMatchObject({ exitCode: 3, reason: 'exit_code' });
    expect(found.job).toMatchObject({ state: 'failed', exitCode: 3 });

    const text = await berth(['job', 'show', s.jobKey]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^job ${s.jobKey}  failed \\(exit 3`));
    expect(text.stdout).toMatch(
      / SUBMITTED\s*\n.* RUNNING +pid \d+\n.* FAILED +exit 3, reason exit_code/,
    );
    const json = await berth(['job', 'show', s.jobKey, '--json']);
    expect(JSON.parse(json.stdout)).toEqual(found);
  }, 240_000);

  it('a body that succeeds (a #!/bin/sh script, -J name): COMPLETED', async () => {
    const s = submitted.ok!;
    await ended('ok');
    expect(jobName(s.job.jobId)).toBe('berth-sub-ok');
    const flush = await berth(['events', 'flush', '--dir', join(dir, 'state', 'jobs')]);
    expect(flush.code, flush.stdout + flush.stderr).toBe(0);
    const found = await show(s.jobKey);
    expect(found.events.map((e) => e.type)).toEqual(['SUBMITTED', 'RUNNING', 'COMPLETED']);
    expect(found.job).toMatchObject({ state: 'completed', exitCode: 0 });
    expect(readFileSync(join(s.job.workDir, 'stdout'), 'utf8')).toBe('ok\n');
  }, 240_000);

  it('passes the script arguments through byte for byte; nothing in them runs', async () => {
    const r = await berth(['submit', '--host', 'local', '--json', 'args.sh', '--', ...HOSTILE]);
    expect(r.code, r.stderr).toBe(0);
    submitted.args = JSON.parse(r.stdout);
    const s = submitted.args!;
    const events = await ended('args');
    expect(events.at(-1)!.type, JSON.stringify(events.at(-1))).toBe('COMPLETED');
    const got = readFileSync(join(s.job.workDir, 'stdout'), 'utf8').split('\0');
    expect(got.pop()).toBe('');
    expect(got).toEqual([String(HOSTILE.length), ...HOSTILE]);
    for (const where of [dir, s.job.workDir, process.env.HOME ?? '/root']) {
      for (const f of ['pwned-dollar', 'pwned-tick', 'pwned-semi']) {
        expect(existsSync(join(where, f)), join(where, f)).toBe(false);
      }
    }
    const flush = await berth(['events', 'flush', '--dir', join(dir, 'state', 'jobs')]);
    expect(flush.code, flush.stdout + flush.stderr).toBe(0);
    const found = await show(s.jobKey);
    expect(found.events[0]!.data.args).toEqual(HOSTILE);
  }, 240_000);

  it('job show of an unknown key: not found (exit 3)', async () => {
    const r = await berth(['job', 'show', 'local:no-such-job']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no job "local:no-such-job"');
  });
});
