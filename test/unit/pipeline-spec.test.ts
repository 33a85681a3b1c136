import { describe, expect, it } from 'vitest';
import { ConfigError, UsageError } from '../../src/core/errors.js';
import { taskSeed } from '../../src/pipeline/hash.js';
import { parsePipelineSpec } from '../../src/pipeline/spec.js';
import { renderTemplate } from '../../src/pipeline/template.js';

const GOOD = `name: rg
seed: 7
steps: 3
params:
  samples: 100
  lr: 0.5
  label: base
  fast: false
  model: { depth: 4 }
stages:
  gen:
    foreach: steps
    array: 4
    scratch: true
    run: gen {{seed}} {{param.samples}} {{prev}}
  hist:
    foreach: steps
    aggregate: true
    after: [gen]
    run: hist {{in.gen}} {{param.model.depth}}
`;

function errorOf(text: string, sets: string[] = []): Error {
  try {
    parsePipelineSpec(text, 'p.yaml', sets);
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('pipeline spec', () => {
  it('parses stages, arrays, defaults and params', () => {
    const s = parsePipelineSpec(GOOD, 'p.yaml');
    expect(s.name).toBe('rg');
    expect(s.steps).toBe(3);
    expect(s.keep).toBe('all');
    expect(s.concurrency).toBe(4);
    expect(s.stages.map((x) => [x.name, x.tasks, x.foreach, x.aggregate, x.scratch])).toEqual([
      ['gen', [0, 1, 2, 3], true, false, true],
      ['hist', [0], true, true, false],
    ]);
  });

  it('takes an array as a list of indices (sorted, unique)', () => {
    const s = parsePipelineSpec(
      'name: x\nstages:\n  a:\n    array: [9, 2, 2, 5]\n    run: echo {{task}}\n',
      'p.yaml',
    );
    expect(s.stages[0]!.tasks).toEqual([2, 5, 9]);
  });

  it('places an unknown key at file:line:col and lists the valid ones', () => {
    const e = errorOf('name: x\nstages:\n  a:\n    run: echo\n    arrray: 3\n');
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(
      /^p\.yaml:5:5: unknown key "arrray" in stages\.a; valid keys are array, /,
    );
    expect((e as ConfigError).exitCode).toBe(2);
  });

  it('places a bad value and a YAML syntax error', () => {
    expect(errorOf('name: x\nstages:\n  a:\n    run: echo\n    array: -1\n').message).toBe(
      'p.yaml:5:12: stages.a.array: must be at least 1',
    );
    expect(errorOf('name: x\nstages: [\n').message).toMatch(/^p\.yaml:\d+:\d+: YAML syntax error/);
    expect(errorOf('name: a b\nstages: {}\n').message).toMatch(/^p\.yaml:1:7: name: /);
  });

  it('words YAML syntax errors like config and session specs (yamlMessage), at file:line:col', () => {
    const dup = errorOf('name: x\nstages:\n  a:\n    run: echo\n    run: again\n');
    expect(dup).toBeInstanceOf(ConfigError);
    expect((dup as ConfigError).exitCode).toBe(2);
    expect(dup.message).toBe(
      'p.yaml:5:5: duplicate key: each key may appear only once in a mapping',
    );
    const indent = errorOf('name: x\nstages:\n  a:\n    run: echo\n   array: 2\n');
    expect(indent.message).toMatch(/^p\.yaml:\d+:\d+: YAML syntax error: \S/);
    expect(indent.message).not.toMatch(/\n|\s{2}/);
    expect((indent as ConfigError).details).toEqual({ file: 'p.yaml', problems: 1 });
  });

  it('checks after:, template references and cycles', () => {
    const bad = `name: x
params: { n: 1 }
stages:
  a:
    after: [nope]
    run: echo {{param.m}} {{bogus}}
  b:
    after: [c]
    run: echo {{prev}}
  c:
    after: [b]
    run: echo {{in.a}}
`;
    const lines = errorOf(bad).message.split('\n');
    expect(lines).toContain(
      'p.yaml:5:13: stages.a.after: unknown stage "nope"; stages are a, b, c',
    );
    expect(lines).toContain('p.yaml:6:10: stages.a.run: {{param.m}}: no param m');
    expect(lines).toContain(
      'p.yaml:6:10: stages.a.run: {{bogus}}: unknown reference; known are param.NAME, step, task, seed, prev, in.STAGE, run, specdir',
    );
    expect(lines).toContain(
      'p.yaml:9:10: stages.b.run: {{prev}}: only a foreach stage has a previous step',
    );
    expect(lines).toContain(
      'p.yaml:12:10: stages.c.run: {{in.a}}: in.a must name a stage in after:',
    );
    expect(lines.some((l) => /^p\.yaml:8:5: stages: dependency cycle b -> c -> b$/.test(l))).toBe(
      true,
    );
  });

  it('needs after: on an aggregate and no array on it', () => {
    const m = errorOf(
      'name: x\nstages:\n  h:\n    aggregate: true\n    array: 3\n    run: x\n',
    ).message;
    expect(m).toContain('p.yaml:5:5: stages.h: an aggregate stage is one task; remove array');
    expect(m).toContain('p.yaml:4:5: stages.h: an aggregate stage needs after:');
  });
});

describe('--set overrides', () => {
  it('converts values to the type the spec gives, nested keys included', () => {
    const s = parsePipelineSpec(GOOD, 'p.yaml', [
      'samples=250',
      'lr=1e-3',
      'label=a b',
      'fast=true',
      'model.depth=8',
      'samples=300',
    ]);
    expect(s.params).toEqual({
      samples: 300,
      lr: 0.001,
      label: 'a b',
      fast: true,
      model: { depth: 8 },
    });
  });

  it('names the flag for a bad key or type', () => {
    const cases: Array<[string, RegExp]> = [
      ['nope=1', /^--set nope: the spec has no param nope$/],
      ['model.width=1', /^--set model\.width: the spec has no param model\.width$/],
      ['samples=abc', /^--set samples=abc: expected number \(the spec gives number 100\)$/],
      ['samples=1.5', /^--set samples=1\.5: expected whole number/],
      ['fast=yes', /^--set fast=yes: expected boolean \(true or false\)/],
      ['model=3', /^--set model=3: expected single value, not a mapping/],
      ['samples', /^--set "samples": expected KEY=VALUE/],
    ];
    for (const [set, re] of cases) {
      const e = errorOf(GOOD, [set]);
      expect(e).toBeInstanceOf(UsageError);
      expect(e.message).toMatch(re);
    }
  });
});

describe('seeds and templates', () => {
  it('gives stable, documented task seeds', () => {
    // The first 4 bytes of sha256("0/1/0") and sha256("42/3/7"), top bit cleared.
    expect(taskSeed(42, 1, 0)).toBe(taskSeed(42, 1, 0));
    expect(taskSeed(42, 1, 0)).not.toBe(taskSeed(42, 1, 1));
    expect(taskSeed(42, 1, 0)).not.toBe(taskSeed(42, 2, 0));
    expect(taskSeed(42, 1, 0)).not.toBe(taskSeed(43, 1, 0));
    expect([taskSeed(0, 1, 0), taskSeed(42, 3, 7)]).toEqual([1472441114, 1428527725]);
    expect(taskSeed(42, 3, 7)).toBeLessThan(2 ** 31);
  });

  it('inserts every value through quote()', () => {
    const out = renderTemplate(
      'echo {{a}} {{ b }} {{c}}',
      (n) => ({ a: 'x y', b: "it's", c: '$(rm -rf /)' })[n]!,
    );
    expect(out).toBe(`echo 'x y' 'it'\\''s' '$(rm -rf /)'`);
  });
});
