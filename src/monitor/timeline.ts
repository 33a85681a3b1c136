/**
 * A job's story as text: a header from the job row and one line per event, with offsets
 * from the first event and the time spent paused. Pure (the time zone is a parameter).
 *
 *   job cluster:42  cancelled (exit 143, SIGTERM)
 *   host berth  node n1  user alice  slurm 42 (partition debug)
 *   command sleep 60
 *
 *   2026-11-23 19:14:02.708  +0.0s   RUNNING      pid 4121
 *   2026-11-23 19:14:05.120  +2.4s   PAUSED       SIGTSTP
 */
import type { JobInput } from '../store/index.js';
import type { MonitorEvent } from './events.js';

type TimelineEvent = Pick<MonitorEvent, 'id' | 'at' | 'data'> & { type: string };

export interface TimelineOptions {
  /** 'UTC' or 'local' (default). */
  timeZone?: 'UTC' | 'local';
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function formatTime(ms: number, tz: 'UTC' | 'local' = 'local'): string {
  const d = new Date(ms);
  const u = tz === 'UTC';
  const [y, mo, da] = u
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate()];
  const [h, mi, s] = u
    ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getHours(), d.getMinutes(), d.getSeconds()];
  return `${y}-${pad(mo)}-${pad(da)} ${pad(h)}:${pad(mi)}:${pad(s)}.${pad(d.getUTCMilliseconds(), 3)}`;
}

/** 950 → 0.9s, 61_000 → 1m01s, 3_700_000 → 1h01m40s. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${pad(m)}m${pad(s % 60)}s` : `${m}m${pad(s % 60)}s`;
}

/** The details of one event in a few words (`exit 143, SIGTERM, reason cancelled`). */
export function describeEvent(e: TimelineEvent): string {
  const d = e.data;
  const parts: string[] = [];
  const str = (k: string) => (typeof d[k] === 'string' ? (d[k] as string) : null);
  const num = (k: string) => (typeof d[k] === 'number' ? (d[k] as number) : null);
  switch (e.type) {
    case 'RUNNING':
      if (num('pid') !== null) parts.push(`pid ${num('pid')}`);
      break;
    case 'PAUSED':
    case 'RESUMED':
      if (str('signal')) parts.push(str('signal')!);
      else if (str('source')) parts.push(`(${str('source')!.replace('_', ' ')})`);
      if (num('pausedMs') !== null) parts.push(`after ${formatDuration(num('pausedMs')!)} paused`);
      break;
    case 'TERMINATING':
      if (str('signal')) parts.push(str('signal')!);
      if (num('graceSeconds') !== null) parts.push(`grace ${num('graceSeconds')}s`);
      break;
    case 'COMPLETED':
    case 'FAILED':
      if (num('exitCode') !== null) parts.push(`exit ${num('exitCode')}`);
      if (str('signal')) parts.push(str('signal')!);
      if (str('reason')) parts.push(`reason ${str('reason')}`);
      if (str('slurmState')) parts.push(`slurm ${str('slurmState')}`);
      if (num('killedAfterGraceSeconds') !== null) {
        parts.push(`killed after ${num('killedAfterGraceSeconds')}s grace`);
      }
      if (str('error')) parts.push(str('error')!);
      break;
    case 'HEARTBEAT':
      if (str('childState')) parts.push(`state ${str('childState')}`);
      break;
  }
  return parts.join(', ');
}

function header(job: JobInput | null | undefined, events: readonly TimelineEvent[]): string[] {
  const key = job?.key ?? (events[0] as { jobKey?: string } | undefined)?.jobKey ?? '?';
  if (!job) return [`job ${key}`];
  const outcome: string[] = [];
  if (job.exitCode !== null && job.exitCode !== undefined) outcome.push(`exit ${job.exitCode}`);
  if (job.signal) outcome.push(job.signal);
  if (job.reason && job.reason !== job.state) outcome.push(job.reason);
  const lines = [`job ${key}  ${job.state}${outcome.length ? ` (${outcome.join(', ')})` : ''}`];
  const where: string[] = [`host ${job.host}`];
  const node = job.extra?.node;
  if (typeof node === 'string') where.push(`node ${node}`);
  if (job.user) where.push(`user ${job.user}`);
  if (job.schedulerId) {
    where.push(`${job.scheduler} ${job.schedulerId}${job.name ? ` (${job.name})` : ''}`);
  }
  lines.push(where.join('  '));
  if (job.command) lines.push(`command ${job.command}`);
  return lines;
}

/** The timeline text for a job (or null when only events are known) and its events. */
export function renderTimeline(
  job: JobInput | null | undefined,
  events: readonly TimelineEvent[],
  opts: TimelineOptions = {},
): string {
  const tz = opts.timeZone ?? 'local';
  const sorted = [...events].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
  const lines = header(job, sorted);
  if (sorted.length === 0) return [...lines, '', '(no events)'].join('\n');
  const t0 = sorted[0]!.at;
  const width = Math.max(...sorted.map((e) => e.type.length));
  lines.push('');
  let paused = 0;
  for (const e of sorted) {
    const offset = `+${formatDuration(e.at - t0)}`.padEnd(9);
    const what = describeEvent(e);
    lines.push(`${formatTime(e.at, tz)}  ${offset} ${e.type.padEnd(width)}  ${what}`.trimEnd());
    if (e.type === 'RESUMED' && typeof e.data.pausedMs === 'number') paused += e.data.pausedMs;
  }
  const last = sorted[sorted.length - 1]!;
  const total = `took ${formatDuration(last.at - t0)}`;
  lines.push('', paused > 0 ? `${total}, of which ${formatDuration(paused)} paused` : total);
  return lines.join('\n');
}
