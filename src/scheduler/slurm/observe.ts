/**
 * Observing many SLURM jobs in as few round trips as possible:
 *
 *   1. ONE `squeue --states=all --jobs=…` for every asked job (finished jobs stay in it for
 *      MinJobAge, with their final state but no exit code);
 *   2. ONE `sacct --allocations --jobs=…` for the jobs squeue no longer shows, the ones it
 *      shows as ended (for the exit code) and arrays it may not show whole — when the site
 *      has accounting;
 *   3. without accounting, ONE shell loop of `scontrol -o show job ID` for the jobs squeue
 *      shows as ended (exit codes); a job gone from squeue is then `lost` with the reason
 *      "left the queue and accounting is off".
 *
 * A query that fails (non-zero exit, timeout, host unreachable) makes every job that needed
 * it `unknown` with the reason — never gone. `decide()` is pure and does the merging.
 */
import { type JobId, parseJobId } from '../../core/jobid.js';
import { fromSlurmState, isTerminal, type JobState } from '../../core/states.js';
import { quote } from '../../transport/quote.js';
import type { Runner } from '../../transport/runner.js';
import type { Observation, ObserveHint } from '../contract.js';
import { aggregateTasks, countTasks, type TaskState } from './aggregate.js';
import {
  parseSacct,
  parseSqueue,
  type SacctRow,
  SLURM_TIME_ENV,
  type SqueueRow,
  sacctArgs,
  squeueArgs,
} from './parse.js';
import { parseSlurmTime } from './parse-fields.js';
import { parseScontrolShowJob } from './parse-scontrol.js';
import { firstLine } from './site.js';

/** One asked job: its logical id and the SLURM ids it stands for. */
export interface Target {
  jobId: string;
  ids: JobId[];
  taskCount?: number;
}

/** A row of any source, reduced to what the merge needs. */
export interface Seen {
  /** `85_3` for an array task, `84` for a job. */
  key: string;
  jobId: number;
  taskId: number | null;
  state: JobState;
}

export type QueryOutcome = { ok: true; stdout: string } | { ok: false; reason: string };

export interface ObserveOptions {
  accounting: boolean;
  timeoutMs: number;
  now?: () => number;
}

/** Parse the asked ids (and hints) into targets; a malformed id is reported, not thrown. */
export function targetsOf(
  jobIds: readonly string[],
  hints: ReadonlyMap<string, ObserveHint> | undefined,
): { targets: Target[]; bad: Map<string, string> } {
  const targets: Target[] = [];
  const bad = new Map<string, string>();
  for (const jobId of new Set(jobIds)) {
    const hint = hints?.get(jobId);
    try {
      const ids = (hint?.schedulerIds?.length ? hint.schedulerIds : [jobId]).map((t) =>
        withoutStep(parseJobId(t)),
      );
      targets.push({
        jobId,
        ids,
        ...(hint?.taskCount === undefined ? {} : { taskCount: hint.taskCount }),
      });
    } catch (e) {
      bad.set(jobId, (e as Error).message);
    }
  }
  return { targets, bad };
}

// A step is observed through its job: the step's own end is not a job state.
function withoutStep(id: JobId): JobId {
  if (id.kind === 'array_range') return id;
  const { step: _step, ...rest } = id;
  return rest as JobId;
}

/** The id list for `--jobs=` (array tasks as `85_3`, jobs and whole arrays as `85`). */
export function queryIds(targets: readonly Target[]): string[] {
  const out = new Set<string>();
  for (const t of targets) {
    for (const id of t.ids) {
      out.add(id.kind === 'array_task' ? `${id.jobId}_${id.taskId}` : String(id.jobId));
    }
  }
  return [...out];
}

export function seenFromSqueue(rows: readonly SqueueRow[]): Seen[] {
  return rows.flatMap((r) => seenOf(r.id, r.state));
}

export function seenFromSacct(rows: readonly SacctRow[]): Seen[] {
  return rows.flatMap((r) => seenOf(r.id, normaliseSignal(r.state)));
}

/** scontrol records (`JobId`, `ArrayJobId`, `ArrayTaskId`, `JobState`, `ExitCode`, …). */
export function seenFromScontrol(records: ReadonlyArray<Record<string, string>>): Seen[] {
  const out: Seen[] = [];
  for (const r of records) {
    if (!r.JobId || !r.JobState) continue;
    const extra = {
      reason: r.Reason ?? null,
      exitCode: r.ExitCode ?? null,
      startedAt: parseSlurmTime(r.StartTime ?? ''),
      endedAt: parseSlurmTime(r.EndTime ?? ''),
    };
    const state = normaliseSignal(fromSlurmState(r.JobState, extra));
    const array = r.ArrayJobId && /^\d+$/.test(r.ArrayJobId) ? r.ArrayJobId : undefined;
    const text = array && r.ArrayTaskId ? `${array}_${taskText(r.ArrayTaskId)}` : r.JobId;
    try {
      out.push(...seenOf(parseJobId(text), state));
    } catch {
      // a record whose ids do not parse is skipped, like any other noise
    }
  }
  return out;
}

function taskText(t: string): string {
  return /^\d+$/.test(t) ? t : `[${t}]`;
}

function seenOf(id: JobId, state: JobState): Seen[] {
  switch (id.kind) {
    case 'array_task':
      return [{ key: `${id.jobId}_${id.taskId}`, jobId: id.jobId, taskId: id.taskId, state }];
    case 'array_range':
      return id.tasks.indices.map((taskId) => ({
        key: `${id.jobId}_${taskId}`,
        jobId: id.jobId,
        taskId,
        state,
      }));
    case 'het':
      return id.hetOffset === 0
        ? [{ key: String(id.jobId), jobId: id.jobId, taskId: null, state }]
        : [];
    case 'job':
      return id.step ? [] : [{ key: String(id.jobId), jobId: id.jobId, taskId: null, state }];
  }
}

/** SLURM reports a death by signal as exit code 0 with the signal (`0:9`): no exit code then. */
function normaliseSignal(state: JobState): JobState {
  if (state.kind === 'failed' && state.signal && state.exitCode === 0) {
    return { ...state, exitCode: null };
  }
  return state;
}

/** The rows of one target, by task key. */
function rowsOf(target: Target, seen: readonly Seen[]): Map<string, Seen> {
  const out = new Map<string, Seen>();
  for (const s of seen) {
    const match = target.ids.some((id) =>
      id.kind === 'array_task'
        ? s.jobId === id.jobId && s.taskId === id.taskId
        : s.jobId === id.jobId,
    );
    if (match) out.set(s.key, s);
  }
  return out;
}

/** Which targets need the accounting (or scontrol) query after squeue. */
export function needsMore(target: Target, fromQueue: ReadonlyMap<string, Seen>): boolean {
  if (fromQueue.size === 0) return true;
  const rows = [...fromQueue.values()];
  if (rows.some((r) => isTerminal(r.state))) return true;
  const isArray = rows.some((r) => r.taskId !== null) || target.taskCount !== undefined;
  if (!isArray) return false;
  // Finished tasks leave squeue after MinJobAge: only sacct still knows them.
  return target.taskCount === undefined || fromQueue.size < target.taskCount;
}

export interface Sources {
  squeue: QueryOutcome;
  /**
   * The follow-up queries, in order: sacct (or scontrol without accounting), then possibly
   * scontrol again for exit codes slurmdbd has not recorded yet. Absent: nothing needed them.
   */
  more?: Array<{ kind: 'sacct' | 'scontrol'; outcome: QueryOutcome }>;
  accounting: boolean;
}

/** How much an ended state says: an exit code or signal beats a bare end. */
function detail(state: JobState): number {
  if (!isTerminal(state)) return 0;
  if (state.kind === 'failed') return state.exitCode !== null || state.signal ? 2 : 1;
  return 2;
}

/** Merge what the queries said into one observation per target. Pure. */
export function decide(
  targets: readonly Target[],
  sources: Sources,
  now: number,
): Map<string, Observation> {
  const result = new Map<string, Observation>();
  const unknown = (t: Target, reason: string): void => {
    result.set(t.jobId, {
      jobId: t.jobId,
      state: { kind: 'unknown', reason, since: now },
      source: 'error',
      observedAt: now,
    });
  };
  if (!sources.squeue.ok) {
    for (const t of targets) unknown(t, sources.squeue.reason);
    return result;
  }
  const queue = seenFromSqueue(parseSqueue(sources.squeue.stdout));
  const more = sources.more ?? [];
  const extras = more.map((m) => ({
    kind: m.kind,
    seen: !m.outcome.ok
      ? undefined
      : m.kind === 'sacct'
        ? seenFromSacct(parseSacct(m.outcome.stdout))
        : seenFromScontrol(parseScontrolShowJob(m.outcome.stdout)),
  }));
  const first = more[0];
  for (const t of targets) {
    const fromQueue = rowsOf(t, queue);
    const asked = needsMore(t, fromQueue);
    if (asked && first && !first.outcome.ok && fromQueue.size === 0) {
      unknown(t, first.outcome.reason);
      continue;
    }
    const merged = new Map(fromQueue);
    let source: Observation['source'] = 'squeue';
    for (const extra of asked ? extras : []) {
      for (const [key, s] of rowsOf(t, extra.seen ?? [])) {
        const q = merged.get(key);
        // squeue is fresher for live tasks; accounting and scontrol add exit codes to ended ones.
        if (
          !q ||
          (isTerminal(q.state) && isTerminal(s.state) && detail(s.state) >= detail(q.state))
        ) {
          merged.set(key, s);
          source = extra.kind;
        }
      }
    }
    if (merged.size === 0) {
      const reason = sources.accounting
        ? 'not in the queue and sacct has no record of it'
        : 'left the queue and accounting is off';
      result.set(t.jobId, {
        jobId: t.jobId,
        state: { kind: 'lost', reason, since: now },
        source: sources.accounting ? 'sacct' : 'squeue',
        observedAt: now,
      });
      continue;
    }
    result.set(t.jobId, observation(t, merged, source, now));
  }
  return result;
}

/** An ended job whose exit code nobody has told yet (slurmdbd lags slurmctld by seconds). */
export function lacksExitCode(obs: Observation | undefined): boolean {
  return obs?.state.kind === 'failed' && obs.state.exitCode === null && !obs.state.signal;
}

function observation(
  t: Target,
  merged: ReadonlyMap<string, Seen>,
  source: Observation['source'],
  now: number,
): Observation {
  const all = [...merged.values()];
  const isArray =
    t.ids.every((id) => id.kind !== 'array_task') && all.some((r) => r.taskId !== null);
  if (!isArray) return { jobId: t.jobId, state: all[0]!.state, source, observedAt: now };
  // While SLURM expands an array, its record may also show up under the bare job id.
  const rows = all.filter((r) => r.taskId !== null);
  // Order tasks by chunk (scheduler id order), then by SLURM index: the logical order.
  const chunkOf = new Map(t.ids.map((id, i) => [id.jobId, i]));
  const tasks: TaskState[] = rows.map((r) => ({
    index: (chunkOf.get(r.jobId) ?? 0) * 1e9 + (r.taskId ?? 0),
    state: r.state,
  }));
  return {
    jobId: t.jobId,
    state: aggregateTasks(tasks),
    source,
    observedAt: now,
    tasks: countTasks(tasks),
  };
}

/** Run one query; a failure of any kind becomes a reason, never an exception. */
export async function runQuery(
  runner: Runner,
  what: string,
  run: () => ReturnType<Runner['run']>,
  timeoutMs: number,
): Promise<QueryOutcome> {
  try {
    const r = await run();
    if (r.timedOut) return { ok: false, reason: `${what} timed out after ${timeoutMs} ms` };
    // squeue exits 1 when the only job asked about is unknown: that is an answer.
    if (r.exitCode !== 0 && /Invalid job id specified/i.test(r.stderr)) {
      return { ok: true, stdout: r.stdout };
    }
    if (r.exitCode !== 0) {
      const how = r.exitCode === null ? `died by ${r.signal}` : `exit ${r.exitCode}`;
      return {
        ok: false,
        reason: `${what} failed on ${runner.host} (${how}): ${firstLine(r.stderr)}`,
      };
    }
    return { ok: true, stdout: r.stdout };
  } catch (e) {
    return { ok: false, reason: `${what} failed on ${runner.host}: ${(e as Error).message}` };
  }
}

/** One round trip of `scontrol -o show job ID` per id (what slurmctld still holds). */
async function scontrolJobs(
  runner: Runner,
  ids: readonly string[],
  runOpts: { env: Record<string, string>; timeoutMs: number },
): Promise<{ kind: 'scontrol'; outcome: QueryOutcome }> {
  const script = ids.map((id) => `scontrol -o show job ${quote(id)} 2>/dev/null`).join('\n');
  const outcome = await runQuery(
    runner,
    'scontrol show job',
    () => runner.sh(`${script}\ntrue`, runOpts),
    runOpts.timeoutMs,
  );
  return { kind: 'scontrol', outcome };
}

/** observe(): the queries, then decide(). */
export async function observeJobs(
  runner: Runner,
  jobIds: readonly string[],
  hints: ReadonlyMap<string, ObserveHint> | undefined,
  opts: ObserveOptions,
): Promise<Map<string, Observation>> {
  const now = opts.now ?? Date.now;
  const { targets, bad } = targetsOf(jobIds, hints);
  const runOpts = { env: { ...SLURM_TIME_ENV }, timeoutMs: opts.timeoutMs };
  let result = new Map<string, Observation>();
  if (targets.length > 0) {
    const squeue = await runQuery(
      runner,
      'squeue',
      () => runner.run(squeueArgs({ jobs: queryIds(targets), allStates: true }), runOpts),
      opts.timeoutMs,
    );
    const sources: Sources = { squeue, accounting: opts.accounting, more: [] };
    if (squeue.ok) {
      const queue = seenFromSqueue(parseSqueue(squeue.stdout));
      const more = targets.filter((t) => needsMore(t, rowsOf(t, queue)));
      const ids = queryIds(more);
      if (ids.length > 0 && opts.accounting) {
        const outcome = await runQuery(
          runner,
          'sacct',
          () => runner.run(sacctArgs({ jobs: ids, allocationsOnly: true }), runOpts),
          opts.timeoutMs,
        );
        sources.more!.push({ kind: 'sacct', outcome });
      } else if (ids.length > 0) {
        const ended = more.filter((t) => rowsOf(t, queue).size > 0);
        if (ended.length) sources.more!.push(await scontrolJobs(runner, queryIds(ended), runOpts));
      }
    }
    result = decide(targets, sources, now());
    const lacking = targets.filter((t) => lacksExitCode(result.get(t.jobId)));
    if (opts.accounting && lacking.length > 0) {
      sources.more!.push(await scontrolJobs(runner, queryIds(lacking), runOpts));
      result = decide(targets, sources, now());
    }
  }
  for (const [jobId, message] of bad) {
    const at = now();
    result.set(jobId, {
      jobId,
      state: { kind: 'unknown', reason: message, since: at },
      source: 'error',
      observedAt: at,
    });
  }
  return result;
}
