/**
 * The local executor (a local host or a scheduler-`none` host): one process pool of
 * `concurrency` task slots shared by every unit, each task as its wrapper script through
 * the host's Runner. A unit starts as soon as every unit it waits for has finished (so
 * independent units overlap, as on SLURM); its tasks queue in task order behind those of
 * units that started before it. A unit with a failed task starts nothing new: the tasks
 * already running finish, the units not started are reported, and the markers say what
 * to resume.
 */

import { quote } from '../transport/quote.js';
import type { Runner } from '../transport/runner.js';
import { scriptForTask } from './context.js';
import { unitDir } from './layout.js';
import type { Plan, PlannedUnit } from './plan.js';
import type { PipelineSpec } from './spec.js';

export interface TaskEvent {
  unit: string;
  task: number;
  exitCode: number | null;
  durationMs: number;
}

export interface UnitResult {
  unit: string;
  ran: number[];
  failed: Array<{ task: number; exitCode: number | null }>;
  durationMs: number;
}

export interface LocalOutcome {
  ok: boolean;
  units: UnitResult[];
  /** Units the plan had work for that did not start because an earlier unit failed. */
  notStarted: string[];
  tasksRun: number;
  /** The run was stopped (its signal aborted: Ctrl-C); its tasks were terminated. */
  interrupted?: true;
}

export interface LocalRunOptions {
  runner: Runner;
  runDir: string;
  runName: string;
  spec: PipelineSpec;
  plan: Plan;
  concurrency?: number;
  onTask?: (e: TaskEvent) => void;
  signal?: AbortSignal;
}

export async function runLocal(o: LocalRunOptions): Promise<LocalOutcome> {
  const limit = Math.max(1, o.concurrency ?? o.spec.concurrency);
  const toRun = o.plan.units.filter((u) => u.run.length > 0);
  const waiting = new Set(toRun.map((u) => u.key));
  const results: UnitResult[] = [];
  const queue: Array<{ task: number; state: UnitState }> = [];
  let failed = false;
  let running = 0;
  let error: unknown;

  return new Promise<LocalOutcome>((resolveRun, rejectRun) => {
    const active = new Map<string, UnitState>();
    /** A unit's result, once it has ended (or was cut short by Ctrl-C). */
    const report = (state: UnitState) => {
      active.delete(state.unit.key);
      results.push({
        unit: state.unit.key,
        ran: state.unit.run,
        failed: state.failed.sort((a, b) => a.task - b.task),
        durationMs: Date.now() - state.started,
      });
    };
    const finish = () => {
      for (const state of [...active.values()]) report(state);
      if (error !== undefined) rejectRun(error);
      else
        resolveRun(
          done(
            !failed,
            results,
            toRun.filter((u) => waiting.has(u.key)),
            o.signal,
          ),
        );
    };
    /** Queue the tasks of every unit whose dependencies have all finished. */
    const release = () => {
      if (failed || o.signal?.aborted) return;
      for (const unit of toRun) {
        if (!waiting.has(unit.key) || unit.deps.some((d) => waiting.has(d) || active.has(d)))
          continue;
        waiting.delete(unit.key);
        const state: UnitState = { unit, started: Date.now(), left: unit.run.length, failed: [] };
        active.set(unit.key, state);
        for (const task of unit.run) queue.push({ task, state });
      }
    };
    const unitDone = async (state: UnitState) => {
      if (state.failed.length === 0 && !o.signal?.aborted) await pruneStep(o, state.unit);
      report(state);
      release();
    };
    /** One slot: the task, then (for a unit's last task) the unit's end; the slot is held until both are done. */
    const slot = async ({ task, state }: (typeof queue)[number]) => {
      try {
        const exitCode = await runTask(o, state.unit, task);
        if (exitCode !== 0) {
          state.failed.push({ task, exitCode });
          failed = true;
        }
        if (--state.left === 0) await unitDone(state);
      } catch (e) {
        error ??= e;
        failed = true;
      }
      running--;
      pump();
    };
    const pump = () => {
      // After a failure the units already started still run all their tasks.
      while (running < limit && queue.length > 0 && !o.signal?.aborted) {
        running++;
        void slot(queue.shift()!);
      }
      if (running === 0 && (queue.length === 0 || o.signal?.aborted)) finish();
    };
    release();
    pump();
  });
}

interface UnitState {
  unit: PlannedUnit;
  started: number;
  /** Tasks of the unit not finished yet. */
  left: number;
  failed: UnitResult['failed'];
}

function done(
  ok: boolean,
  units: UnitResult[],
  rest: PlannedUnit[],
  signal?: AbortSignal,
): LocalOutcome {
  const tasksRun = units.reduce((n, u) => n + u.ran.length, 0);
  const interrupted = signal?.aborted ? { interrupted: true as const } : {};
  return {
    ok: ok && !signal?.aborted,
    units,
    notStarted: rest.map((u) => u.key),
    tasksRun,
    ...interrupted,
  };
}

/** One task's wrapper script through the runner; its exit code (null: killed). */
async function runTask(
  o: LocalRunOptions,
  unit: PlannedUnit,
  task: number,
): Promise<number | null> {
  const script = scriptForTask(
    o.spec,
    o.runDir,
    o.runName,
    unit,
    task,
    aggregateJobIds(o.spec, unit),
  );
  const r = await o.runner.sh(script, o.signal ? { signal: o.signal } : {});
  o.onTask?.({ unit: unit.key, task, exitCode: r.exitCode, durationMs: r.durationMs });
  return r.exitCode;
}

/** An aggregate's inputs are its after: stages at its own step (not the step before). */
function aggregateJobIds(spec: PipelineSpec, unit: PlannedUnit): string[] {
  if (!unit.aggregate) return [];
  const stage = spec.stages.find((s) => s.name === unit.stage)!;
  return unit.deps
    .filter((d) => {
      const at = d.lastIndexOf('@');
      const up = spec.stages.find((s) => s.name === d.slice(0, at));
      if (!up || !stage.after.includes(up.name)) return false;
      return !(up.foreach && stage.foreach) || Number(d.slice(at + 1)) === unit.step;
    })
    .map((d) => `local:${d}`);
}

/** With `keep: aggregates`, once a step's aggregate is done its array tasks keep only READY. */
async function pruneStep(o: LocalRunOptions, unit: PlannedUnit): Promise<void> {
  const command = pruneCommand(o.spec, o.runDir, unit);
  if (command) await o.runner.sh(command);
}

/**
 * The shell command that empties the task directories (all but READY) of the foreach
 * stages an aggregate unit checked, under `keep: aggregates`; undefined when nothing is
 * pruned. The SLURM executor runs it at the end of the aggregate's job.
 */
export function pruneCommand(
  spec: PipelineSpec,
  runDir: string,
  unit: Pick<PlannedUnit, 'aggregate' | 'step' | 'stage'>,
): string | undefined {
  if (spec.keep !== 'aggregates' || !unit.aggregate || unit.step === 0) return undefined;
  const stage = spec.stages.find((s) => s.name === unit.stage)!;
  const dirs = stage.after
    .filter((a) => spec.stages.find((s) => s.name === a)?.foreach)
    .map((a) => quote(`${runDir}/${unitDir(a, unit.step)}`));
  if (dirs.length === 0) return undefined;
  return `find ${dirs.join(' ')} -mindepth 2 -maxdepth 2 ! -name READY -exec rm -rf {} +`;
}
