/**
 * The one job list: `berth jobs` (every job the store knows, monitored runs included) and
 * `berth job list` (the jobs berth submitted to a scheduler) run the same query and print
 * the same table (src/cli/job-list.ts). Only their `--json` differs, and stays as it was:
 * store records for `jobs`, JobViews for `job list`.
 */
import type { Kysely } from 'kysely';
import { type StateKind, TERMINAL_KINDS } from '../core/states.js';
import { type Database, type JobRecord, listJobs as listStored } from '../store/index.js';

export interface JobListFilter {
  /** State names, comma-separated or a list; `live` and `ended` stand for their groups. */
  state?: string | readonly string[];
  host?: string;
  /** Only jobs updated at or after this epoch ms. */
  since?: number;
  /** Default 100. */
  limit?: number;
  /** Only jobs submitted to a scheduler (slurm, none): what `berth job list` shows. */
  dispatched?: boolean;
}

export const LIVE_KINDS: readonly StateKind[] = [
  'pending',
  'running',
  'suspended',
  'completing',
  'unknown',
];

/** `running,failed` / `live` / `ended` → state names; undefined: every state. Pure. */
export function stateNames(state: JobListFilter['state']): string[] | undefined {
  if (state === undefined) return undefined;
  const words = (typeof state === 'string' ? [state] : [...state])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  const names = words.flatMap((w) =>
    w === 'live' ? [...LIVE_KINDS] : w === 'ended' ? [...TERMINAL_KINDS] : [w],
  );
  return [...new Set(names)];
}

/** The query: most recently updated first. */
export function listJobRecords(db: Kysely<Database>, f: JobListFilter = {}): Promise<JobRecord[]> {
  const state = stateNames(f.state);
  return listStored(db, {
    limit: f.limit ?? 100,
    ...(state === undefined ? {} : { state }),
    ...(f.host === undefined ? {} : { host: f.host }),
    ...(f.since === undefined ? {} : { since: f.since }),
    ...(f.dispatched ? { scheduler: ['slurm', 'none'] } : {}),
  });
}
