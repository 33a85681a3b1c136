/**
 * waitJobs: wait until every given job has ended, through the ONE status watcher of each
 * host (scheduler/watcher.ts: batched observe, back-off, cached ends, unknown on failed
 * queries), and say which exit code sums them up (`waitExitCode`, docs/dispatch.md).
 */

import type { JobState } from '../core/states.js';
import type { Observation } from '../scheduler/contract.js';
import { hintFromExtra } from '../scheduler/contract.js';
import type { HostWatcher } from '../scheduler/watcher.js';
import { trackOptionsOf } from '../scheduler/watcher-store.js';
import { getJob } from '../store/index.js';
import {
  type JobRef,
  type JobView,
  observedView,
  resolveRef,
  schedulerIdOf,
  viewOf,
} from './jobs.js';
import type { Dispatch } from './session.js';
import { hostWatcher } from './watch.js';

export interface WaitJobsOptions {
  host?: string;
  /** Called whenever a job's state (or an array's task counts) changes. */
  onChange?: (view: JobView) => void;
  signal?: AbortSignal;
}

export interface WaitResult {
  jobs: JobView[];
  /** 0 when every job completed, else the first failure's code (see waitExitCode). */
  exitCode: number;
}

/**
 * The exit code `job wait` gives for an ended job: 0 completed; N for exit N; 128+N for
 * signal N; 124 timeout; 137 out of memory; 143 cancelled; 4 node failure, preemption or
 * lost; 1 a failure without an exit code.
 */
export function stateExitCode(state: JobState): number {
  switch (state.kind) {
    case 'completed':
      return 0;
    case 'failed':
      if (state.signal) return 128 + state.signal;
      return state.exitCode && state.exitCode > 0 ? state.exitCode : 1;
    case 'timeout':
      return 124;
    case 'out_of_memory':
      return 137;
    case 'cancelled':
      return 143;
    default:
      return 4;
  }
}

/** 0 when all completed, else the code of the first job (in the order given) that did not. */
export function waitExitCode(states: readonly JobState[]): number {
  for (const s of states) {
    const code = stateExitCode(s);
    if (code !== 0) return code;
  }
  return 0;
}

export async function waitJobs(
  d: Dispatch,
  ids: readonly string[],
  opts: WaitJobsOptions = {},
): Promise<WaitResult> {
  const db = (await d.store()).db;
  const refs: JobRef[] = [];
  for (const t of ids) refs.push(await resolveRef(d, t, opts.host));
  const last = new Map<string, Observation>();
  const byHost = new Map<string, { watcher: HostWatcher; refs: JobRef[] }>();
  for (const ref of refs) {
    const watcher = await hostWatcher(d, ref.host);
    const sid = schedulerIdOf(ref);
    const whole = ref.task === undefined && ref.step === undefined;
    if (whole && ref.record) watcher.track(sid, trackOptionsOf(ref.record));
    else {
      const hint = whole ? hintFromExtra(ref.record?.extra) : undefined;
      watcher.track(sid, hint ? { hint } : {});
    }
    const entry = byHost.get(ref.host.name) ?? { watcher, refs: [] };
    entry.refs.push(ref);
    byHost.set(ref.host.name, entry);
  }
  const unsubscribe: Array<() => void> = [];
  for (const { watcher, refs: list } of byHost.values()) {
    const mine = new Map(list.map((r) => [schedulerIdOf(r), r]));
    unsubscribe.push(
      watcher.onChange((jobId, _prev, next, obs) => {
        const ref = mine.get(jobId);
        if (!ref) return;
        last.set(jobId, obs);
        opts.onChange?.(observedView(ref, obs, next));
      }),
    );
  }
  try {
    const states = new Map<JobRef, JobState>();
    await Promise.all(
      [...byHost.values()].map(async ({ watcher, refs: list }) => {
        const got = await watcher.waitFor(
          list.map(schedulerIdOf),
          opts.signal ? { signal: opts.signal } : {},
        );
        for (const ref of list) states.set(ref, got.get(schedulerIdOf(ref))!);
      }),
    );
    const jobs: JobView[] = [];
    for (const ref of refs) {
      const state = states.get(ref)!;
      const whole = ref.task === undefined && ref.step === undefined;
      const record = ref.record ? await getJob(db, ref.record.key) : undefined;
      const obs = last.get(schedulerIdOf(ref));
      if (whole && record) jobs.push({ ...viewOf(record), state });
      else if (obs) jobs.push(observedView(ref, obs, state));
      else
        jobs.push(
          observedView(
            ref,
            { jobId: ref.jobId, state, source: 'squeue', observedAt: Date.now() },
            state,
          ),
        );
    }
    return { jobs, exitCode: waitExitCode(jobs.map((j) => j.state)) };
  } finally {
    for (const off of unsubscribe) off();
  }
}
