/**
 * `berth jobs` and `berth job list`: one query, one table (src/dispatch/list.ts,
 * src/cli/job-list.ts). Run through main() against a real SQLite store in a temp state dir,
 * seeded with a dispatched SLURM job, an array on a none host and a monitored run.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderJobList } from '../../src/cli/job-list.js';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { stateNames } from '../../src/dispatch/list.js';
import { type JobInput, type JobRecord, openStore, upsertJob } from '../../src/store/index.js';

let root: string;
let env: Record<string, string>;
let before: string;
const now = Date.now();

const SLURM: JobInput = {
  key: 'jl-cluster:101',
  host: 'jl-cluster',
  scheduler: 'slurm',
  schedulerId: '101',
  name: 'train',
  command: 'python train.py\n--epochs 3',
  state: 'running',
  startedAt: now - 60_000,
  updatedAt: now - 1000,
  extra: {
    schedulerIds: ['101'],
    watch: { state: { kind: 'running', nodes: ['n1', 'n2'], startedAt: now - 60_000 } },
  },
};
const ARRAY: JobInput = {
  key: 'jl-ws:n-01abc',
  host: 'jl-ws',
  scheduler: 'none',
  schedulerId: 'n-01abc',
  name: 'sweep',
  state: 'failed',
  exitCode: 3,
  reason: 'exit_code',
  startedAt: now - 9000,
  endedAt: now - 4000,
  updatedAt: now - 2000,
  extra: {
    taskCount: 4,
    watch: {
      state: { kind: 'failed', exitCode: 3, signal: null, endedAt: now - 4000 },
      tasks: { completed: 3, failed: 1 },
    },
  },
};
const RUN: JobInput = {
  key: 'local:01RUN',
  host: 'local',
  scheduler: 'local',
  command: 'sh -c exit 0',
  state: 'cancelled',
  signal: 'SIGTERM',
  exitCode: 143,
  reason: 'cancelled',
  updatedAt: now - 3000,
};
const OLD: JobInput = {
  key: 'jl-cluster:7',
  host: 'jl-cluster',
  scheduler: 'slurm',
  schedulerId: '7',
  state: 'completed',
  exitCode: 0,
  updatedAt: now - 10 * 86_400_000,
};

function capture(): Io & { stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

async function berth(...args: string[]) {
  const io = capture();
  const code = await main(['node', 'berth', ...args], io, env);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'berth-job-list-'));
  mkdirSync(join(root, 'project'));
  env = {
    HOME: join(root, 'home'),
    XDG_CONFIG_HOME: join(root, 'xdg'),
    BERTH_STATE_DIR: join(root, 'state'),
    PATH: '/nonexistent',
  };
  before = process.cwd();
  process.chdir(join(root, 'project'));
  const store = await openStore({ url: `sqlite:${join(root, 'state', 'berth.db')}` });
  try {
    for (const j of [SLURM, ARRAY, RUN, OLD]) await upsertJob(store.db, j);
  } finally {
    await store.close();
  }
});

afterAll(() => {
  process.chdir(before);
  rmSync(root, { recursive: true, force: true });
});

describe('stateNames', () => {
  it('splits commas and expands live and ended', () => {
    expect(stateNames(undefined)).toBeUndefined();
    expect(stateNames('running, failed')).toEqual(['running', 'failed']);
    expect(stateNames(['live'])).toEqual([
      'pending',
      'running',
      'suspended',
      'completing',
      'unknown',
    ]);
    expect(stateNames('ended,failed')).toContain('cancelled');
    expect(new Set(stateNames('ended,failed')).size).toBe(stateNames('ended,failed')!.length);
  });
});

describe('berth jobs and berth job list: one view', () => {
  it('the same table: job list is jobs without the monitored runs', async () => {
    const all = await berth('jobs');
    const dispatched = await berth('job', 'list');
    expect(all.code, all.stderr).toBe(0);
    expect(dispatched.code, dispatched.stderr).toBe(0);
    const allLines = all.stdout.trimEnd().split('\n');
    expect(allLines[0]).toMatch(
      /^KEY\s+NAME\s+STATE\s+EXIT\s+REASON\s+TASKS\s+STARTED\s+TOOK\s+COMMAND$/,
    );
    expect(allLines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([
      'jl-cluster:101',
      'jl-ws:n-01abc',
      'local:01RUN',
      'jl-cluster:7',
    ]);
    const rows = (text: string) =>
      text
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split(/\s{2,}/));
    const expected = rows(all.stdout).filter((r) => !r[0]!.startsWith('local:'));
    expect(rows(dispatched.stdout)).toEqual(expected);
    expect(all.stdout).toMatch(
      /jl-cluster:101\s+train\s+running on n1,n2\s+-\s+-\s+-\s+\S+ \S+\s+-\s+python train.py --epochs 3\n/,
    );
    expect(all.stdout).toMatch(
      /jl-ws:n-01abc\s+sweep\s+failed\s+3\s+exit_code\s+completed 3, failed 1 of 4\s+/,
    );
    expect(all.stdout).toMatch(/local:01RUN\s+-\s+cancelled\s+signal SIGTERM\s+cancelled\s+-/);
  });

  it('--json stays as it was: store records for jobs, JobViews for job list', async () => {
    const records = JSON.parse((await berth('--json', 'jobs')).stdout) as JobRecord[];
    expect(records.map((r) => r.key)).toEqual([
      'jl-cluster:101',
      'jl-ws:n-01abc',
      'local:01RUN',
      'jl-cluster:7',
    ]);
    expect(records[0]).toMatchObject({ scheduler: 'slurm', schedulerId: '101', state: 'running' });
    const views = JSON.parse((await berth('--json', 'job', 'list')).stdout);
    expect(views.map((v: { key: string }) => v.key)).toEqual([
      'jl-cluster:101',
      'jl-ws:n-01abc',
      'jl-cluster:7',
    ]);
    expect(views[1]).toMatchObject({
      jobId: 'n-01abc',
      scheduler: 'none',
      state: { kind: 'failed', exitCode: 3 },
      tasks: { completed: 3, failed: 1 },
      taskCount: 4,
    });
  });

  it('the same filters on both: state lists, live/ended, since, host, limit', async () => {
    const keys = async (...args: string[]) =>
      JSON.parse((await berth('--json', ...args)).stdout).map((r: { key: string }) => r.key);
    expect(await keys('jobs', '--state', 'running,cancelled')).toEqual([
      'jl-cluster:101',
      'local:01RUN',
    ]);
    expect(await keys('job', 'list', '--state', 'ended')).toEqual([
      'jl-ws:n-01abc',
      'jl-cluster:7',
    ]);
    expect(await keys('jobs', '--state', 'live')).toEqual(['jl-cluster:101']);
    expect(await keys('job', 'list', '--since', '1d')).toEqual(['jl-cluster:101', 'jl-ws:n-01abc']);
    expect(await keys('jobs', '--host', 'jl-cluster')).toEqual(['jl-cluster:101', 'jl-cluster:7']);
    // The limit applies after the dispatched filter: the monitored run between them does
    // not take one of the two places.
    expect(await keys('job', 'list', '--limit', '2', '--state', 'ended')).toEqual([
      'jl-ws:n-01abc',
      'jl-cluster:7',
    ]);
    const bad = await berth('job', 'list', '--limit', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--limit expects a positive whole number, got "0"');
    expect((await berth('jobs', '--host', 'a/b')).code).toBe(2);
  });

  it('an empty list says so', () => {
    expect(renderJobList([])).toBe('no jobs');
  });
});
