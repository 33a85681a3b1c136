/**
 * The pipeline spec (YAML): name, params, seed, steps and stages. Syntax errors, unknown
 * keys, bad values and bad template references all become `FILE:LINE:COL: what` lines of
 * one ConfigError (exit 2). `--set a.b=c` overrides are checked against the params' types.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Document } from 'yaml';
import { z } from 'zod';
import { describeValue, isPlainObject, keyPath } from '../config/keys.js';
import { issueText, offsetOf } from '../config/load.js';
import { type Problem, parseYamlDocument } from '../config/yaml-doc.js';
import { UsageError } from '../core/errors.js';
import { NAME_PATTERN } from '../core/names.js';
import { templateRefs } from './template.js';

const name = z.string().regex(NAME_PATTERN, 'names may contain only letters, digits, . _ -');

const resourcesSchema = z.strictObject({
  cpus: z.number().int().min(1).optional(),
  mem: z.string().min(1).optional(),
  time: z.string().min(1).optional(),
  partition: z.string().min(1).optional(),
  gpus: z.number().int().min(0).optional(),
});

const stageSchema = z.strictObject({
  array: z.union([z.number().int().min(1), z.array(z.number().int().min(0)).min(1)]).optional(),
  foreach: z.literal('steps').optional(),
  after: z.array(name).optional(),
  run: z.string().min(1),
  resources: resourcesSchema.optional(),
  scratch: z.boolean().optional(),
  aggregate: z.boolean().optional(),
});

const specSchema = z.strictObject({
  name,
  params: z.record(z.string(), z.unknown()).optional(),
  seed: z.number().int().min(0).optional(),
  steps: z.number().int().min(1).max(100_000).optional(),
  concurrency: z.number().int().min(1).optional(),
  keep: z.enum(['all', 'aggregates']).optional(),
  stages: z.record(name, stageSchema),
});

export type Resources = z.infer<typeof resourcesSchema>;

export interface StageSpec {
  name: string;
  /** Task indices of the array (one task, 0, when the stage has no array). */
  tasks: number[];
  foreach: boolean;
  after: string[];
  run: string;
  resources: Resources;
  scratch: boolean;
  aggregate: boolean;
}

export interface PipelineSpec {
  name: string;
  /** The spec file's directory (absolute): `{{specdir}}`. */
  dir: string;
  params: Record<string, unknown>;
  seed: number;
  steps: number;
  /** Tasks run at once by the local executor. */
  concurrency: number;
  /** `all` keeps every step's task outputs; `aggregates` empties task dirs of finished steps. */
  keep: 'all' | 'aggregates';
  /** In spec order. */
  stages: StageSpec[];
}

const HINT = 'fix the spec; docs/pipelines.md lists every key';
const STAGE_KEYS = Object.keys(stageSchema.shape).join(', ');
const TOP_KEYS = Object.keys(specSchema.shape).join(', ');
const RESOURCE_KEYS = Object.keys(resourcesSchema.shape).join(', ');

export function loadPipelineSpec(file: string, sets: readonly string[] = []): PipelineSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the pipeline spec ${file}`, {
      hint: 'give the path of a YAML pipeline spec',
      cause: e,
    });
  }
  return parsePipelineSpec(text, file, sets);
}

/** Parse spec text (named `file` in messages), then apply `--set` overrides. */
export function parsePipelineSpec(
  text: string,
  file: string,
  sets: readonly string[] = [],
): PipelineSpec {
  const dir = dirname(resolve(file));
  const data = parseYamlDocument(text, file, specSchema, {
    hint: HINT,
    place: (issue, doc, value) => [issueProblem(issue, doc, value)],
    check: (d, doc) => checkStages(toSpec(d, dir), doc),
  });
  return applySets(toSpec(data, dir), sets);
}

function toSpec(d: z.infer<typeof specSchema>, dir: string): PipelineSpec {
  return {
    name: d.name,
    dir,
    params: d.params ?? {},
    seed: d.seed ?? 0,
    steps: d.steps ?? 1,
    concurrency: d.concurrency ?? 4,
    keep: d.keep ?? 'all',
    stages: Object.entries(d.stages).map(([n, s]) => ({
      name: n,
      tasks:
        s.array === undefined
          ? [0]
          : typeof s.array === 'number'
            ? Array.from({ length: s.array }, (_, i) => i)
            : [...new Set(s.array)].sort((a, b) => a - b),
      foreach: s.foreach === 'steps',
      after: s.after ?? [],
      run: s.run,
      resources: s.resources ?? {},
      scratch: s.scratch ?? false,
      aggregate: s.aggregate ?? false,
    })),
  };
}

/** Cross-field checks: `after` names, cycles, aggregates without arrays, template refs. */
function checkStages(spec: PipelineSpec, doc: Document): Problem[] {
  const problems: Problem[] = [];
  const names = new Set(spec.stages.map((s) => s.name));
  if (spec.stages.length === 0) {
    problems.push({
      offset: offsetOf(doc, ['stages'], 'key'),
      message: 'stages: give at least one stage',
    });
  }
  for (const s of spec.stages) {
    s.after.forEach((a, i) => {
      if (!names.has(a)) {
        problems.push({
          offset: offsetOf(doc, ['stages', s.name, 'after', i], 'value'),
          message: `stages.${s.name}.after: unknown stage ${JSON.stringify(a)}; stages are ${[...names].join(', ')}`,
        });
      } else if (a === s.name) {
        problems.push({
          offset: offsetOf(doc, ['stages', s.name, 'after', i], 'value'),
          message: `stages.${s.name}.after: a stage cannot depend on itself`,
        });
      }
    });
    if (s.aggregate && s.tasks.length !== 1) {
      problems.push({
        offset: offsetOf(doc, ['stages', s.name, 'array'], 'key'),
        message: `stages.${s.name}: an aggregate stage is one task; remove array`,
      });
    }
    if (s.aggregate && s.after.length === 0) {
      problems.push({
        offset: offsetOf(doc, ['stages', s.name, 'aggregate'], 'key'),
        message: `stages.${s.name}: an aggregate stage needs after: (the stages whose tasks it checks)`,
      });
    }
    for (const ref of templateRefs(s.run)) {
      const bad = badRef(ref.name, spec, s);
      if (bad) {
        problems.push({
          offset: offsetOf(doc, ['stages', s.name, 'run'], 'value'),
          message: `stages.${s.name}.run: {{${ref.name}}}: ${bad}`,
        });
      }
    }
  }
  const cycle = findCycle(spec);
  if (cycle) {
    problems.push({
      offset: offsetOf(doc, ['stages', cycle[0]!, 'after'], 'key'),
      message: `stages: dependency cycle ${cycle.join(' -> ')}`,
    });
  }
  return problems;
}

const KNOWN_REFS = 'param.NAME, step, task, seed, prev, in.STAGE, run, specdir';

function badRef(ref: string, spec: PipelineSpec, stage: StageSpec): string | undefined {
  if (['step', 'task', 'seed', 'run', 'prev', 'specdir'].includes(ref)) {
    if (ref === 'prev' && !stage.foreach) return 'only a foreach stage has a previous step';
    return undefined;
  }
  if (ref.startsWith('param.')) {
    const path = ref.slice(6).split('.');
    return paramAt(spec.params, path) === undefined ? `no param ${path.join('.')}` : undefined;
  }
  if (ref.startsWith('in.')) {
    const other = ref.slice(3);
    return stage.after.includes(other) ? undefined : `in.${other} must name a stage in after:`;
  }
  return `unknown reference; known are ${KNOWN_REFS}`;
}

function findCycle(spec: PipelineSpec): string[] | undefined {
  const byName = new Map(spec.stages.map((s) => [s.name, s]));
  const state = new Map<string, 'open' | 'done'>();
  const visit = (n: string, path: string[]): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    for (const a of byName.get(n)?.after ?? []) {
      if (a === n) continue;
      const c = visit(a, [...path, n]);
      if (c) return c;
    }
    state.set(n, 'done');
    return undefined;
  };
  for (const s of spec.stages) {
    const c = visit(s.name, []);
    if (c) return c;
  }
  return undefined;
}

/** The value of a dotted param path, undefined when it is not there. */
export function paramAt(params: Record<string, unknown>, path: readonly string[]): unknown {
  let v: unknown = params;
  for (const seg of path) {
    if (!isPlainObject(v) || !(seg in v)) return undefined;
    v = v[seg];
  }
  return v;
}

/** Apply `--set a.b=c` overrides; the value is converted to the type the spec gives the key. */
export function applySets(spec: PipelineSpec, sets: readonly string[]): PipelineSpec {
  if (sets.length === 0) return spec;
  const params = structuredClone(spec.params);
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) {
      throw new UsageError(
        `--set ${JSON.stringify(set)}: expected KEY=VALUE (for example --set model.lr=0.1)`,
        {
          hint: 'give --set once per param, with a dotted key from the spec’s params',
        },
      );
    }
    const path = set.slice(0, eq).split('.');
    const raw = set.slice(eq + 1);
    const parent = paramAt(params, path.slice(0, -1));
    const last = path.at(-1)!;
    const current = isPlainObject(parent) ? parent[last] : undefined;
    if (current === undefined || !isPlainObject(parent)) {
      throw new UsageError(`--set ${path.join('.')}: the spec has no param ${path.join('.')}`, {
        hint: `params are ${leafPaths(spec.params).join(', ') || '(none)'}`,
      });
    }
    parent[last] = convert(path.join('.'), raw, current);
  }
  return { ...spec, params };
}

function convert(key: string, raw: string, current: unknown): unknown {
  const fail = (want: string) =>
    new UsageError(
      `--set ${key}=${raw}: expected ${want} (the spec gives ${describeValue(current)})`,
      {
        hint: `give --set ${key} a ${want}`,
      },
    );
  if (typeof current === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw fail('number');
    if (Number.isInteger(current) && !Number.isInteger(n)) throw fail('whole number');
    return n;
  }
  if (typeof current === 'boolean') {
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    throw fail('boolean (true or false)');
  }
  if (typeof current === 'string') return raw;
  throw fail(`single value, not a ${Array.isArray(current) ? 'list' : 'mapping'}`);
}

function leafPaths(v: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(v).flatMap(([k, x]) =>
    isPlainObject(x) ? leafPaths(x, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

function issueProblem(issue: z.core.$ZodIssue, doc: Document, value: unknown): Problem {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const valid =
      path.length === 0 ? TOP_KEYS : path.at(-1) === 'resources' ? RESOURCE_KEYS : STAGE_KEYS;
    const inside = path.length > 0 ? ` in ${keyPath(path)}` : '';
    return {
      offset: offsetOf(doc, [...path, issue.keys[0]!], 'key'),
      message: `unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}${inside}; valid keys are ${valid}`,
    };
  }
  if (issue.code === 'invalid_key') {
    return {
      offset: offsetOf(doc, path, 'key'),
      message: `${keyPath(path)}: stage names may contain only letters, digits, . _ -`,
    };
  }
  const where = path.length > 0 ? `${keyPath(path)}: ` : '';
  const text = issue.code === 'invalid_format' ? issue.message : issueText(issue, value);
  return { offset: offsetOf(doc, path, 'value'), message: where + text };
}
