import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import {
  renderSbatchArgs,
  renderSbatchScript,
  renderSrunArgs,
  sbatchDirectives,
} from '../../src/scheduler/slurm/render.js';
import { parseJobSpec } from '../../src/scheduler/spec.js';

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'slurm');
const THIS_FILE = 'test/unit/slurm-render.test.ts';

const HOSTILE = [
  '$(touch pwned)',
  '`id`',
  "it's",
  '"dq"',
  'a\nb',
  '*',
  'a;b',
  '$HOME',
  '\\',
  ' sp ',
  '',
  '#x',
  'ü ✓',
];

const SPECS: Record<string, unknown> = {
  minimal: { command: ['python', 'train.py', '--lr', '0.1'] },
  full: {
    command: ['./run.sh', '--epochs', '10'],
    name: 'golden-full',
    resources: {
      partition: 'gpu',
      account: 'proj-42',
      qos: 'high',
      nodes: 2,
      ntasks: 4,
      cpus: 8,
      mem: '32G',
      gpus: 'a100:2',
      time: '1d12h',
      nodelist: 'n[1-2]',
      constraint: 'ib&avx512',
      extraArgs: ['--exclusive', '--mail-type=END'],
    },
    env: { OMP_NUM_THREADS: 8, DATA: '/scratch/my data', EMPTY: '' },
    workdir: '/home/user/my project',
    output: 'logs/%x-%j.out',
    error: 'logs/%x-%j.err',
    array: '0-99%10',
    dependencies: { afterok: ['100', '101_3'], afternotok: ['102'] },
    signal: { name: 'USR1', beforeS: 120 },
    requeue: false,
  },
  script: {
    script: [
      '#!/bin/bash -l',
      '#SBATCH --time=10',
      '# a comment',
      '',
      'module load python',
      'python -c "print(1)"',
      '',
    ].join('\n'),
    name: 'golden-script',
    resources: { time: '2h' },
    env: { MODE: 'test' },
    workdir: 'work',
  },
  'script-no-shebang': {
    script: 'echo one\necho two\n',
    signal: { name: 'TERM', beforeS: 30, batchOnly: false },
  },
  hostile: {
    command: ['printf', '%s\\n', ...HOSTILE],
    name: 'golden-hostile',
    env: { EVIL: '$(touch pwned)', QUOTE: "it's" },
    workdir: "/tmp/it's a dir",
    output: "/tmp/it's #1/%j.out",
  },
};

describe('renderSbatchScript golden files', () => {
  for (const [name, input] of Object.entries(SPECS)) {
    it(`renders the ${name} spec as recorded`, () => {
      const script = renderSbatchScript(parseJobSpec(input));
      expectGolden(`${name}.sbatch`, script);
      expect(renderSbatchScript(parseJobSpec(input))).toBe(script);
    });

    it(`renders the ${name} spec as a valid bash script`, () => {
      const script = renderSbatchScript(parseJobSpec(input));
      const r = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  }
});

describe('renderSbatchScript', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('runs the command byte-exact, in the workdir, with the env, and nothing hostile executes', () => {
    const root = mkdtempSync(join(tmpdir(), 'berth-render-'));
    dirs.push(root);
    const workdir = join(root, "it's a $(dir)");
    mkdirSync(workdir);
    const script = renderSbatchScript(
      parseJobSpec({
        command: ['bash', '-c', 'printf "%s\\0" "$PWD" "$EVIL" "$@"', 'argv0', ...HOSTILE],
        env: { EVIL: '$(touch pwned) `id`' },
        workdir,
      }),
    );
    const file = join(root, 'job.sh');
    writeFileSync(file, script);
    const r = spawnSync('bash', [file], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\0').slice(0, -1)).toEqual([workdir, '$(touch pwned) `id`', ...HOSTILE]);
    expect(existsSync(join(root, 'pwned'))).toBe(false);
    expect(existsSync(join(workdir, 'pwned'))).toBe(false);
  });

  it('keeps the exit code of the command (exec)', () => {
    const script = renderSbatchScript(parseJobSpec({ command: ['bash', '-c', 'exit 7'] }));
    expect(spawnSync('bash', ['-c', script]).status).toBe(7);
  });

  it('puts the directives before any command so sbatch reads them all', () => {
    const script = renderSbatchScript(parseJobSpec(SPECS.script));
    const lines = script.split('\n');
    const lastDirective = lines.findLastIndex((l) => l.startsWith('#SBATCH'));
    const firstCommand = lines.findIndex((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(lastDirective).toBeLessThan(firstCommand);
    expect(lines[0]).toBe('#!/bin/bash -l');
    // The spec's --time comes after the script's own, so it wins.
    expect(lines.indexOf('#SBATCH --time=10')).toBeLessThan(
      lines.indexOf('#SBATCH --time=02:00:00'),
    );
  });

  it('refuses env for a script not run by a shell', () => {
    const spec = parseJobSpec({ script: '#!/usr/bin/env python3\nprint(1)\n', env: { A: '1' } });
    expect(() => renderSbatchScript(spec)).toThrow(UsageError);
    const ok = parseJobSpec({ script: '#!/usr/bin/env python3\nprint(1)\n' });
    expect(renderSbatchScript(ok)).toMatch(/^#!\/usr\/bin\/env python3\n/);
    const inDir = renderSbatchScript(
      parseJobSpec({ script: '#!/usr/bin/env python3\nprint(1)\n', workdir: 'w' }),
    );
    expect(inDir).toContain('#SBATCH --chdir=w');
    expect(inDir).not.toContain('cd --');
  });
});

describe('sbatchDirectives and argv renderers', () => {
  const full = parseJobSpec(SPECS.full);

  it('maps generic names to SLURM options in a fixed order', () => {
    expect(sbatchDirectives(full).map(([o]) => o)).toEqual([
      '--job-name',
      '--partition',
      '--account',
      '--qos',
      '--nodes',
      '--ntasks',
      '--cpus-per-task',
      '--mem',
      '--gpus',
      '--time',
      '--nodelist',
      '--constraint',
      '--chdir',
      '--output',
      '--error',
      '--array',
      '--dependency',
      '--signal',
      '--no-requeue',
      '--exclusive',
      '--mail-type',
    ]);
    const byOption = Object.fromEntries(sbatchDirectives(full));
    expect(byOption['--mem']).toBe('32G');
    expect(byOption['--time']).toBe('1-12:00:00');
    expect(byOption['--dependency']).toBe('afterok:100:101_3,afternotok:102');
    expect(byOption['--signal']).toBe('B:USR1@120');
    expect(byOption['--array']).toBe('0-99%10');
  });

  it('leaves out what the spec does not set', () => {
    expect(sbatchDirectives(parseJobSpec(SPECS.minimal))).toEqual([['--job-name', 'berth']]);
    expect(sbatchDirectives(parseJobSpec({ command: ['x'], resources: { gpus: 0 } }))).toEqual([
      ['--job-name', 'berth'],
    ]);
  });

  it('renders sbatch argv (unquoted: the runner quotes argv)', () => {
    const argv = renderSbatchArgs(parseJobSpec({ ...(SPECS.hostile as object) }));
    expect(argv).toEqual([
      '--parsable',
      '--job-name=golden-hostile',
      "--chdir=/tmp/it's a dir",
      "--output=/tmp/it's #1/%j.out",
    ]);
  });

  it('renders srun argv with env in front and the command after --', () => {
    const spec = parseJobSpec({
      command: ['python', '-c', 'print(1)'],
      env: { B: '2', A: 'x y' },
      resources: { cpus: 2, time: '10m' },
      signal: { name: 'USR1', beforeS: 60 },
      requeue: true,
    });
    expect(renderSrunArgs(spec)).toEqual([
      'env',
      'A=x y',
      'B=2',
      'srun',
      '--job-name=berth',
      '--cpus-per-task=2',
      '--time=00:10:00',
      '--signal=USR1@60',
      '--',
      'python',
      '-c',
      'print(1)',
    ]);
  });

  it('refuses srun for a script or an array', () => {
    expect(() => renderSrunArgs(parseJobSpec({ script: 'echo' }))).toThrow(/srun runs a command/);
    expect(() => renderSrunArgs(parseJobSpec({ command: ['x'], array: '0-3' }))).toThrow(/array/);
  });
});

// --- golden files: compare, or record with BERTH_UPDATE_GOLDEN=1
const UPDATE = process.env.BERTH_UPDATE_GOLDEN === '1';

/** Compare `actual` with test/golden/slurm/<name>; with BERTH_UPDATE_GOLDEN=1, record it. */
function expectGolden(name: string, actual: string): void {
  const path = join(GOLDEN_DIR, name);
  if (UPDATE) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  const rerecord = `re-record with: BERTH_UPDATE_GOLDEN=1 npx vitest run --config vitest.unit.config.ts ${THIS_FILE}`;
  if (!existsSync(path)) throw new Error(`golden file ${path} is missing; ${rerecord}`);
  const expected = readFileSync(path, 'utf8');
  if (expected === actual) return;
  throw new Error(
    `output differs from golden file ${path}:\n${lineDiff(expected, actual)}\n${rerecord}`,
  );
}

/** A minimal line diff: `-` expected, `+` actual, two lines of context around changes. */
function lineDiff(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  // Longest common subsequence table, fine for files of a few hundred lines.
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] =
        a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: Array<[' ' | '-' | '+', string]> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push([' ', a[i]!]);
      i++;
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      out.push(['-', a[i++]!]);
    } else {
      out.push(['+', b[j++]!]);
    }
  }
  const near = (k: number) => out.slice(Math.max(0, k - 2), k + 3).some(([m]) => m !== ' ');
  return out
    .map(([m, line], k) => (near(k) ? `${m} ${line}` : undefined))
    .filter((l) => l !== undefined)
    .join('\n');
}
