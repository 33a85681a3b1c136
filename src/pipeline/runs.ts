/**
 * Runs: a run is a directory `<root>/<name>/` holding run.json (the spec text and the
 * `--set` values it was started with) and every task's directory and markers. These
 * functions are the library behind `berth pipeline …`; each returns what `--json` prints.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, posix, resolve } from 'node:path';
import { ConflictError, RemoteError, UsageError } from '../core/errors.js';
import { validateName } from '../core/names.js';
import { isTerminal } from '../core/states.js';
import { readSite } from '../scheduler/slurm/site.js';
import type { Runner } from '../transport/runner.js';
import { RUN_FILE, SPEC_STAGE_DIR } from './layout.js';
import { markerKey, parseMarkerListing, renderMarkerListing, type TaskMarker } from './markers.js';
import { type Plan, planPipeline } from './plan.js';
import {
  type RunRecord,
  readAllRecords,
  readHostFile,
  readRecordAt,
  readSubmissions,
  type SubmittedUnit,
  writeHostFile,
} from './run-files.js';
import { type LocalOutcome, runLocal, type TaskEvent, type UnitResult } from './run-local.js';
import { dryRunScripts, runSlurm, type SlurmTarget, type UnitProgress } from './run-slurm.js';
import { loadPipelineSpec, type PipelineSpec, parsePipelineSpec } from './spec.js';

export type { RunRecord } from './run-files.js';

export interface RunContext {
  /** The directory of runs on the host (absolute). */
  root: string;
  runner: Runner;
  concurrency?: number;
  maxArraySize?: number;
  onTask?: (e: TaskEvent) => void;
  /** Run on SLURM (arrays with afterok chains) instead of the local process pool. */
  slurm?: SlurmTarget;
  /** With slurm: wait for the jobs to end (default true). */
  wait?: boolean;
  onProgress?: (p: UnitProgress) => void;
  /**
   * Process pool: aborting it terminates the running tasks (their process groups) and
   * starts no more; the outcome says `interrupted`. SLURM jobs are not affected.
   */
  signal?: AbortSignal;
  /**
   * Copy the spec's directory to the host (a remote host): given the local directory and
   * the run's staging directory there, which becomes `{{specdir}}`.
   */
  stage?: (localDir: string, remoteDir: string) => Promise<StageCopy>;
}

/** What staging the spec's directory copied (rsync's counts). */
export interface StageCopy {
  filesTransferred: number;
  bytesTransferred: number;
}

/** The spec's directory copied to the host before tasks ran (`run`, `resume`, `restart`). */
export interface Staged extends StageCopy {
  local: string;
  remote: string;
}

export interface ExecuteResult {
  run: string;
  runDir: string;
  host: string;
  executor: 'local' | 'slurm';
  dryRun: boolean;
  plan: Plan;
  /** Absent for a dry run and for a SLURM run that did not wait. */
  outcome?: LocalOutcome;
  /** SLURM: the units submitted (unit key, job ids, array lists). */
  submitted?: SubmittedUnit[];
  /** SLURM dry run: each unit's batch script. */
  scripts?: Array<{ unit: string; array: string; chunks: string[]; script: string }>;
  /** Round trips spent reading markers (one per host). */
  markerRoundTrips: number;
  /** A remote host: the spec's directory copied to the run's `spec/` before tasks ran. */
  staged?: Staged;
}

export function runDirOf(root: string, name: string): string {
  return posix.join(root, validateName('run', name));
}

/** Markers of a run, read in one round trip. */
export async function readMarkers(
  runner: Runner,
  runDir: string,
): Promise<Map<string, TaskMarker>> {
  const r = await runner.sh(renderMarkerListing(runDir));
  if (r.exitCode !== 0) {
    throw new RemoteError(`listing the markers of ${runDir} failed: ${r.stderr.trim()}`, {
      hint: 'check that the host is reachable and the run directory readable',
    });
  }
  return parseMarkerListing(r.stdout).markers;
}

export function readRecord(ctx: Pick<RunContext, 'root' | 'runner'>, name: string) {
  return readRecordAt(ctx.runner, runDirOf(ctx.root, name), name);
}

function specOf(record: RunRecord): PipelineSpec {
  const spec = parsePipelineSpec(record.specText, record.specFile, record.sets);
  return record.specDir ? { ...spec, dir: record.specDir } : spec;
}

function result(
  ctx: RunContext,
  name: string,
  runDir: string,
  plan: Plan,
  extra: Partial<ExecuteResult> = {},
): ExecuteResult {
  return {
    run: name,
    runDir,
    host: ctx.runner.host,
    executor: ctx.slurm ? 'slurm' : 'local',
    dryRun: true,
    plan,
    markerRoundTrips: 1,
    ...extra,
  };
}

/** `pipeline run SPEC`: a new run (or only its plan with dryRun). */
export async function startRun(
  ctx: RunContext,
  specFile: string,
  opts: { sets?: string[]; name?: string; dryRun?: boolean; host?: string } = {},
): Promise<ExecuteResult> {
  const sets = opts.sets ?? [];
  const loaded = loadPipelineSpec(specFile, sets);
  const name = validateName('run', opts.name ?? loaded.name);
  const runDir = runDirOf(ctx.root, name);
  const specDir = ctx.stage ? posix.join(runDir, SPEC_STAGE_DIR) : loaded.dir;
  const spec = { ...loaded, dir: specDir };
  const markers = await readMarkers(ctx.runner, runDir);
  if ((await readHostFile(ctx.runner, posix.join(runDir, RUN_FILE))) !== undefined) {
    throw new ConflictError(`pipeline run ${JSON.stringify(name)} already exists in ${runDir}`, {
      hint: `berth pipeline resume ${name} continues it; --name starts another run`,
    });
  }
  const plan = planPipeline(spec, markers, await planOpts(ctx));
  if (opts.dryRun) return result(ctx, name, runDir, plan, dryExtra(ctx, spec, name, runDir, plan));
  const staged = ctx.stage ? await stageSpec(ctx, loaded.dir, specDir) : undefined;
  const record: RunRecord = {
    name,
    specFile: resolve(specFile),
    specText: readFileSync(specFile, 'utf8'),
    sets,
    host: opts.host ?? ctx.runner.host,
    created: new Date().toISOString(),
    ...(ctx.stage ? { specDir } : {}),
  };
  await writeRecord(ctx, runDir, record);
  return withStaged(await execute(ctx, spec, name, runDir, plan), staged);
}

async function writeRecord(ctx: RunContext, runDir: string, record: RunRecord): Promise<void> {
  const text = `${JSON.stringify(record, null, 2)}\n`;
  await writeHostFile(ctx.runner, posix.join(runDir, RUN_FILE), text);
}

async function stageSpec(ctx: RunContext, local: string, remote: string): Promise<Staged> {
  const r = await ctx.stage!(local, remote);
  return {
    local,
    remote,
    filesTransferred: r.filesTransferred,
    bytesTransferred: r.bytesTransferred,
  };
}

function withStaged(r: ExecuteResult, staged: Staged | undefined): ExecuteResult {
  return staged ? { ...r, staged } : r;
}

/**
 * `pipeline resume RUN` (and `restart RUN --from-step K`): run what the markers say is
 * left. On a remote host the spec's directory is copied to the run's `spec/` again first
 * (a code fix is the usual reason to resume), once nothing of the run is running; `push:
 * false` keeps the staged copy as it is. The spec itself (stages, params) is run.json's.
 */
export async function resumeRun(
  ctx: RunContext,
  name: string,
  opts: { fromStep?: number; sets?: string[]; dryRun?: boolean; push?: boolean } = {},
): Promise<ExecuteResult> {
  const record = await readRecord(ctx, name);
  const runDir = runDirOf(ctx.root, name);
  const next = { ...record, sets: [...record.sets, ...(opts.sets ?? [])] };
  const spec = specOf(next);
  if (opts.fromStep !== undefined) {
    if (!Number.isInteger(opts.fromStep) || opts.fromStep < 1 || opts.fromStep > spec.steps) {
      throw new UsageError(`--from-step ${opts.fromStep}: the run has steps 1 to ${spec.steps}`, {
        hint: `give --from-step a whole number from 1 to ${spec.steps}`,
      });
    }
  }
  const markers = await readMarkers(ctx.runner, runDir);
  const plan = planPipeline(spec, markers, { ...(await planOpts(ctx)), ...pick(opts.fromStep) });
  if (opts.dryRun) return result(ctx, name, runDir, plan, dryExtra(ctx, spec, name, runDir, plan));
  if (!ctx.slurm) {
    const live = liveTasks(markers);
    if (live.length > 0) {
      throw new ConflictError(
        `pipeline run ${JSON.stringify(name)} still has ${live.length} task(s) running on ${ctx.runner.host}: ${live.slice(0, 5).join(', ')}${live.length > 5 ? ', …' : ''}`,
        {
          hint: `wait for them (berth pipeline status ${name}) or stop the berth that runs them (Ctrl-C)`,
        },
      );
    }
  } else {
    const live = await liveJobs(ctx, runDir);
    if (live.length > 0) {
      throw new ConflictError(
        `pipeline run ${JSON.stringify(name)} still has ${live.length} job(s) queued or running: ${live.join(', ')}`,
        {
          hint: `wait for them (berth pipeline status ${name}) or cancel them: berth pipeline cancel ${name}`,
        },
      );
    }
  }
  const push = ctx.stage !== undefined && opts.push !== false && record.specDir !== undefined;
  const local = dirname(record.specFile);
  if (push && !existsSync(local)) {
    throw new UsageError(
      `pipeline run ${JSON.stringify(name)}: its spec directory ${local} is not on this machine to copy to ${ctx.runner.host}`,
      {
        hint: '--no-push resumes with the copy already on the host (berth pipeline push RUN refreshes it)',
      },
    );
  }
  const staged = push ? await stageSpec(ctx, local, record.specDir!) : undefined;
  if ((opts.sets ?? []).length > 0) await writeRecord(ctx, runDir, next);
  return withStaged(await execute(ctx, spec, name, runDir, plan), staged);
}

/** `pipeline plan SPEC`: the plan against the markers of the run the spec would use. */
export async function planSpec(
  ctx: RunContext,
  specFile: string,
  opts: { sets?: string[]; name?: string; fromStep?: number } = {},
): Promise<ExecuteResult> {
  const loaded = loadPipelineSpec(specFile, opts.sets ?? []);
  const name = validateName('run', opts.name ?? loaded.name);
  const runDir = runDirOf(ctx.root, name);
  const spec = ctx.stage ? { ...loaded, dir: posix.join(runDir, SPEC_STAGE_DIR) } : loaded;
  const markers = await readMarkers(ctx.runner, runDir);
  const plan = planPipeline(spec, markers, { ...(await planOpts(ctx)), ...pick(opts.fromStep) });
  return result(ctx, name, runDir, plan, dryExtra(ctx, spec, name, runDir, plan));
}

function dryExtra(
  ctx: RunContext,
  spec: PipelineSpec,
  name: string,
  runDir: string,
  plan: Plan,
): Partial<ExecuteResult> {
  if (!ctx.slurm) return {};
  return { scripts: dryRunScripts({ runDir, runName: name, spec, plan, target: ctx.slurm }) };
}

export interface UnitStatus {
  unit: string;
  stage: string;
  step: number;
  total: number;
  done: number;
  failed: number;
  /**
   * Tasks running: SLURM's count (squeue) for a SLURM run; on the process pool, tasks whose
   * RUNNING marker holds a wrapper pid still alive on the host.
   */
  running: number;
  /** Tasks SLURM has pending (0 on the process pool). */
  pending: number;
  missing: number;
  /**
   * Of the missing, process pool: tasks whose RUNNING marker outlived its wrapper (a killed
   * run); resume runs them again.
   */
  interrupted: number;
  /** SLURM job ids of the unit's last submission. */
  jobIds: string[];
  /** The state SLURM gives that submission (`unknown` while the scheduler does not answer). */
  slurm?: string;
}

export interface RunStatus {
  run: string;
  runDir: string;
  host: string;
  complete: boolean;
  units: UnitStatus[];
  invalidated: string[];
}

/**
 * `pipeline status RUN`: per stage and step, done / running / failed / missing (SLURM's
 * running and pending from squeue; on the process pool running from the RUNNING markers).
 */
export async function runStatus(ctx: RunContext, name: string): Promise<RunStatus> {
  const record = await readRecord(ctx, name);
  const runDir = runDirOf(ctx.root, name);
  const spec = specOf(record);
  const markers = await readMarkers(ctx.runner, runDir);
  const plan = planPipeline(spec, markers, await planOpts(ctx));
  const queue = ctx.slurm ? await queueCounts(ctx, runDir) : new Map<string, QueueCount>();
  // Counts come from the markers themselves: a task whose READY is current counts as done
  // even when the plan would run it again because something upstream is missing.
  const units = plan.units.map((u) => {
    const stage = spec.stages.find((s) => s.name === u.stage)!;
    let done = 0;
    let failed = 0;
    let alive = 0;
    let interrupted = 0;
    for (const task of stage.tasks) {
      const m = markers.get(markerKey(u.stage, u.step, task));
      const mark = u.aggregate ? m?.done : m?.ready;
      if (mark === u.hash) done++;
      else if (m?.running?.alive === true) alive++;
      else if (m?.failed && mark === undefined) failed++;
      else if (m?.running?.alive === false) interrupted++;
    }
    const q = queue.get(u.key);
    // On SLURM, squeue is the truth; RUNNING markers there come from other hosts.
    const running = ctx.slurm ? Math.min(q?.running ?? 0, u.total - done) : alive;
    const pending = Math.min(q?.pending ?? 0, u.total - done - running);
    return {
      unit: u.key,
      stage: u.stage,
      step: u.step,
      total: u.total,
      done,
      failed,
      running,
      pending,
      missing: Math.max(0, u.total - done - failed - running - pending),
      interrupted: ctx.slurm ? 0 : interrupted,
      jobIds: q?.jobIds ?? [],
      ...(q ? { slurm: q.state } : {}),
    };
  });
  return {
    run: name,
    runDir,
    host: ctx.runner.host,
    complete: plan.tasksToRun === 0,
    units,
    invalidated: plan.invalidated,
  };
}

interface QueueCount {
  running: number;
  pending: number;
  jobIds: string[];
  live: boolean;
  state: string;
}

/** Per unit, its last submission's tasks as SLURM sees them now (one batched query). */
async function queueCounts(ctx: RunContext, runDir: string): Promise<Map<string, QueueCount>> {
  const last = new Map<string, SubmittedUnit>();
  for (const s of await readSubmissions(ctx.runner, runDir)) last.set(s.unit, s);
  const out = new Map<string, QueueCount>();
  if (last.size === 0 || !ctx.slurm) return out;
  const hints = new Map(
    [...last.values()].map((s) => [s.jobs[0]!.jobId, { schedulerIds: s.jobs.map((j) => j.jobId) }]),
  );
  const seen = await ctx.slurm.scheduler.observe([...hints.keys()], hints);
  for (const s of last.values()) {
    const obs = seen.get(s.jobs[0]!.jobId);
    const tasks = obs?.tasks ?? {};
    // A query that failed reads as live (unknown), never as ended.
    const live = obs ? !isTerminal(obs.state) : true;
    const single = obs && !obs.tasks ? obs.state.kind : undefined;
    out.set(s.unit, {
      running: (tasks.running ?? 0) + (tasks.completing ?? 0) + (single === 'running' ? 1 : 0),
      pending: (tasks.pending ?? 0) + (single === 'pending' ? 1 : 0),
      jobIds: s.jobs.map((j) => j.jobId),
      live,
      state: obs?.state.kind ?? 'unknown',
    });
  }
  return out;
}

/** Process pool: tasks (`stage@step:task`) whose RUNNING marker's wrapper is alive. */
function liveTasks(markers: Map<string, TaskMarker>): string[] {
  const out: string[] = [];
  for (const [key, m] of markers) {
    if (m.running?.alive !== true) continue;
    const [stage, step, task] = key.split('/');
    out.push(`${stage}@${step}:${task}`);
  }
  return out.sort();
}

/** SLURM job ids of the run that have not ended. */
async function liveJobs(ctx: RunContext, runDir: string): Promise<string[]> {
  const q = await queueCounts(ctx, runDir);
  return [...q.values()].filter((c) => c.live).flatMap((c) => c.jobIds);
}

export interface CancelResult {
  run: string;
  host: string;
  /** SLURM job ids that were queued or running and got scancel. */
  cancelled: string[];
  /** Every job id the run ever submitted. */
  jobIds: string[];
}

/** `pipeline cancel RUN`: scancel every job of the run that has not ended (idempotent). */
export async function cancelRun(ctx: RunContext, name: string): Promise<CancelResult> {
  await readRecord(ctx, name);
  const runDir = runDirOf(ctx.root, name);
  const all = (await readSubmissions(ctx.runner, runDir)).flatMap((s) =>
    s.jobs.map((j) => j.jobId),
  );
  if (!ctx.slurm) {
    throw new UsageError(`pipeline cancel: run ${JSON.stringify(name)} is not on a SLURM host`, {
      hint: 'a run on the local process pool stops with Ctrl-C; cancel needs --host of a SLURM host',
    });
  }
  const live = await liveJobs(ctx, runDir);
  if (live.length > 0) {
    const r = await ctx.runner.run(['scancel', ...live], { timeoutMs: 60_000 });
    const text = `${r.stderr}\n${r.stdout}`;
    const benign = /already completing or completed|Invalid job id specified/i;
    const bad = text.split('\n').filter((l) => /error/i.test(l) && !benign.test(l));
    if ((r.exitCode !== 0 && bad.length > 0) || r.timedOut) {
      throw new RemoteError(`scancel failed on ${ctx.runner.host}: ${bad[0] ?? r.stderr.trim()}`, {
        code: 'E_SCANCEL',
        hint: 'check that the jobs are yours: berth pipeline status shows them',
      });
    }
  }
  return { run: name, host: ctx.runner.host, cancelled: live, jobIds: all };
}

export interface RunListEntry {
  name: string;
  created: string;
  host: string;
  specFile: string;
}

/** `pipeline list`: the runs under the root, oldest first (one round trip). */
export async function listRuns(ctx: Pick<RunContext, 'root' | 'runner'>): Promise<RunListEntry[]> {
  const records = await readAllRecords(ctx.runner, ctx.root);
  return records
    .map((r) => ({ name: r.name, created: r.created, host: r.host, specFile: r.specFile }))
    .sort((a, b) => a.created.localeCompare(b.created));
}

async function execute(
  ctx: RunContext,
  spec: PipelineSpec,
  name: string,
  runDir: string,
  plan: Plan,
): Promise<ExecuteResult> {
  if (!ctx.slurm) {
    const outcome = await runLocal({
      runner: ctx.runner,
      runDir,
      runName: name,
      spec,
      plan,
      ...(ctx.concurrency ? { concurrency: ctx.concurrency } : {}),
      ...(ctx.onTask ? { onTask: ctx.onTask } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    return result(ctx, name, runDir, plan, { dryRun: false, outcome });
  }
  const s = await runSlurm({
    runner: ctx.runner,
    target: ctx.slurm,
    runDir,
    runName: name,
    spec,
    plan,
    wait: ctx.wait !== false,
    ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
  });
  const base = { dryRun: false, submitted: s.submitted };
  if (!s.waited) return result(ctx, name, runDir, plan, base);
  // What the jobs left behind decides: the markers, read again.
  const after = await readMarkers(ctx.runner, runDir);
  const rest = planPipeline(spec, after, await planOpts(ctx));
  const left = new Map(rest.units.map((u) => [u.key, u]));
  const units: UnitResult[] = s.submitted.map((sub) => {
    const ran = plan.units.find((u) => u.key === sub.unit)?.run ?? [];
    const still = new Set(left.get(sub.unit)?.run ?? []);
    const failed = ran
      .filter((t) => still.has(t))
      .map((task) => ({
        task,
        exitCode: after.get(markerKey(sub.stage, sub.step, task))?.failed?.exitCode ?? null,
      }));
    return {
      unit: sub.unit,
      ran,
      failed,
      durationMs: Date.parse(sub.submittedAt) ? Date.now() - Date.parse(sub.submittedAt) : 0,
    };
  });
  const outcome: LocalOutcome = {
    ok: rest.tasksToRun === 0,
    units,
    notStarted: [],
    tasksRun: units.reduce((n, u) => n + u.ran.length - u.failed.length, 0),
  };
  return result(ctx, name, runDir, plan, { ...base, outcome, markerRoundTrips: 2 });
}

async function planOpts(ctx: RunContext): Promise<{ maxArraySize?: number }> {
  if (ctx.maxArraySize) return { maxArraySize: ctx.maxArraySize };
  // On SLURM the plan's chunks are the ones submitted: cut at the site's MaxArraySize.
  if (ctx.slurm) return { maxArraySize: (await siteOf(ctx.runner)).maxArraySize };
  return {};
}

/** The site's facts; a busy slurmctld (scontrol timing out) is asked again, twice. */
async function siteOf(runner: Runner, attempts = 3) {
  for (let i = 1; ; i++) {
    try {
      return await readSite(runner);
    } catch (e) {
      if (i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 2000 * i));
    }
  }
}

function pick(fromStep: number | undefined): { fromStep?: number } {
  return fromStep === undefined ? {} : { fromStep };
}
