/**
 * The Scheduler conformance suite: one set of jobs, run against every implementation —
 * SLURM over ssh (the test cluster), `none` on this machine and `none` over ssh — and the
 * same final states expected from each. Every job of every implementation is submitted
 * at once in beforeAll (SLURM's walltime case takes one to two minutes), then one
 * observe() per implementation per poll until all have ended.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { isTerminal, type JobState } from '../../src/core/states.js';
import type { Observation, Scheduler } from '../../src/scheduler/contract.js';
import { NoneScheduler } from '../../src/scheduler/none/scheduler.js';
import { SlurmScheduler } from '../../src/scheduler/slurm/scheduler.js';
import { type JobSpecInput, parseJobSpec } from '../../src/scheduler/spec.js';
import { LocalRunner } from '../../src/transport/local.js';
import type { Runner } from '../../src/transport/runner.js';
import { SshRunner } from '../../src/transport/ssh.js';
import { cluster } from '../helpers/cluster.js';

const TAG = `sched-${randomBytes(3).toString('hex')}`;
const stateDir = mkdtempSync(join(tmpdir(), 'berth-sched-'));

/** Values that would do something if they reached a shell unquoted (runner corpus). */
function hostile(canaries: string): string[] {
  return [
    `$(touch ${canaries}/subst)`,
    `\`touch ${canaries}/backtick\``,
    `; touch ${canaries}/semicolon`,
    `&& touch ${canaries}/and`,
    `| touch ${canaries}/pipe`,
    `> ${canaries}/redirect`,
    "it's",
    `'single' "double" 'mixed"`,
    '*',
    '$HOME',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion that must not expand
    '${HOME}',
    '!event',
    '~',
    '#comment',
    '%s %d %j',
    ' spaced  out ',
    'ünïcødé ✓ 日本',
  ];
}

interface Impl {
  name: string;
  kind: 'slurm' | 'none';
  runner: Runner;
  root: string;
  /** The walltime case: its limit and how long to sleep past it. */
  walltime: string | number;
  scheduler?: Scheduler;
}

function sshRunner(name: string): SshRunner {
  const c = cluster();
  return new SshRunner({ host: name, target: c.sshAlias, configFile: c.sshConfig, stateDir });
}

const c = cluster();
const impls: Impl[] = [
  {
    name: 'slurm over ssh',
    kind: 'slurm',
    runner: sshRunner('cluster'),
    root: `${c.workRoot}/${TAG}-slurm`,
    walltime: 1, // minutes: SLURM's smallest limit
  },
  {
    name: 'none on this machine',
    kind: 'none',
    runner: new LocalRunner({ host: 'local' }),
    root: join(stateDir, 'local-root'),
    walltime: '5s',
  },
  {
    name: 'none over ssh',
    kind: 'none',
    runner: sshRunner('sshnone'),
    root: `${c.workRoot}/${TAG}-none`,
    walltime: '5s',
  },
];

type Case = 'ok' | 'exit3' | 'cancel' | 'walltime' | 'signal' | 'array' | 'hostile';

interface Outcome {
  ids: Record<Case, string>;
  final: Record<Case, Observation>;
  canaries: string;
  hostileDir: string;
  values: string[];
}

const outcomes = new Map<string, Promise<Outcome>>();

async function runCases(impl: Impl): Promise<Outcome> {
  const s = impl.scheduler!;
  const mk = await impl.runner.run(['mkdir', '-p', '--', impl.root]);
  expect(mk.exitCode).toBe(0);
  const canaries = `${impl.root}/canaries`;
  const values = hostile(canaries);
  const hostileDir = `${impl.root}/work $(touch ${canaries}/workdir) 'q' ;x`;
  await impl.runner.run(['mkdir', '-p', '--', canaries, hostileDir]);
  const name = (k: Case) => `${TAG}-${impl.kind}-${k}`;
  const spec = (k: Case, input: JobSpecInput) => parseJobSpec({ name: name(k), ...input });
  const specs: Record<Case, ReturnType<typeof parseJobSpec>> = {
    ok: spec('ok', {
      command: ['bash', '-c', 'echo "out $BERTH_X"; echo err >&2'],
      env: { BERTH_X: 'hello' },
    }),
    exit3: spec('exit3', { command: ['bash', '-c', 'exit 3'] }),
    cancel: spec('cancel', { command: ['sleep', '300'] }),
    walltime: spec('walltime', {
      command: ['sleep', '600'],
      resources: { time: impl.walltime },
    }),
    signal: spec('signal', { script: '#!/bin/bash\nkill -9 $$\n' }),
    array: spec('array', {
      command: [
        'bash',
        '-c',
        'echo "task $SLURM_ARRAY_TASK_ID"; exit $((SLURM_ARRAY_TASK_ID % 2))',
      ],
      array: '0-3%2',
    }),
    hostile: spec('hostile', {
      command: ['bash', '-c', 'printf "%s\\n" "$PWD" "$EVIL" "$@"', 'argv0', ...values],
      env: { EVIL: values[0]! },
      workdir: hostileDir,
    }),
  };
  const cases = Object.keys(specs) as Case[];
  const subs = await Promise.all(cases.map((k) => s.submit(specs[k])));
  const ids = Object.fromEntries(cases.map((k, i) => [k, subs[i]!.jobId])) as Record<Case, string>;
  const final = {} as Record<Case, Observation>;
  let cancelled = false;
  const deadline = Date.now() + 280_000;
  while (Date.now() < deadline) {
    const open = cases.filter((k) => !final[k]);
    if (open.length === 0) break;
    const seen = await s.observe(open.map((k) => ids[k]));
    for (const k of open) {
      const o = seen.get(ids[k])!;
      if (isTerminal(o.state)) final[k] = o;
    }
    const cancelState = seen.get(ids.cancel)?.state.kind;
    if (!cancelled && (cancelState === 'running' || cancelState === 'pending')) {
      await s.cancel(ids.cancel);
      cancelled = true;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
  return { ids, final, canaries, hostileDir, values };
}

beforeAll(() => {
  for (const impl of impls) {
    impl.scheduler =
      impl.kind === 'slurm'
        ? new SlurmScheduler(impl.runner, { root: impl.root })
        : new NoneScheduler(impl.runner, { root: impl.root, graceS: 2 });
    const run = runCases(impl);
    run.catch(() => {});
    outcomes.set(impl.name, run);
  }
});

afterAll(async () => {
  for (const impl of impls) {
    const o = await outcomes.get(impl.name)?.catch(() => undefined);
    // Whatever has not ended is cancelled: no test leaves jobs behind.
    for (const [k, id] of Object.entries(o?.ids ?? {})) {
      if (!o?.final[k as Case]) await impl.scheduler?.cancel(id).catch(() => {});
    }
    await impl.runner.run(['rm', '-rf', '--', impl.root]).catch(() => {});
    await impl.runner.close({ master: true });
  }
  rmSync(stateDir, { recursive: true, force: true });
});

/** The part of a state every implementation must agree on. */
function essence(state: JobState): Record<string, unknown> {
  const s = state as JobState & { exitCode?: number | null; signal?: number };
  return {
    kind: s.kind,
    ...(s.exitCode === undefined ? {} : { exitCode: s.exitCode }),
    ...(s.signal === undefined ? {} : { signal: s.signal }),
  };
}

async function logs(impl: Impl, jobId: string): Promise<{ out: string; err: string }> {
  const p = await impl.scheduler!.logPaths(jobId);
  const out = await impl.runner.run(['cat', '--', p.stdout]);
  const err = await impl.runner.run(['cat', '--', p.stderr]);
  return { out: out.stdout, err: err.stdout };
}

/**
 * The first test of each implementation waits for the jobs started in beforeAll: up to
 * runCases' 280 s deadline (SLURM's walltime case alone takes one to two minutes, more on a
 * loaded machine with a busy queue). The tests after it find them ended.
 */
const WAITS_FOR_JOBS = { timeout: 300_000 };

for (const impl of impls) {
  describe(`Scheduler conformance: ${impl.name}`, WAITS_FOR_JOBS, () => {
    const outcome = () => outcomes.get(impl.name)!;

    it('a job that exits 0 is completed, with its stdout and stderr in the job dir', async () => {
      const o = await outcome();
      expect(o.final.ok.state).toMatchObject({ kind: 'completed', exitCode: 0 });
      expect(await logs(impl, o.ids.ok)).toEqual({ out: 'out hello\n', err: 'err\n' });
    });

    it('a job that exits 3 is failed with exit code 3', async () => {
      const o = await outcome();
      expect(essence(o.final.exit3.state)).toEqual({ kind: 'failed', exitCode: 3 });
    });

    it('a cancelled job is cancelled', async () => {
      const o = await outcome();
      expect(o.final.cancel.state.kind).toBe('cancelled');
    });

    it('a job past its time limit is timeout (walltime)', async () => {
      const o = await outcome();
      expect(o.final.walltime.state).toMatchObject({ kind: 'timeout', limit: 'walltime' });
    });

    it('a batch script that kills itself with SIGKILL is failed with signal 9', async () => {
      const o = await outcome();
      expect(essence(o.final.signal.state)).toEqual({ kind: 'failed', exitCode: null, signal: 9 });
    });

    it('an array reports per-task counts and its first failure; task logs are per task', async () => {
      const o = await outcome();
      expect(o.final.array.tasks).toEqual({ completed: 2, failed: 2 });
      expect(essence(o.final.array.state)).toEqual({ kind: 'failed', exitCode: 1 });
      expect((await logs(impl, `${o.ids.array}_3`)).out).toBe('task 3\n');
      const one = (await impl.scheduler!.observe([`${o.ids.array}_2`])).get(`${o.ids.array}_2`)!;
      expect(one.state.kind).toBe('completed');
    });

    it('hostile env values, workdir and command arguments arrive exactly; nothing executes', async () => {
      const o = await outcome();
      expect(o.final.hostile.state.kind).toBe('completed');
      const { out } = await logs(impl, o.ids.hostile);
      expect(out).toBe(`${[o.hostileDir, o.values[0], ...o.values].join('\n')}\n`);
      const ls = await impl.runner.run(['ls', '-A', '--', o.canaries]);
      expect(ls.stdout).toBe('');
      if (impl.runner.kind === 'local') expect(readdirSync(o.canaries)).toEqual([]);
    });

    it('refuses hostile job names before anything reaches the host', () => {
      for (const bad of ['a;b', '$(touch x)', 'a b', '../x', '', 'x\ny']) {
        expect(() => parseJobSpec({ name: bad, command: ['true'] })).toThrow(UsageError);
      }
    });

    it('an unknown job id is lost, with a reason', async () => {
      const id = impl.kind === 'slurm' ? '999999' : 'n-00000000000000000000000000';
      const o = (await impl.scheduler!.observe([id])).get(id)!;
      expect(o.state).toMatchObject({ kind: 'lost', reason: expect.any(String) });
    });
  });
}

describe('Scheduler conformance: every implementation gives the same states', () => {
  it('same kind, exit code, signal and task counts for every case', async () => {
    const summaries = await Promise.all(
      impls.map(async (impl) => {
        const o = await outcomes.get(impl.name)!;
        return Object.fromEntries(
          Object.entries(o.final).map(([k, obs]) => [
            k,
            { ...essence(obs.state), tasks: obs.tasks },
          ]),
        );
      }),
    );
    expect(summaries[1]).toEqual(summaries[0]);
    expect(summaries[2]).toEqual(summaries[0]);
  });
});

describe('Scheduler: failed queries and the no-accounting fallback', () => {
  it('a host that cannot be reached makes every asked job unknown with the reason, never gone', async () => {
    const down = new SshRunner({
      host: 'down',
      target: c.downAlias,
      configFile: c.sshConfig,
      stateDir,
      connectTimeoutS: 3,
    });
    for (const s of [
      new SlurmScheduler(down, { root: '/tmp/x', accounting: true }),
      new NoneScheduler(down, { root: '/tmp/x' }),
    ]) {
      const ids = s.kind === 'slurm' ? ['101', '102'] : ['n-aaa', 'n-bbb'];
      const seen = await s.observe(ids);
      for (const id of ids) {
        expect(seen.get(id)!.state).toMatchObject({
          kind: 'unknown',
          reason: expect.stringMatching(/down|connect|refused/i),
        });
        expect(seen.get(id)!.source).toBe('error');
      }
    }
    await down.close({ master: true });
  });

  it('without accounting: ended jobs come from squeue + scontrol (exit code kept); a gone job is lost with the reason', async () => {
    const o = await outcomes.get('slurm over ssh')!;
    const impl = impls[0]!;
    const s = new SlurmScheduler(impl.runner, { root: impl.root, accounting: false });
    const seen = await s.observe([o.ids.exit3, o.ids.ok, '999998']);
    expect(essence(seen.get(o.ids.exit3)!.state)).toEqual({ kind: 'failed', exitCode: 3 });
    expect(seen.get(o.ids.exit3)!.source).toBe('scontrol');
    expect(seen.get(o.ids.ok)!.state.kind).toBe('completed');
    expect(seen.get('999998')!.state).toMatchObject({
      kind: 'lost',
      reason: 'left the queue and accounting is off',
    });
  });

  it('the local job dir of a none job holds pid, times and exit record', async () => {
    const o = await outcomes.get('none on this machine')!;
    const dir = join(impls[1]!.root, 'jobs', o.ids.exit3);
    for (const f of [
      'job.sh',
      'spec.json',
      'pid',
      'submitted',
      'started',
      'ended',
      'exit',
      'done',
      'stdout',
      'stderr',
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
  });
});
