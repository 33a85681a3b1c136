/**
 * What a task's `run` template sees: the values behind `{{…}}` for one task, and the
 * wrapper script for it. Pure.
 */
import { UsageError } from '../core/errors.js';
import { taskSeed } from './hash.js';
import { taskDir, unitDir } from './layout.js';
import type { PlannedUnit } from './plan.js';
import { type PipelineSpec, paramAt, type StageSpec } from './spec.js';
import { renderTemplate } from './template.js';
import { renderTaskScript } from './wrapper.js';

/**
 * `{{prev}}`: the previous step's output directory: task 0 of the last foreach aggregate
 * stage (or, without one, the unit directory of the last foreach stage); '' at step 1.
 */
export function prevDir(spec: PipelineSpec, runDir: string, step: number): string {
  if (step <= 1) return '';
  const foreach = spec.stages.filter((s) => s.foreach);
  const agg = foreach.filter((s) => s.aggregate).at(-1);
  if (agg) return `${runDir}/${taskDir(agg.name, step - 1, 0)}`;
  const last = foreach.at(-1);
  return last ? `${runDir}/${unitDir(last.name, step - 1)}` : '';
}

export function lookupFor(
  spec: PipelineSpec,
  runDir: string,
  stage: StageSpec,
  step: number,
  task: number,
): (name: string) => string {
  return (name) => {
    if (name === 'step') return String(step);
    if (name === 'task') return String(task);
    if (name === 'seed') return String(taskSeed(spec.seed, step, task));
    if (name === 'run') return spec.name;
    if (name === 'specdir') return spec.dir;
    if (name === 'prev') return prevDir(spec, runDir, step);
    if (name.startsWith('in.')) {
      const up = spec.stages.find((s) => s.name === name.slice(3));
      // A once stage sees a foreach stage's whole directory (step-<k>/<task>/…).
      if (up?.foreach && !stage.foreach) return `${runDir}/${up.name}`;
      if (up) return `${runDir}/${unitDir(up.name, up.foreach ? step : 0)}`;
    }
    if (name.startsWith('param.')) {
      const v = paramAt(spec.params, name.slice(6).split('.'));
      if (v !== undefined) return typeof v === 'string' ? v : JSON.stringify(v);
    }
    throw new UsageError(`stage ${stage.name}: unknown template reference {{${name}}}`);
  };
}

/** The wrapper script for one task of a planned unit. */
export function scriptForTask(
  spec: PipelineSpec,
  runDir: string,
  runName: string,
  unit: PlannedUnit,
  task: number,
  jobIds: string[] = [],
): string {
  const stage = spec.stages.find((s) => s.name === unit.stage)!;
  const inputs = stage.aggregate
    ? stage.after.flatMap((a) => {
        const up = spec.stages.find((s) => s.name === a)!;
        const count = up.tasks.length;
        const marker = up.aggregate ? ('DONE.json' as const) : ('READY' as const);
        if (!up.foreach) return [{ dir: unitDir(a, 0), count, marker }];
        if (stage.foreach) return [{ dir: unitDir(a, unit.step), count, marker }];
        // A once aggregate after a foreach stage checks every step.
        return Array.from({ length: spec.steps }, (_, k) => ({
          dir: unitDir(a, k + 1),
          count,
          marker,
        }));
      })
    : [];
  return renderTaskScript({
    runDir,
    runName,
    stage: stage.name,
    step: unit.step,
    task,
    seed: taskSeed(spec.seed, unit.step, task),
    hash: unit.hash,
    command: renderTemplate(stage.run, lookupFor(spec, runDir, stage, unit.step, task)),
    dir: taskDir(stage.name, unit.step, task),
    scratch: stage.scratch,
    aggregate: stage.aggregate,
    inputs,
    jobIds,
  });
}
