import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { mergeSpec, parseJobSpec, SPEC_KEYS } from '../../src/scheduler/spec.js';

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('parseJobSpec', () => {
  it('fills in defaults for a minimal spec', () => {
    expect(parseJobSpec({ command: ['python', 'train.py'] })).toEqual({
      command: ['python', 'train.py'],
      name: 'berth',
      resources: {},
      env: {},
    });
  });

  it('normalises resources: memory to MB, time to seconds, SLURM meanings for numbers', () => {
    const spec = parseJobSpec({
      script: 'echo hi',
      resources: { cpus: 4, mem: '4G', time: '1d12h', gpus: 'a100:2', nodes: '2-4' },
    });
    expect(spec.resources).toEqual({
      cpus: 4,
      mem: 4096,
      time: 129_600,
      gpus: 'a100:2',
      nodes: '2-4',
    });
    const numbers = parseJobSpec({ script: 'x', resources: { mem: 4000, time: 30 } });
    expect(numbers.resources).toEqual({ mem: 4000, time: 1800 });
  });

  it('normalises the array, dependencies, signal and env', () => {
    const spec = parseJobSpec({
      command: ['true'],
      array: '5-7,1,3%2',
      dependencies: { afterok: [12, '13_4'], afterany: [] },
      signal: { name: 'sigusr1', beforeS: 60 },
      env: { A: 1, B: true, C: 'x y' },
    });
    expect(spec.array).toBe('1,3,5-7%2');
    expect(spec.dependencies).toEqual({ afterok: ['12', '13_4'], afterany: [] });
    expect(spec.signal).toEqual({ name: 'USR1', beforeS: 60, batchOnly: true });
    expect(spec.env).toEqual({ A: '1', B: 'true', C: 'x y' });
  });

  it('lists every valid key with its default for an unknown key', () => {
    const err = usageError(() => parseJobSpec({ command: ['x'], cpus: 4 }));
    expect(err.message).toMatch(/unknown key "cpus"/);
    for (const k of SPEC_KEYS.spec)
      expect(err.message).toContain(`${k.key} (default ${k.default})`);
    expect(err.details?.valid).toEqual(SPEC_KEYS.spec);
  });

  it('lists the resources keys for an unknown resource', () => {
    const err = usageError(() => parseJobSpec({ command: ['x'], resources: { memory: '4G' } }));
    expect(err.message).toMatch(/unknown key "memory" in resources/);
    expect(err.message).toContain('mem (default (site default))');
    expect(err.message).toContain('cpus (default (SLURM: 1))');
  });

  it('lists the signal keys for an unknown signal key', () => {
    const err = usageError(() =>
      parseJobSpec({ command: ['x'], signal: { name: 'USR1', beforeS: 5, when: 1 } }),
    );
    expect(err.message).toContain('batchOnly (default true)');
  });

  it('needs exactly one of command or script', () => {
    expect(usageError(() => parseJobSpec({})).message).toMatch(/exactly one of command/);
    expect(usageError(() => parseJobSpec({ command: ['a'], script: 'b' })).message).toMatch(
      /exactly one of command/,
    );
    expect(usageError(() => parseJobSpec({ command: [] })).message).toMatch(/program name/);
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a bad name', { name: 'my job' }, /name may contain only/],
    ['a bad memory size', { resources: { mem: 'lots' } }, /resources\.mem: invalid memory size/],
    ['a bad time', { resources: { time: 'soon' } }, /resources\.time: invalid duration/],
    ['a zero time', { resources: { time: '0' } }, /more than zero/],
    ['zero cpus', { resources: { cpus: 0 } }, /resources\.cpus/],
    ['a partition with a space', { resources: { partition: 'a b' } }, /one word/],
    ['a backslash in a path', { output: 'a\\b' }, /without backslashes/],
    ['a newline in workdir', { workdir: 'a\nb' }, /one line/],
    ['hetjob in a value', { resources: { constraint: 'hetjob' } }, /hetjob/],
    ['an extra arg that is no option', { resources: { extraArgs: ['-x'] } }, /--option/],
    ['a bad array', { array: '5-1' }, /invalid array spec/],
    ['a bad dependency', { dependencies: { afterok: ['12.batch'] } }, /not a job or array task/],
    ['a bad env name', { env: { 'A-B': 'x' } }, /env names/],
    ['a bad signal', { signal: { name: 'USR 1', beforeS: 5 } }, /signal name/],
    ['a negative signal time', { signal: { name: 'USR1', beforeS: -1 } }, /signal\.beforeS/],
  ];
  for (const [what, extra, message] of bad) {
    it(`refuses ${what}`, () => {
      const err = usageError(() => parseJobSpec({ command: ['x'], ...extra }));
      expect(err.message).toMatch(message);
      expect(err.hint).toMatch(/docs\/job-spec\.md/);
    });
  }

  it('names the source in the message', () => {
    expect(usageError(() => parseJobSpec({ x: 1 }, 'berth.yaml jobs.train')).message).toMatch(
      /^berth\.yaml jobs\.train: unknown key "x"/,
    );
  });
});

describe('mergeSpec', () => {
  const host = {
    resources: { partition: 'gpu', account: 'proj', time: '2h', extraArgs: ['--exclusive'] },
  };

  it('lays flags over host defaults, key by key', () => {
    const spec = mergeSpec(host, {
      command: ['train'],
      resources: { time: '30m', cpus: 8, extraArgs: ['--gres=gpu:1'] },
      env: { A: '1' },
    });
    expect(spec.resources).toEqual({
      partition: 'gpu',
      account: 'proj',
      time: 1800,
      cpus: 8,
      extraArgs: ['--exclusive', '--gres=gpu:1'],
    });
    expect(spec.env).toEqual({ A: '1' });
  });

  it('ignores undefined flag values (flags that were not given)', () => {
    const spec = mergeSpec(host, {
      command: ['x'],
      resources: { partition: undefined },
      name: undefined,
    });
    expect(spec.resources.partition).toBe('gpu');
    expect(spec.name).toBe('berth');
  });

  it('merges env and dependencies by key; command and script replace each other', () => {
    const spec = mergeSpec(
      { command: ['old'], env: { A: '1', B: '2' }, dependencies: { afterok: ['1'] } },
      { script: 'echo new', env: { B: '3' }, dependencies: { afterany: ['2'] } },
    );
    expect(spec.command).toBeUndefined();
    expect(spec.script).toBe('echo new');
    expect(spec.env).toEqual({ A: '1', B: '3' });
    expect(spec.dependencies).toEqual({ afterok: ['1'], afterany: ['2'] });
  });

  it('reports unknown keys in any layer', () => {
    expect(() => mergeSpec({ resources: { gpu: 1 } }, { command: ['x'] })).toThrow(
      /unknown key "gpu" in resources/,
    );
  });
});
