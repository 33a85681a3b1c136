/**
 * `berth jobs` and `berth job list`: one set of options, one query (listJobRecords in
 * src/dispatch/list.ts) and one table (renderJobList, pure). `jobs --json` prints store
 * records (every job, monitored runs included), `job list --json` JobViews of the jobs
 * berth submitted to a scheduler; both as they always did.
 */
import type { Command } from '@commander-js/extra-typings';
import { NotFoundError, UsageError } from '../core/errors.js';
import type { JobState } from '../core/states.js';
import type { StoredExtra } from '../dispatch/jobs.js';
import { formatDuration, formatTime } from '../monitor/timeline.js';
import type { JobRecord } from '../store/index.js';
import type { CliContext } from './context.js';
import { emit, type GlobalFlags } from './output.js';
import { renderTable } from './table.js';

export interface ListFlags {
  state?: string;
  since?: string;
  host?: string;
  limit: string;
}

/** The options both commands take. */
export function listOptions<C extends Command<unknown[], Record<string, unknown>>>(cmd: C): C {
  return cmd
    .option(
      '--state <states>',
      'only these states, comma-separated: pending, running, completed, failed, …, live, ended',
    )
    .option('--since <when>', 'only jobs updated since a time (ISO) or a duration back (2h, 1d)')
    .option('--host <name>', 'only jobs on this host')
    .option('--limit <n>', 'at most this many jobs', '100') as unknown as C;
}

/**
 * List jobs: `records` (every job, the store's records as JSON) for `berth jobs`, `views`
 * (jobs berth submitted, JobViews as JSON) for `berth job list`. The same text table.
 */
export async function listCommand(
  ctx: CliContext,
  flags: GlobalFlags,
  opts: ListFlags,
  form: 'records' | 'views',
): Promise<number> {
  const limit = Number(opts.limit);
  if (!/^\d+$/.test(opts.limit) || limit < 1) {
    throw new UsageError(
      `--limit expects a positive whole number, got ${JSON.stringify(opts.limit)}`,
      {
        hint: 'for example --limit 50',
      },
    );
  }
  if (opts.host !== undefined) (await import('../core/names.js')).validateName('host', opts.host);
  const { parseSince } = await import('./events.js');
  const since = opts.since === undefined ? undefined : await parseSince(opts.since);
  const { listJobRecords } = await import('../dispatch/list.js');
  const { withStore } = await import('./store.js');
  const records = await withStore(ctx, (store) =>
    listJobRecords(store.db, {
      limit,
      dispatched: form === 'views',
      ...(opts.state === undefined ? {} : { state: opts.state }),
      ...(opts.host === undefined ? {} : { host: opts.host }),
      ...(since === undefined ? {} : { since }),
    }),
  );
  const { viewOf } = await import('../dispatch/jobs.js');
  const value = form === 'views' ? records.map(viewOf) : records;
  emit(ctx.io, flags, value, () => renderJobList(records));
  return 0;
}

/** A job's timeline: its store row and every event (`berth jobs show`, `berth job show`). */
export async function showCommand(
  ctx: CliContext,
  flags: GlobalFlags,
  key: string,
): Promise<number> {
  const { getJob, listEvents } = await import('../store/index.js');
  const { renderTimeline } = await import('../monitor/timeline.js');
  const { withStore } = await import('./store.js');
  const found = await withStore(ctx, async (store) => ({
    job: (await getJob(store.db, key)) ?? null,
    events: await listEvents(store.db, { jobKey: key, limit: 100_000 }),
  }));
  if (!found.job && found.events.length === 0) {
    throw new NotFoundError(`no job ${JSON.stringify(key)} in the store`, {
      hint: 'berth jobs lists the jobs the monitor knows; berth events flush delivers waiting events',
    });
  }
  emit(ctx.io, flags, found, (f) => renderTimeline(f.job, f.events));
  return 0;
}

export const JOB_LIST_HEADER = [
  'KEY',
  'NAME',
  'STATE',
  'EXIT',
  'REASON',
  'TASKS',
  'STARTED',
  'TOOK',
  'COMMAND',
];

/** The table of both commands. Pure. */
export function renderJobList(records: readonly JobRecord[]): string {
  if (records.length === 0) return 'no jobs';
  return renderTable(
    JOB_LIST_HEADER,
    records.map((r) => [
      r.key,
      r.name ?? '-',
      stateOf(r),
      exitOf(r),
      r.reason ?? '-',
      tasksOf(r),
      r.startedAt ? formatTime(r.startedAt).slice(0, 19) : '-',
      r.startedAt && r.endedAt ? formatDuration(r.endedAt - r.startedAt) : '-',
      (r.command ?? '-').replace(/\s*\n\s*/g, ' ').slice(0, 60),
    ]),
  );
}

const extraOf = (r: JobRecord) => r.extra as StoredExtra;

/** The watcher's state (nodes, pending reason) when dispatch observed the job, else the row's. */
function stateOf(r: JobRecord): string {
  const s = extraOf(r).watch?.state;
  return s ? stateText(s) : r.state;
}

/** A state in one short phrase (its data that fits: reason, nodes, who cancelled). */
export function stateText(s: JobState): string {
  switch (s.kind) {
    case 'pending':
      return s.reason ? `pending (${s.reason})` : 'pending';
    case 'running':
      return s.nodes.length ? `running on ${s.nodes.join(',')}` : 'running';
    case 'lost':
    case 'unknown':
      return `${s.kind} (${s.reason})`;
    case 'cancelled':
      return s.by ? `cancelled by ${s.by}` : 'cancelled';
    default:
      return s.kind;
  }
}

function exitOf(r: JobRecord): string {
  if (r.signal) return `signal ${r.signal}`;
  return r.exitCode === null ? '-' : String(r.exitCode);
}

function tasksOf(r: JobRecord): string {
  const x = extraOf(r);
  const tasks = x.watch?.tasks;
  if (!tasks) return x.taskCount ? `${x.taskCount} tasks` : '-';
  const parts = Object.entries(tasks)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`);
  return `${parts.join(', ')}${x.taskCount ? ` of ${x.taskCount}` : ''}`;
}
