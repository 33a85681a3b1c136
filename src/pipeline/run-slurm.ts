/**
 * The SLURM executor: each planned unit with tasks to run becomes one SLURM array (its
 * sparse `--array` list from the plan, cut into chunks under MaxArraySize by the
 * scheduler), each array task running the same wrapper script as the local executor.
 * Units wait for the jobs of the units they depend on with afterok; a failed input
 * cancels what waits on it (`--kill-on-invalid-dep`). Job ids are appended to the run's
 * submissions.jsonl before anything waits, so status, cancel and resume find them.
 * Waiting goes through the host's one status watcher (one batched squeue per poll).
 */
import type { PollSettings, SlurmDefaults } from '../config/schema.js';
import { RemoteError } from '../core/errors.js';
import { parseArraySpec } from '../core/jobid.js';
import type { JobState } from '../core/states.js';
import { hostLayer } from '../dispatch/submit.js';
import type { Observation } from '../scheduler/contract.js';
import { renderSbatchScript } from '../scheduler/slurm/render.js';
import type { SlurmScheduler } from '../scheduler/slurm/scheduler.js';
import { mergeSpec } from '../scheduler/spec.js';
import { closeWatchers, watcherFor } from '../scheduler/watcher.js';
import { quote } from '../transport/quote.js';
import type { Runner } from '../transport/runner.js';
import { scriptForTask } from './context.js';
import type { Plan, PlannedUnit } from './plan.js';
import { appendSubmissions, type SubmittedUnit } from './run-files.js';
import { pruneCommand } from './run-local.js';
import { type FileText, renderWriteFiles, unitJobSpec, unitScriptsDir } from './slurm-render.js';
import type { PipelineSpec } from './spec.js';

export interface SlurmTarget {
  scheduler: SlurmScheduler;
  /** The host profile's `slurm:` defaults (partition, account, time, …). */
  defaults: SlurmDefaults;
  poll: PollSettings;
}

export interface UnitProgress {
  unit: string;
  jobId: string;
  state: JobState;
  tasks?: Record<string, number>;
}

export interface SlurmRunOptions {
  runner: Runner;
  target: SlurmTarget;
  runDir: string;
  runName: string;
  spec: PipelineSpec;
  plan: Plan;
  /** Wait until every submitted job has ended (default true). */
  wait?: boolean;
  onProgress?: (p: UnitProgress) => void;
  signal?: AbortSignal;
}

export interface SlurmOutcome {
  submitted: SubmittedUnit[];
  waited: boolean;
  /** Final job states by unit (when waited). */
  states: Record<string, string>;
}

/** Submit every unit of the plan that has tasks to run, in plan order; then (by default) wait. */
export async function runSlurm(o: SlurmRunOptions): Promise<SlurmOutcome> {
  const submitted: SubmittedUnit[] = [];
  try {
    for (const unit of o.plan.units.filter((u) => u.run.length > 0)) {
      submitted.push(await submitUnit(o, unit, submitted));
    }
  } finally {
    await appendSubmissions(o.runner, o.runDir, submitted);
  }
  if (o.wait === false || submitted.length === 0) {
    return { submitted, waited: false, states: {} };
  }
  const states = await waitUnits(o, submitted);
  return { submitted, waited: true, states };
}

/** The sbatch script of each unit, for `--dry-run` (job ids of inputs shown as `<unit>`). */
export function dryRunScripts(
  o: Pick<SlurmRunOptions, 'runDir' | 'runName' | 'spec' | 'plan' | 'target'>,
): Array<{ unit: string; array: string; chunks: string[]; script: string }> {
  return o.plan.units
    .filter((u) => u.run.length > 0)
    .map((unit) => {
      const spec = jobSpecOf(o, unit, []);
      return {
        unit: unit.key,
        array: unit.arraySpec,
        chunks: unit.chunks.map((c) => c.arrayArg),
        script: renderSbatchScript({ ...spec, array: unit.arraySpec }).replace(
          /^#!\/bin\/bash\n/,
          `#!/bin/bash\n# berth: after ${unit.deps.join(', ') || '(nothing)'}\n`,
        ),
      };
    });
}

function jobSpecOf(
  o: Pick<SlurmRunOptions, 'runDir' | 'runName' | 'spec' | 'target'>,
  unit: PlannedUnit,
  after: readonly string[],
) {
  const stage = o.spec.stages.find((s) => s.name === unit.stage)!;
  const epilogue = pruneCommand(o.spec, o.runDir, unit);
  const layer = unitJobSpec({
    runName: o.runName,
    runDir: o.runDir,
    unit,
    resources: stage.resources,
    after,
    ...(epilogue ? { epilogue } : {}),
  });
  return mergeSpec(hostLayer(o.target.defaults), layer as Record<string, unknown>);
}

async function submitUnit(
  o: SlurmRunOptions,
  unit: PlannedUnit,
  earlier: readonly SubmittedUnit[],
): Promise<SubmittedUnit> {
  const byUnit = new Map(earlier.map((s) => [s.unit, s]));
  const after = unit.deps.flatMap((d) => byUnit.get(d)?.jobs.map((j) => j.jobId) ?? []);
  // An aggregate's DONE.json names the jobs of its inputs (those submitted with it).
  const stage = o.spec.stages.find((s) => s.name === unit.stage)!;
  const inputIds = unit.aggregate
    ? unit.deps
        .filter((d) => stage.after.includes(d.slice(0, d.lastIndexOf('@'))))
        .flatMap((d) => byUnit.get(d)?.jobs.map((j) => `${o.runner.host}:${j.jobId}`) ?? [])
    : [];
  const dir = unitScriptsDir(o.runDir, unit);
  const files: FileText[] = unit.run.map((task) => ({
    path: `${dir}/${task}.sh`,
    text: scriptForTask(o.spec, o.runDir, o.runName, unit, task, inputIds),
  }));
  const w = await o.runner.sh(`rm -rf -- ${quote(dir)}\n${renderWriteFiles(files)}`);
  if (w.exitCode !== 0 || !w.stdout.includes('@@berth-written')) {
    throw new RemoteError(`writing the task scripts of ${unit.key} failed: ${w.stderr.trim()}`, {
      hint: 'check that the run directory on the host is writable',
    });
  }
  const sub = await o.target.scheduler.submit(jobSpecOf(o, unit, after));
  const chunks = sub.chunks ?? [{ schedulerId: sub.jobId, offset: 0, count: unit.run.length }];
  return {
    unit: unit.key,
    stage: unit.stage,
    step: unit.step,
    array: unit.arraySpec,
    jobs: chunks.map((c, i) => ({
      jobId: c.schedulerId,
      array: unit.chunks.length === chunks.length ? unit.chunks[i]!.arrayArg : '',
      offset: c.offset,
    })),
    after,
    submittedAt: new Date(sub.submittedAt).toISOString(),
  };
}

/** Wait through the host's watcher until every unit's job (all its chunks) has ended. */
async function waitUnits(
  o: SlurmRunOptions,
  submitted: readonly SubmittedUnit[],
): Promise<Record<string, string>> {
  const host = o.runner.host;
  const scheduler = o.target.scheduler;
  const watcher = watcherFor(host, () => ({
    observe: (ids, hints) => scheduler.observe(ids, hints),
    poll: o.target.poll,
  }));
  const unitOf = new Map<string, string>();
  for (const s of submitted) {
    const first = s.jobs[0]!.jobId;
    unitOf.set(first, s.unit);
    watcher.track(first, {
      hint: { schedulerIds: s.jobs.map((j) => j.jobId), taskCount: countOf(s.array) },
    });
  }
  const off = watcher.onChange((jobId: string, _p: JobState, next: JobState, obs: Observation) => {
    const unit = unitOf.get(jobId);
    if (unit)
      o.onProgress?.({ unit, jobId, state: next, ...(obs.tasks ? { tasks: obs.tasks } : {}) });
  });
  try {
    const got = await watcher.waitFor([...unitOf.keys()], o.signal ? { signal: o.signal } : {});
    return Object.fromEntries([...got].map(([id, st]) => [unitOf.get(id)!, st.kind]));
  } finally {
    off();
    for (const id of unitOf.keys()) watcher.untrack(id);
    if (watcher.liveJobs().length === 0) await closeWatchers(host);
  }
}

function countOf(array: string): number {
  return parseArraySpec(array).indices.length;
}
