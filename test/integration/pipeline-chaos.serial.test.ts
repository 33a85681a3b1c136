/**
 * The pipelines acceptance chaos test, on the SLURM test cluster over ssh (serial: it
 * restarts slurmctld, which would disturb tests running beside it).
 *
 * A two-step pipeline of 20-task arrays is submitted without waiting; while step 1 runs,
 * 20% of its array tasks (4 pending ones, a sparse set) are cancelled with scancel JOB_i
 * and slurmctld is restarted (scripts/dev-cluster restart-ctld). Once SLURM has ended
 * every job (what depended on the cancelled tasks is cancelled with it),
 * `pipeline resume` must submit exactly the cancelled indices for step 1 (asserted on the
 * `--array` lists it returns and records in submissions.jsonl), then the rest; the final
 * outputs must equal, byte for byte, an uninterrupted run's on this machine.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TERMINAL_KINDS } from '../../src/core/states.js';
import { cluster } from '../helpers/cluster.js';
import { berthIn, berthJson, exampleSpec, files, onHost, until } from '../helpers/pipeline.js';
import { clusterProjectYaml, type Sandbox, sandbox } from '../helpers/sandbox.js';

const DEV_CLUSTER = join(import.meta.dirname, '../../scripts/dev-cluster');
const name = `chaos-${randomBytes(3).toString('hex')}`;
let sb: Sandbox;

interface Submitted {
  unit: string;
  array: string;
  jobs: Array<{ jobId: string; array: string }>;
}
interface Exec {
  runDir: string;
  outcome?: { ok: boolean };
  submitted: Submitted[];
}
interface Status {
  units: Array<{
    unit: string;
    done: number;
    missing: number;
    running: number;
    pending: number;
    slurm?: string;
  }>;
}

const berth = (args: string[]) => berthIn(sb, ['--json', ...args], 600_000);
const json = <T>(args: string[]) => berthJson<T>(sb, args, { timeoutMs: 600_000 });

const ENDED = new Set<string>(TERMINAL_KINDS);

beforeAll(() => {
  sb = sandbox('berth-pipe-chaos-');
  sb.writeProject(clusterProjectYaml());
});

afterAll(async () => {
  await berth(['pipeline', 'cancel', name, '--host', 'cluster']);
  onHost(`rm -rf ${cluster().workRoot}/pipelines/${name}`);
  sb.cleanup();
}, 120_000);

it('resumes exactly the cancelled tasks after scancel and a slurmctld restart, same bytes', async () => {
  const spec = exampleSpec(
    join(sb.dir, 'spec'),
    [
      'name: chaos',
      'seed: 11',
      'steps: 2',
      'concurrency: 8',
      'params: { samples: 200, coupling: 0.7, nap: 8 }',
      'stages:',
      '  gen:',
      '    foreach: steps',
      '    array: 20',
      '    scratch: true',
      '    run: sleep {{param.nap}} && node {{specdir}}/gen.mjs {{seed}} {{param.samples}} {{param.coupling}} {{prev}}',
      '  hist:',
      '    foreach: steps',
      '    aggregate: true',
      '    after: [gen]',
      '    run: node {{specdir}}/hist.mjs {{in.gen}} 20 4',
      '',
    ].join('\n'),
  );

  const first = await json<Exec>([
    'pipeline',
    'run',
    spec,
    '--name',
    name,
    '--host',
    'cluster',
    '--no-wait',
  ]);
  const gen1 = first.submitted[0]!;
  expect(gen1).toMatchObject({ unit: 'gen@1', array: '0-19' });
  const job = gen1.jobs[0]!.jobId;

  // 20%: four tasks still pending, spread over the array (a sparse set).
  const pending = await until(
    'gen@1 in the queue',
    async () => {
      const text = onHost(`squeue -h -r -j ${job} -t PENDING -o %K`);
      const list = text
        .split('\n')
        .filter((l) => /^\d+$/.test(l.trim()))
        .map(Number);
      return list.length >= 10 ? list.sort((a, b) => a - b) : undefined;
    },
    300_000,
  );
  const victims = [pending[1]!, pending[3]!, pending[6]!, pending[9]!];
  onHost(`scancel ${victims.map((v) => `${job}_${v}`).join(' ')}`);

  const restart = spawnSync(
    process.getuid?.() === 0 ? DEV_CLUSTER : 'sudo',
    process.getuid?.() === 0 ? ['restart-ctld'] : ['-n', DEV_CLUSTER, 'restart-ctld'],
    { encoding: 'utf8', timeout: 120_000 },
  );
  expect(restart.status, restart.stderr).toBe(0);

  const ended = await until(
    'every job of the run to end',
    async () => {
      const s = await json<Status>(['pipeline', 'status', name, '--host', 'cluster']);
      return s.units.every((u) => u.slurm !== undefined && ENDED.has(u.slurm)) ? s : undefined;
    },
    600_000,
  );
  expect(ended.units[0]).toMatchObject({ unit: 'gen@1', done: 16, missing: 4 });
  expect(ended.units.slice(1).every((u) => u.done === 0)).toBe(true);

  const again = await json<Exec>(['pipeline', 'resume', name, '--host', 'cluster']);
  expect(again.outcome?.ok).toBe(true);
  expect(again.submitted.map((u) => `${u.unit}=${u.array}`)).toEqual([
    `gen@1=${victims.join(',')}`,
    'hist@1=0',
    'gen@2=0-19',
    'hist@2=0',
  ]);
  expect(again.submitted[0]!.jobs.map((j) => j.array)).toEqual([victims.join(',')]);
  const recorded = onHost(`cat ${first.runDir}/submissions.jsonl`)
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Submitted)
    .filter((u) => u.unit === 'gen@1')
    .map((u) => u.array);
  expect(recorded).toEqual(['0-19', victims.join(',')]);

  // The uninterrupted reference, on this machine (no naps: they change no output).
  const ref = await json<Exec>([
    'pipeline',
    'run',
    spec,
    '--name',
    name,
    '--root',
    join(sb.dir, 'local'),
    '--set',
    'nap=0',
  ]);
  expect(ref.outcome?.ok).toBe(true);
  const pulled = join(sb.dir, 'pulled');
  await json(['pipeline', 'pull', name, '--host', 'cluster', '--to', pulled]);
  const localDir = join(sb.dir, 'local', name);
  const outputs = files(localDir).filter((f) => /\/(samples|hist|stats)\.txt$/.test(f));
  expect(outputs).toHaveLength(40 + 4);
  for (const f of outputs) {
    expect(readFileSync(join(pulled, f)).equals(readFileSync(join(localDir, f))), f).toBe(true);
  }
}, 1_500_000);
