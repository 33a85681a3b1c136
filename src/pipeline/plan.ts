/**
 * The planner (pure): a spec and the markers a listing found give the plan. A task runs
 * when its marker is missing, its last attempt failed, its stage's config hash changed,
 * an input it depends on runs again, or a restart covers its step. Complete units are
 * skipped; the tasks that do run are given as a sparse index list cut into chunks under
 * MaxArraySize (for SLURM), and aggregations downstream of them run again.
 */
import { formatArraySpec } from '../core/jobid.js';
import { type ArrayChunk, planArrayChunks } from '../scheduler/slurm/arrays.js';
import { stableHash } from './hash.js';
import { unitKey } from './layout.js';
import { markerKey, type TaskMarker } from './markers.js';
import type { PipelineSpec, StageSpec } from './spec.js';
import { paramAt } from './spec.js';
import { paramRefs } from './template.js';

export interface TaskReason {
  task: number;
  reason: string;
}

export interface PlannedUnit {
  key: string;
  stage: string;
  step: number;
  aggregate: boolean;
  /** Config hash written into this unit's markers. */
  hash: string;
  total: number;
  /** Tasks that will run, sorted. */
  run: number[];
  /** `--array` text of the tasks that will run ('' when none). */
  arraySpec: string;
  /** The same tasks cut under MaxArraySize. */
  chunks: ArrayChunk[];
  reasons: TaskReason[];
  /** Units this one waits for. */
  deps: string[];
}

export interface Plan {
  name: string;
  units: PlannedUnit[];
  tasksToRun: number;
  tasksDone: number;
  /** One line per unit whose markers a config change invalidated. */
  invalidated: string[];
}

export interface PlanOptions {
  fromStep?: number;
  maxArraySize?: number;
}

interface Unit {
  stage: StageSpec;
  step: number;
}

export function planPipeline(
  spec: PipelineSpec,
  markers: ReadonlyMap<string, TaskMarker>,
  opts: PlanOptions = {},
): Plan {
  const hashes = stageHashes(spec);
  const planned = new Map<string, PlannedUnit>();
  const invalidated: string[] = [];
  for (const unit of orderedUnits(spec)) {
    const key = unitKey(unit.stage.name, unit.step);
    const deps = unitDeps(spec, unit).map((u) => unitKey(u.stage.name, u.step));
    const hash = hashes.get(unit.stage.name)!;
    const rerunDep = deps.find((d) => (planned.get(d)?.run.length ?? 0) > 0);
    const reasons: TaskReason[] = [];
    let changed = 0;
    for (const task of unit.stage.tasks) {
      const m = markers.get(markerKey(unit.stage.name, unit.step, task));
      const reason = taskReason(unit, m, hash, rerunDep, opts.fromStep);
      if (reason === 'changed') changed++;
      if (reason !== undefined) {
        reasons.push({
          task,
          reason: reason === 'changed' ? 'config changed (params or run template)' : reason,
        });
      }
    }
    if (changed > 0) {
      invalidated.push(
        `${key}: the stage's config changed (params it uses, its run template or its inputs); ${changed} marker(s) no longer count and their tasks run again`,
      );
    }
    const run = reasons.map((r) => r.task);
    planned.set(key, {
      key,
      stage: unit.stage.name,
      step: unit.step,
      aggregate: unit.stage.aggregate,
      hash,
      total: unit.stage.tasks.length,
      run,
      arraySpec: run.length > 0 ? formatArraySpec(run) : '',
      chunks: planArrayChunks(run, opts.maxArraySize ? { maxArraySize: opts.maxArraySize } : {}),
      reasons,
      deps,
    });
  }
  const units = [...planned.values()];
  const tasksToRun = units.reduce((n, u) => n + u.run.length, 0);
  const total = units.reduce((n, u) => n + u.total, 0);
  return { name: spec.name, units, tasksToRun, tasksDone: total - tasksToRun, invalidated };
}

function taskReason(
  unit: Unit,
  m: TaskMarker | undefined,
  hash: string,
  rerunDep: string | undefined,
  fromStep: number | undefined,
): string | undefined {
  if (fromStep !== undefined && unit.stage.foreach && unit.step >= fromStep) {
    return `restart from step ${fromStep}`;
  }
  if (rerunDep) return `inputs changed (${rerunDep} runs again)`;
  const marker = unit.stage.aggregate ? m?.done : m?.ready;
  if (marker === undefined) {
    if (m?.failed) return `failed (exit ${m.failed.exitCode})`;
    return unit.stage.aggregate ? 'missing DONE.json' : 'missing READY marker';
  }
  return marker === hash ? undefined : 'changed';
}

/**
 * A stage's config hash: its run template, scratch and aggregate flags, the run seed, the
 * values of the params its template uses, and its inputs' hashes and task counts (so a
 * change upstream invalidates downstream markers too). Resources don't change outputs.
 */
export function stageHashes(spec: PipelineSpec): Map<string, string> {
  const byName = new Map(spec.stages.map((s) => [s.name, s]));
  const out = new Map<string, string>();
  const hashOf = (s: StageSpec): string => {
    const known = out.get(s.name);
    if (known) return known;
    const params = Object.fromEntries(
      paramRefs(s.run).map((p) => [p, paramAt(spec.params, p.split('.'))]),
    );
    const h = stableHash({
      run: s.run,
      scratch: s.scratch,
      aggregate: s.aggregate,
      foreach: s.foreach,
      seed: spec.seed,
      params,
      ...(s.aggregate ? { tasks: s.tasks } : {}),
      inputs: s.after.map((a) => {
        const up = byName.get(a)!;
        return { stage: a, hash: hashOf(up), tasks: up.tasks.length };
      }),
    });
    out.set(s.name, h);
    return h;
  };
  for (const s of spec.stages) hashOf(s);
  return out;
}

/** Every unit in an order where each comes after the units it depends on. */
export function orderedUnits(spec: PipelineSpec): Unit[] {
  const all: Unit[] = [];
  for (const s of spec.stages.filter((x) => !x.foreach)) all.push({ stage: s, step: 0 });
  for (let k = 1; k <= spec.steps; k++) {
    for (const s of spec.stages.filter((x) => x.foreach)) all.push({ stage: s, step: k });
  }
  const placed = new Set<string>();
  const order: Unit[] = [];
  const pending = [...all];
  while (pending.length > 0) {
    const i = pending.findIndex((u) =>
      unitDeps(spec, u).every((d) => placed.has(unitKey(d.stage.name, d.step))),
    );
    const next = pending.splice(i < 0 ? 0 : i, 1)[0]!;
    placed.add(unitKey(next.stage.name, next.step));
    order.push(next);
  }
  return order;
}

/** What a unit waits for: its `after` stages (same step, every step, or the once unit) and, for a foreach unit after step 1, every foreach unit of the step before. */
export function unitDeps(spec: PipelineSpec, unit: Unit): Unit[] {
  const byName = new Map(spec.stages.map((s) => [s.name, s]));
  const deps: Unit[] = [];
  for (const a of unit.stage.after) {
    const up = byName.get(a)!;
    if (!up.foreach) deps.push({ stage: up, step: 0 });
    else if (unit.stage.foreach) deps.push({ stage: up, step: unit.step });
    else for (let k = 1; k <= spec.steps; k++) deps.push({ stage: up, step: k });
  }
  if (unit.stage.foreach && unit.step > 1) {
    for (const s of spec.stages.filter((x) => x.foreach))
      deps.push({ stage: s, step: unit.step - 1 });
  }
  return deps;
}

/** Reasons grouped into ranges of tasks with the same reason, for `plan --explain`. */
export function explainLines(unit: PlannedUnit): string[] {
  const groups = new Map<string, number[]>();
  for (const r of unit.reasons) {
    const list = groups.get(r.reason);
    if (list) list.push(r.task);
    else groups.set(r.reason, [r.task]);
  }
  return [...groups].map(
    ([reason, tasks]) => `  ${unit.key} tasks ${formatArraySpec(tasks)}: ${reason}`,
  );
}
