/**
 * The SLURM executor's pure parts: the script that writes task wrappers (here-documents
 * that survive any content, run for real under bash) and a unit's job spec (sparse
 * array, afterok, resources over the host's defaults, the same wrapper path per task).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostLayer } from '../../src/dispatch/submit.js';
import type { PlannedUnit } from '../../src/pipeline/plan.js';
import { renderWriteFiles, unitJobSpec, unitScriptsDir } from '../../src/pipeline/slurm-render.js';
import { renderSbatchScript } from '../../src/scheduler/slurm/render.js';
import { mergeSpec } from '../../src/scheduler/spec.js';

const tmp = mkdtempSync(join(tmpdir(), 'berth-pipe-slurm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const unit = (over: Partial<PlannedUnit> = {}): PlannedUnit => ({
  key: 'gen@2',
  stage: 'gen',
  step: 2,
  aggregate: false,
  hash: 'h',
  total: 16,
  run: [3, 7, 12, 13, 14, 15],
  arraySpec: '3,7,12-15',
  chunks: [],
  reasons: [],
  deps: ['gen@1', 'hist@1'],
  ...over,
});

describe('renderWriteFiles', () => {
  it('writes every file byte for byte, whatever it contains', () => {
    const files = [
      { path: join(tmp, "a dir/it's.sh"), text: 'echo \'$HOME\' `x` \\ "q"\nBERTH_EOF\n' },
      { path: join(tmp, 'b/0.sh'), text: 'no newline at the end' },
      { path: join(tmp, 'b/1.sh'), text: 'BERTH_EOF_1\nBERTH_EOF\n' },
    ];
    const script = renderWriteFiles(files);
    expect(script).toContain("<<'BERTH_EOF_2'");
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('@@berth-written');
    expect(readFileSync(files[0]!.path, 'utf8')).toBe(files[0]!.text);
    expect(readFileSync(files[1]!.path, 'utf8')).toBe('no newline at the end\n');
    expect(readFileSync(files[2]!.path, 'utf8')).toBe(files[2]!.text);
  });
});

describe('unitJobSpec', () => {
  it('is an array over the tasks to run, after its inputs, with the stage resources', () => {
    const layer = unitJobSpec({
      runName: 'rg',
      runDir: '/scratch/me/pipelines/rg',
      unit: unit(),
      resources: { cpus: 2, mem: '2G', time: '5m', gpus: 0 },
      after: ['101', '102'],
    });
    const spec = mergeSpec(
      hostLayer({ partition: 'debug', time: '1h', extraArgs: ['--exclusive'] }),
      layer as Record<string, unknown>,
    );
    expect(spec.array).toBe('3,7,12-15');
    expect(spec.dependencies).toEqual({ afterok: ['101', '102'] });
    expect(spec.resources).toMatchObject({ partition: 'debug', cpus: 2, time: 300 });
    expect(spec.resources.extraArgs).toEqual(['--exclusive', '--kill-on-invalid-dep=yes']);
    const text = renderSbatchScript(spec);
    expect(text).toContain('#SBATCH --job-name=rg.gen');
    expect(text).toContain('#SBATCH --dependency=afterok:101:102');
    expect(text).not.toContain('--gpus');
    expect(text).toContain(
      `exec bash ${unitScriptsDir('/scratch/me/pipelines/rg', unit())}/"$task".sh`,
    );
  });

  it('runs task OFFSET + SLURM_ARRAY_TASK_ID (chunks beyond MaxArraySize)', () => {
    const layer = unitJobSpec({
      runName: 'rg',
      runDir: '/r',
      unit: unit({ key: 'hist@1', stage: 'hist', run: [0], arraySpec: '0', deps: [] }),
      resources: {},
      after: [],
    });
    expect(layer.dependencies).toBeUndefined();
    const line = (layer.script as string).split('\n').find((l) => l.startsWith('task='))!;
    const r = spawnSync('bash', ['-c', `${line}; echo $task`], {
      env: { BERTH_ARRAY_OFFSET: '2002', SLURM_ARRAY_TASK_ID: '7' },
      encoding: 'utf8',
    });
    expect(r.stdout.trim()).toBe('2009');
  });

  it('runs a command after a task that succeeded (keep: aggregates pruning)', () => {
    const layer = unitJobSpec({
      runName: 'rg',
      runDir: '/r',
      unit: unit(),
      resources: {},
      after: [],
      epilogue: 'echo pruned',
    });
    expect(layer.script).toContain(`bash /r/.berth/tasks/gen@2/"$task".sh || exit\necho pruned\n`);
  });
});
