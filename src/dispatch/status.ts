/**
 * jobStatus: ask the scheduler now (ONE observe per host for every job asked there) and
 * record what it said. listJobs: what the store knows, no remote call.
 */
import { hintFromExtra, type ObserveHint } from '../scheduler/contract.js';
import { listJobs as listStored } from '../store/index.js';
import {
  type JobRef,
  type JobView,
  observedView,
  recordObservation,
  resolveRef,
  schedulerIdOf,
  viewOf,
} from './jobs.js';
import { type JobListFilter, listJobRecords } from './list.js';
import type { Dispatch } from './session.js';

export interface StatusOptions {
  /** Host for ids given without `host:`. */
  host?: string;
}

/** The live jobs berth knows (no ids given): every stored job not yet ended. */
async function liveRefs(d: Dispatch, host?: string): Promise<string[]> {
  const db = (await d.store()).db;
  const live = ['pending', 'running', 'suspended', 'completing', 'unknown', 'lost'];
  const rows = await listStored(db, { state: live, limit: 1000, ...(host ? { host } : {}) });
  return rows.map((r) => r.key);
}

export async function jobStatus(
  d: Dispatch,
  ids: readonly string[],
  opts: StatusOptions = {},
): Promise<JobView[]> {
  const texts = ids.length ? [...ids] : await liveRefs(d, opts.host);
  const refs: JobRef[] = [];
  for (const t of texts) refs.push(await resolveRef(d, t, opts.host));
  const byHost = new Map<string, JobRef[]>();
  for (const ref of refs) byHost.set(ref.host.name, [...(byHost.get(ref.host.name) ?? []), ref]);
  const views = new Map<JobRef, JobView>();
  await Promise.all(
    [...byHost.values()].map(async (list) => {
      const scheduler = list[0]!.host.scheduler;
      const hints = new Map<string, ObserveHint>();
      for (const ref of list) {
        const hint = ref.task === undefined ? hintFromExtra(ref.record?.extra) : undefined;
        if (hint) hints.set(schedulerIdOf(ref), hint);
      }
      const observed = await scheduler.observe(list.map(schedulerIdOf), hints);
      for (const ref of list) {
        const obs = observed.get(schedulerIdOf(ref));
        if (!obs) continue;
        const state = await recordObservation(d, ref, obs);
        views.set(ref, observedView(ref, obs, state));
      }
    }),
  );
  return refs.map((r) => views.get(r)).filter((v): v is JobView => v !== undefined);
}

export type ListOptions = Omit<JobListFilter, 'dispatched'>;

/** Jobs berth submitted, newest first; `state: 'live'` / `'ended'` select by terminal or not. */
export async function listJobs(d: Dispatch, opts: ListOptions = {}): Promise<JobView[]> {
  const rows = await listJobRecords((await d.store()).db, { ...opts, dispatched: true });
  return rows.map(viewOf);
}
