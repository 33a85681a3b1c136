/**
 * `berth pipeline` on the SLURM test cluster over ssh, as a user runs it (bin/berth.js over
 * dist/): the example pipeline gives the same bytes as on this machine (compared after
 * `pipeline pull`); a failed run resumes exactly its failed indices (the `--array` lists
 * submitted); `pipeline cancel` cancels every queued job once; push and pull.
 * Every run name carries this file's tag and is removed from the host at the end.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster } from '../helpers/cluster.js';
import { berthIn, berthJson, exampleSpec, files, onHost, until } from '../helpers/pipeline.js';
import { clusterProjectYaml, type Sandbox, sandbox } from '../helpers/sandbox.js';

const tag = randomBytes(3).toString('hex');
const EXAMPLE = join(import.meta.dirname, '../../examples/rg');
let sb: Sandbox;

const berth = (args: string[], timeoutMs?: number) => berthIn(sb, args, timeoutMs);
const json = <T>(args: string[], want = 0) => berthJson<T>(sb, args, { want });
/** A copy of the example in the sandbox, with its own pipeline.yaml. */
const specDir = (name: string, yaml: string) => exampleSpec(join(sb.dir, name), yaml);

interface Submitted {
  unit: string;
  array: string;
  after: string[];
  jobs: Array<{ jobId: string; array: string; offset: number }>;
}
interface Exec {
  executor: string;
  host: string;
  dryRun: boolean;
  runDir: string;
  outcome?: {
    ok: boolean;
    units: Array<{ unit: string; failed: Array<{ task: number; exitCode: number | null }> }>;
  };
  submitted: Submitted[];
  plan: { tasksToRun: number };
  scripts: Array<{ unit: string }>;
  staged?: { local: string; remote: string; filesTransferred: number };
}
interface UnitStatus {
  unit: string;
  total: number;
  done: number;
  failed: number;
  running: number;
  pending: number;
}
interface Status {
  complete: boolean;
  units: UnitStatus[];
}
interface Synced {
  direction: string;
  dryRun: boolean;
  run: string;
  remote: string;
  filesTransferred: number;
  changes: Array<{ action: string; path: string }>;
}

const runs: string[] = [];
const runName = (what: string) => {
  const n = `${what}-${tag}`;
  runs.push(n);
  return n;
};

beforeAll(() => {
  sb = sandbox('berth-pipe-slurm-');
  const c = cluster();
  sb.writeProject(
    `${clusterProjectYaml()}  plain:\n    ssh: ${c.sshAlias}\n    sshConfig: ${c.sshConfig}\n    scheduler: none\n    root: ${c.workRoot}\n`,
  );
});

afterAll(async () => {
  for (const r of runs) await berth(['pipeline', 'cancel', r, '--host', 'cluster']);
  const root = `${cluster().workRoot}/pipelines`;
  onHost(`rm -rf ${runs.map((r) => `${root}/${r}`).join(' ')}`);
  sb.cleanup();
}, 120_000);

describe('berth pipeline on SLURM over ssh', () => {
  it('runs the example with the same bytes as on this machine', async () => {
    const name = runName('rg');
    const spec = join(EXAMPLE, 'pipeline.yaml');
    const common = [spec, '--set', 'samples=300', '--name', name];
    const local = await json<Exec>(['pipeline', 'run', ...common, '--root', join(sb.dir, 'local')]);
    expect(local.outcome?.ok).toBe(true);

    const r = await json<Exec>(['pipeline', 'run', ...common, '--host', 'cluster']);
    expect(r).toMatchObject({ executor: 'slurm', host: 'cluster', dryRun: false });
    expect(r.outcome?.ok).toBe(true);
    expect(r.runDir).toBe(`${cluster().workRoot}/pipelines/${name}`);
    const units = r.submitted as Array<{
      unit: string;
      array: string;
      after: string[];
      jobs: Array<{ jobId: string }>;
    }>;
    expect(units.map((u) => `${u.unit}=${u.array}`)).toEqual([
      'gen@1=0-7',
      'hist@1=0',
      'gen@2=0-7',
      'hist@2=0',
      'gen@3=0-7',
      'hist@3=0',
      'gen@4=0-7',
      'hist@4=0',
    ]);
    const ids = new Map(units.map((u) => [u.unit, u.jobs.map((j) => j.jobId)]));
    expect(units[1]!.after).toEqual(ids.get('gen@1'));
    expect(units[2]!.after.sort()).toEqual([...ids.get('gen@1')!, ...ids.get('hist@1')!].sort());

    const pulled = join(sb.dir, 'pulled');
    const p = await json<Synced>(['pipeline', 'pull', name, '--host', 'cluster', '--to', pulled]);
    expect(p).toMatchObject({ direction: 'pull', dryRun: false });
    expect(p.filesTransferred).toBeGreaterThan(36);
    const localDir = join(sb.dir, 'local', name);
    const outputs = files(localDir).filter(
      (f) => /^(gen|hist)\//.test(f) && !f.endsWith('DONE.json'),
    );
    expect(outputs.filter((f) => f.endsWith('hist.txt'))).toHaveLength(4);
    expect(outputs.filter((f) => f.endsWith('samples.txt'))).toHaveLength(32);
    for (const f of outputs) {
      expect(readFileSync(join(pulled, f)).equals(readFileSync(join(localDir, f))), f).toBe(true);
    }

    const s = await json<Status>(['pipeline', 'status', name, '--host', 'cluster']);
    expect(s.complete).toBe(true);
    expect(s.units.every((u) => u.done === u.total && u.running === 0)).toBe(true);
    const list = await json<Array<{ name: string }>>(['pipeline', 'list', '--host', 'cluster']);
    expect(list.map((x) => x.name)).toContain(name);
    const again = await json<Synced>([
      'pipeline',
      'pull',
      name,
      '--host',
      'cluster',
      '--to',
      pulled,
      '--dry-run',
    ]);
    expect(again.filesTransferred).toBe(0);
  }, 400_000);

  it('resumes a failed run by resubmitting exactly the failed indices', async () => {
    const name = runName('fail');
    const spec = specDir(
      'fail',
      [
        'name: fail',
        'seed: 7',
        'steps: 2',
        'keep: aggregates',
        'params: { samples: 200, coupling: 0.7 }',
        'stages:',
        '  gen:',
        '    foreach: steps',
        '    array: 6',
        '    run: test ! -e {{specdir}}/fail-{{task}} && node {{specdir}}/gen.mjs {{seed}} {{param.samples}} {{param.coupling}} {{prev}}',
        '  hist:',
        '    foreach: steps',
        '    aggregate: true',
        '    after: [gen]',
        '    run: node {{specdir}}/hist.mjs {{in.gen}} 10 4',
        '',
      ].join('\n'),
    );
    for (const t of [2, 4]) writeFileSync(join(sb.dir, 'fail', `fail-${t}`), '');
    const r = await json<Exec>(['pipeline', 'run', spec, '--name', name, '--host', 'cluster'], 4);
    expect(r.outcome?.ok).toBe(false);
    const gen1 = r.outcome?.units.find((u) => u.unit === 'gen@1');
    expect(gen1?.failed).toEqual([
      { task: 2, exitCode: 1 },
      { task: 4, exitCode: 1 },
    ]);
    const s = await json<Status>(['pipeline', 'status', name, '--host', 'cluster']);
    expect(s.units[0]).toMatchObject({ unit: 'gen@1', done: 4, failed: 2, running: 0 });

    onHost(`rm -f ${r.runDir}/spec/fail-2 ${r.runDir}/spec/fail-4`);
    for (const t of [2, 4]) unlinkSync(join(sb.dir, 'fail', `fail-${t}`));
    const again = await json<Exec>(['pipeline', 'resume', name, '--host', 'cluster']);
    expect(again.outcome?.ok).toBe(true);
    expect(again.submitted.map((u) => `${u.unit}=${u.array}`)).toEqual([
      'gen@1=2,4',
      'hist@1=0',
      'gen@2=0-5',
      'hist@2=0',
    ]);
    expect(again.submitted[0]?.jobs[0]?.array).toBe('2,4');
    // Recorded in the run directory too: both submissions, in order.
    const lines = onHost(`cat ${r.runDir}/submissions.jsonl`)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Submitted);
    expect(lines.filter((l) => l.unit === 'gen@1').map((l) => l.array)).toEqual(['0-5', '2,4']);
    const restart = await json<Exec>([
      'pipeline',
      'restart',
      name,
      '--from-step',
      '2',
      '--host',
      'cluster',
    ]);
    expect(restart.submitted.map((u) => `${u.unit}=${u.array}`)).toEqual(['gen@2=0-5', 'hist@2=0']);
    expect(restart.outcome?.ok).toBe(true);
    // keep: aggregates: once a step's histogram is done, its tasks keep only READY.
    expect(onHost(`ls -A ${r.runDir}/gen/step-1/3 ${r.runDir}/gen/step-2/5`)).not.toContain(
      'samples',
    );
    expect(onHost(`ls ${r.runDir}/hist/step-2/0`)).toContain('hist.txt');
  }, 400_000);

  it('cancels every queued job of a run, once', async () => {
    const name = runName('cancel');
    const spec = specDir(
      'cancel',
      [
        'name: cancel',
        'stages:',
        '  nap:',
        '    array: 4',
        '    run: sleep 300',
        '  sum:',
        '    aggregate: true',
        '    after: [nap]',
        '    run: "true"',
        '',
      ].join('\n'),
    );
    const r = await json<Exec>([
      'pipeline',
      'run',
      spec,
      '--name',
      name,
      '--host',
      'cluster',
      '--no-wait',
    ]);
    expect(r.outcome).toBeUndefined();
    const ids = r.submitted.flatMap((u) => u.jobs.map((j) => j.jobId));
    expect(ids).toHaveLength(2);
    await until('tasks queued or running', async () => {
      const s = await json<Status>(['pipeline', 'status', name, '--host', 'cluster']);
      return (s.units[0]?.running ?? 0) + (s.units[0]?.pending ?? 0) === 4 ? true : undefined;
    });
    // A second submission while these live would double the work: refused.
    const busy = await berth(['pipeline', 'resume', name, '--host', 'cluster']);
    expect(busy.code).toBe(7);
    const c = await json<{ cancelled: string[]; jobIds: string[] }>([
      'pipeline',
      'cancel',
      name,
      '--host',
      'cluster',
    ]);
    expect(c.cancelled.sort()).toEqual([...ids].sort());
    await until('the jobs to end', async () => {
      const s = await json<Status>(['pipeline', 'status', name, '--host', 'cluster']);
      return s.units.every((u) => u.running + u.pending === 0) ? s : undefined;
    });
    const twice = await json<{ cancelled: string[]; jobIds: string[] }>([
      'pipeline',
      'cancel',
      name,
      '--host',
      'cluster',
    ]);
    expect(twice).toMatchObject({ cancelled: [], jobIds: ids });
    const plan = await json<Exec>(['pipeline', 'resume', name, '--host', 'cluster', '--dry-run']);
    expect(plan.plan.tasksToRun).toBe(5);
    expect(plan.scripts.map((x) => x.unit)).toEqual(['nap@0', 'sum@0']);
  }, 400_000);

  it('cuts a unit beyond MaxArraySize into chunks with offsets, and chains all of them', async () => {
    const name = runName('chunks');
    const spec = specDir(
      'chunks',
      [
        'name: chunks',
        'stages:',
        '  far:',
        `    array: [0, 1500, ${cluster().maxArraySize + 1499}]`,
        '    run: echo {{task}} {{seed}} > out.txt',
        '  sum:',
        '    aggregate: true',
        '    after: [far]',
        '    run: cat {{in.far}}/*/out.txt | sort -n > all.txt',
        '',
      ].join('\n'),
    );
    const r = await json<Exec>(['pipeline', 'run', spec, '--name', name, '--host', 'cluster']);
    expect(r.outcome?.ok).toBe(true);
    const far = r.submitted[0]!;
    expect(far.array).toBe(`0,1500,${cluster().maxArraySize + 1499}`);
    expect(far.jobs.map((j) => [j.array, j.offset])).toEqual([
      ['0', 0],
      [`0,${cluster().maxArraySize - 1}`, 1500],
    ]);
    expect(r.submitted[1]!.after.sort()).toEqual(far.jobs.map((j) => j.jobId).sort());
    const all = onHost(`cat ${r.runDir}/sum/once/0/all.txt`).trim().split('\n');
    expect(all.map((l) => Number(l.split(' ')[0]))).toEqual([
      0,
      1500,
      cluster().maxArraySize + 1499,
    ]);
  }, 400_000);

  it('runs the process pool on a host without a scheduler over ssh', async () => {
    const name = runName('plain');
    const spec = specDir(
      'plain',
      'name: plain\nseed: 3\nstages:\n  a:\n    array: 3\n    run: echo {{seed}} > seed.txt && test -f {{specdir}}/gen.mjs\n',
    );
    const r = await json<Exec>(['pipeline', 'run', spec, '--name', name, '--host', 'plain']);
    expect(r).toMatchObject({ executor: 'local', host: 'plain' });
    expect(r.outcome?.ok).toBe(true);
    expect(r.runDir).toBe(`${cluster().workRoot}/pipelines/${name}`);
    const seeds = onHost(`cat ${r.runDir}/a/once/*/seed.txt`).trim().split('\n');
    expect(seeds).toHaveLength(3);
    const s = await json<Status>(['pipeline', 'status', name, '--host', 'plain']);
    expect(s.complete).toBe(true);
    const c = await berth(['pipeline', 'cancel', name, '--host', 'plain']);
    expect(c.code).toBe(2);
  }, 400_000);

  it('resume copies the fixed spec directory to the host first; --no-push keeps the staged copy', async () => {
    const name = runName('fix');
    const spec = specDir(
      'fix',
      'name: fix\nstages:\n  a:\n    array: 2\n    run: bash {{specdir}}/step.sh {{task}}\n',
    );
    const code = join(sb.dir, 'fix', 'step.sh');
    writeFileSync(code, 'echo "bug $1" >&2; exit 3\n');
    const first = await json<Exec>(['pipeline', 'run', spec, '--name', name, '--host', 'plain'], 4);
    expect(first.outcome?.ok).toBe(false);
    expect(first.staged).toMatchObject({ remote: `${first.runDir}/spec` });
    expect(first.staged?.filesTransferred).toBeGreaterThan(0);

    // The fix, on this machine: --no-push runs the staged (buggy) copy again. The fix has
    // the buggy file's size and modification time, as an edit within the same second can:
    // staging compares by checksum, so it is still sent.
    const { mtime, size } = statSync(code);
    writeFileSync(code, 'echo "fixed $1" > out.txt\n');
    utimesSync(code, mtime, mtime);
    expect(statSync(code).size).toBe(size);
    const dry = await json<Exec>(['pipeline', 'resume', name, '--host', 'plain', '--dry-run']);
    expect(dry.staged).toBeUndefined();
    const kept = await json<Exec>(['pipeline', 'resume', name, '--host', 'plain', '--no-push'], 4);
    expect(kept.staged).toBeUndefined();
    expect(kept.outcome?.ok).toBe(false);
    expect(onHost(`cat ${first.runDir}/spec/step.sh`)).toContain('bug');

    const fixed = await json<Exec>(['pipeline', 'resume', name, '--host', 'plain']);
    expect(fixed.staged).toMatchObject({
      local: join(sb.dir, 'fix'),
      remote: `${first.runDir}/spec`,
    });
    expect(fixed.staged?.filesTransferred).toBeGreaterThan(0);
    expect(fixed.outcome).toMatchObject({ ok: true, tasksRun: 2 });
    const outs = onHost(`cat ${first.runDir}/a/once/0/out.txt ${first.runDir}/a/once/1/out.txt`);
    expect(outs).toBe('fixed 0\nfixed 1\n');

    const text = await berth(['pipeline', 'resume', name, '--host', 'plain']);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain(
      `staged ${join(sb.dir, 'fix')} -> plain:${first.runDir}/spec ({{specdir}}):`,
    );
  }, 400_000);

  it('pushes a spec directory and pulls a run, with --dry-run', async () => {
    const name = runName('push');
    const spec = specDir(
      'push',
      'name: push\nstages:\n  one:\n    run: cp {{specdir}}/gen.mjs out.mjs\n',
    );
    const dry = await json<Synced>([
      'pipeline',
      'push',
      spec,
      '--name',
      name,
      '--host',
      'cluster',
      '--dry-run',
    ]);
    expect(dry).toMatchObject({ direction: 'push', dryRun: true, run: name });
    expect(dry.filesTransferred).toBe(3);
    const remote = `${cluster().workRoot}/pipelines/${name}/spec`;
    expect(onHost(`ls ${cluster().workRoot}/pipelines/${name} 2>/dev/null || true`).trim()).toBe(
      '',
    );
    const real = await json<Synced>([
      'pipeline',
      'push',
      spec,
      '--name',
      name,
      '--host',
      'cluster',
    ]);
    expect(real.remote).toBe(remote);
    expect(onHost(`ls ${remote}`).trim().split('\n').sort()).toEqual([
      'gen.mjs',
      'hist.mjs',
      'pipeline.yaml',
    ]);
    const r = await json<Exec>(['pipeline', 'run', spec, '--name', name, '--host', 'cluster']);
    expect(r.outcome?.ok).toBe(true);
    writeFileSync(join(sb.dir, 'push', 'extra.txt'), 'more\n');
    const byRun = await json<Synced>(['pipeline', 'push', name, '--host', 'cluster']);
    expect(byRun.changes.filter((x) => x.action === 'send').map((x) => x.path)).toEqual([
      'extra.txt',
    ]);
    const to = join(sb.dir, 'push-pulled');
    const pd = await json<Synced>([
      'pipeline',
      'pull',
      name,
      '--host',
      'cluster',
      '--to',
      to,
      '--dry-run',
    ]);
    expect(pd.dryRun).toBe(true);
    const p = await json<Synced>(['pipeline', 'pull', name, '--host', 'cluster', '--to', to]);
    expect(p.filesTransferred).toBeGreaterThan(0);
    expect(readFileSync(join(to, 'one/once/0/out.mjs'))).toEqual(
      readFileSync(join(EXAMPLE, 'gen.mjs')),
    );
    const local = await berth(['pipeline', 'pull', name, '--to', to]);
    expect(local.code).toBe(2);
  }, 400_000);
});
