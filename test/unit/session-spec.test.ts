import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import {
  discoverAll,
  findSpecFile,
  isSpecPath,
  loadSpecArg,
  specDirs,
} from '../../src/sessions/discover.js';
import { loadSpecFile, parseSpecText } from '../../src/sessions/spec-file.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'sessions');
const fixture = (name: string) => join(fixtures, name);

function problems(name: string): string[] {
  try {
    loadSpecFile(fixture(name));
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).exitCode).toBe(2);
    expect((e as ConfigError).hint).toMatch(/docs\/sessions\.md/);
    return (e as Error).message.split('\n');
  }
  throw new Error(`${name} was accepted`);
}

describe('session spec', () => {
  it('fills in the defaults of a minimal spec', () => {
    expect(loadSpecFile(fixture('minimal.yaml'))).toEqual({
      name: 'minimal',
      labels: {},
      runtime: 'direct',
      command: 'python -m http.server 8000',
      env: {},
      hooks: {},
      restart: 'never',
      logs: {},
      checkpoint: {},
      source: fixture('minimal.yaml'),
    });
  });

  it('reads every key, with durations in seconds, memory in MB and env values as text', () => {
    const s = loadSpecFile(fixture('full.yaml'));
    expect(s).toMatchObject({
      name: 'train-v2.1',
      labels: { project: 'llm', stage: '2' },
      host: 'cluster',
      runtime: 'slurm',
      command: ['python', 'train.py', '--epochs', '100'],
      workdir: '~/projects/llm',
      env: { OMP_NUM_THREADS: '8', WANDB_MODE: 'offline', DEBUG: 'true' },
      slurm: {
        resources: { partition: 'gpu', cpus: 8, mem: 32768, gpus: 'a100:1' },
        time: 7200,
        autoResubmit: true,
        lead: 300,
      },
      heartbeat: { interval: 60 },
      restart: 'on-failure',
      logs: { dir: '/scratch/me/berth-logs', staleAfter: 1800 },
      checkpoint: { dir: '/scratch/me/ckpt/train' },
    });
    expect(s.hooks.preStart).toBe('module load cuda/12.2; source .venv/bin/activate');
  });

  it('reports every problem of a file at FILE:LINE:COL, in file order', () => {
    const f = fixture('several-problems.yaml');
    expect(problems('several-problems.yaml')).toEqual([
      `${f}:1:13: apiVersion: "berth/v2" is not valid; valid values are berth/v1`,
      `${f}:4:9: metadata.name: invalid session name "bad name;rm -rf ~"; session names may contain only letters, digits, '.', '_' and '-' (at most 128 characters)`,
      `${f}:6:3: spec.command: command is required: shell text (a string) or a program and its arguments (a list)`,
      `${f}:6:12: spec.runtime: "docker" is not valid; valid values are direct, slurm, slurm-tenant`,
      `${f}:7:3: unknown key "comand" in spec; valid keys are host, runtime, command, workdir, env, slurm, hooks, heartbeat, restart, logs, checkpoint`,
      `${f}:9:5: env names are like MY_VAR, not "1BAD"`,
      `${f}:11:15: spec.heartbeat.interval: 30 has no unit; write a duration like 30s, 5m or 2h`,
      `${f}:13:12: spec.restart: "sometimes" is not valid; valid values are never, on-failure, always`,
      `${f}:15:10: spec.logs.dir: logs.dir must be absolute or start with ~/ (a path on the host)`,
    ]);
  });

  it('reports YAML syntax errors and duplicate keys without checking values', () => {
    expect(problems('broken-syntax.txt')).toEqual([
      `${fixture('broken-syntax.txt')}:8:1: YAML syntax error: Missing closing "quote`,
    ]);
    expect(problems('duplicate-key.yaml')).toEqual([
      `${fixture('duplicate-key.yaml')}:7:3: duplicate key: each key may appear only once in a mapping`,
    ]);
  });

  it('needs a lease for a slurm-tenant session', () => {
    expect(problems('tenant-no-lease.yaml')).toEqual([
      `${fixture('tenant-no-lease.yaml')}:6:12: spec.runtime: runtime slurm-tenant needs spec.slurm.lease: the lease whose tmux server hosts it`,
    ]);
  });

  it('unknown keys in nested sections list that section', () => {
    const text = [
      'apiVersion: berth/v1',
      'kind: Session',
      'metadata: { name: x, lables: {} }',
      'spec:',
      '  command: [sleep, "1"]',
      '  slurm: { time: 1h, resubmit: true }',
      '  hooks: { preStop: x }',
    ].join('\n');
    expect(() => parseSpecText(text, 'x.yaml')).toThrow(
      [
        'x.yaml:3:22: unknown key "lables" in metadata; valid keys are name, labels',
        'x.yaml:6:22: unknown key "resubmit" in spec.slurm; valid keys are resources, time, autoResubmit, lead, lease',
        'x.yaml:7:12: unknown key "preStop" in spec.hooks; valid keys are preSubmit, preStart, walltimeSignal, postStop',
      ].join('\n'),
    );
  });

  it('an empty file says what is missing', () => {
    expect(() => parseSpecText('', 'empty.yaml')).toThrow(/^empty\.yaml:1:1: apiVersion/);
  });
});

describe('spec discovery', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-spec-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const minimal = readFileSync(fixture('minimal.yaml'), 'utf8');
  const named = (name: string) => minimal.replace('name: minimal', `name: ${name}`);
  const one = join(root, 'one');
  const two = join(root, 'two');
  const config = join(root, 'config');
  mkdirSync(join(one, 'nested'), { recursive: true });
  mkdirSync(two, { recursive: true });
  mkdirSync(join(config, 'berth', 'sessions', 'home'), { recursive: true });
  writeFileSync(join(one, 'alpha.yaml'), named('alpha'));
  writeFileSync(join(one, 'nested', 'nested.yml'), named('nested'));
  writeFileSync(join(one, 'notes.txt'), 'not a spec');
  writeFileSync(join(two, 'alpha.yaml'), named('alpha').replace('8000', '9000'));
  writeFileSync(join(two, 'liar.yaml'), named('other'));
  writeFileSync(join(config, 'berth', 'sessions', 'home', 'home.yaml'), named('home'));
  const o = {
    cwd: root,
    env: { HOME: '/nonexistent', XDG_CONFIG_HOME: config, BERTH_SESSION_DIRS: 'one::two' },
  };

  it('searches BERTH_SESSION_DIRS in order, then the user config directory', () => {
    expect(specDirs(o)).toEqual([one, two, join(config, 'berth', 'sessions')]);
    expect(specDirs({ cwd: root, env: { HOME: '/h' } })).toEqual(['/h/.config/berth/sessions']);
  });

  it('finds name.yaml, name/name.yml and ~/.config/berth/sessions/name/name.yaml; first wins', () => {
    expect(findSpecFile('alpha', o)).toBe(join(one, 'alpha.yaml'));
    expect(findSpecFile('nested', o)).toBe(join(one, 'nested', 'nested.yml'));
    expect(findSpecFile('home', o)).toBe(join(config, 'berth', 'sessions', 'home', 'home.yaml'));
    expect(findSpecFile('nothing', o)).toBeUndefined();
    expect(loadSpecArg('alpha', o).command).toMatch(/8000/);
  });

  it('refuses hostile names before touching the file system', () => {
    expect(() => findSpecFile('../two/alpha', o)).toThrow(/invalid session name/);
    expect(() => loadSpecArg('$(touch x)', o)).toThrow(/invalid session name/);
  });

  it('tells files from names, and loads a file named on the command line', () => {
    expect(isSpecPath('./x')).toBe(true);
    expect(isSpecPath('x.yaml')).toBe(true);
    expect(isSpecPath('train')).toBe(false);
    expect(loadSpecArg('two/alpha.yaml', o).command).toMatch(/9000/);
    expect(() => loadSpecArg('two/missing.yaml', o)).toThrow(/no session spec file/);
    expect(() => loadSpecArg('missing', o)).toThrow(/no spec for session "missing"/);
  });

  it('a file found by name must carry that name', () => {
    expect(() => loadSpecArg('liar', o)).toThrow(/metadata\.name is "other"/);
  });

  it('lists every spec once for --all (a broken one fails loudly)', () => {
    const clean = { ...o, env: { ...o.env, BERTH_SESSION_DIRS: 'one' } };
    expect(discoverAll(clean).map((s) => s.name)).toEqual(['alpha', 'home', 'nested']);
    expect(() => discoverAll(o)).toThrow(/metadata\.name is "other"/);
  });
});
