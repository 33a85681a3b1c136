/**
 * From the files a `none` job leaves in its directory to the same JobState union SLURM
 * jobs get. Pure. Per task (the job itself, or each array index):
 *
 *   exit `exit 0`                  → completed
 *   exit `exit N`                  → failed {exitCode N}
 *   exit `signal N`                → failed {exitCode null, signal N}   (cancelled if marked)
 *   exit `timeout`                 → timeout {walltime}
 *   started, wrapper alive         → running {nodes: [host]}
 *   not started, wrapper alive     → pending (reason Dependency while waiting, else throttle)
 *   cancelled marker, not running  → cancelled
 *   wrapper gone, no exit record   → lost ("the process is gone without an exit record")
 */
import type { JobState } from '../../core/states.js';
import type { Observation } from '../contract.js';
import { aggregateTasks, countTasks, type TaskState } from '../slurm/aggregate.js';
import { MARK } from './scripts.js';

export interface JobFiles {
  missing: boolean;
  alive: boolean;
  /** Number of array indices (absent: not an array). */
  count?: number;
  /** file name → first line of content. */
  files: Map<string, string>;
}

/** Split the observe script's output into each job's files; the host name too. */
export function parseObserveOutput(stdout: string): {
  host: string | null;
  jobs: Map<string, JobFiles>;
} {
  const jobs = new Map<string, JobFiles>();
  let host: string | null = null;
  let current: JobFiles | undefined;
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith(`${MARK} `)) {
      const [word = '', ...rest] = line.slice(MARK.length + 1).split(' ');
      const value = rest.join(' ');
      if (word === 'host') host = value;
      else if (word === 'job') {
        current = { missing: false, alive: false, files: new Map() };
        jobs.set(value, current);
      } else if (current && word === 'missing') current.missing = true;
      else if (current && word === 'alive') current.alive = value === '1';
      else if (current && word === 'count' && /^\d+$/.test(value.trim()))
        current.count = Number(value.trim());
      continue;
    }
    const colon = line.indexOf(':');
    if (current && colon > 0 && !current.files.has(line.slice(0, colon))) {
      current.files.set(line.slice(0, colon), line.slice(colon + 1));
    }
  }
  return { host, jobs };
}

const ms = (text: string | undefined): number | null =>
  text !== undefined && /^\d+$/.test(text.trim()) ? Number(text.trim()) : null;

/** The state of one task whose files start with prefix P ('' or `<id>_<i>.`). */
export function taskState(
  job: JobFiles,
  prefix: string,
  host: string | null,
  now: number,
): JobState {
  const f = job.files;
  const cancelled = f.has('cancelled') || f.has(`${prefix}cancelled`);
  const endedAt = ms(f.get(`${prefix}ended`)) ?? ms(f.get('ended'));
  const exit = f.get(`${prefix}exit`)?.trim();
  if (exit !== undefined) {
    const code = /^exit (\d+)$/.exec(exit);
    const signal = /^signal (\d+)$/.exec(exit);
    if (code && code[1] === '0') return { kind: 'completed', exitCode: 0, endedAt };
    if (cancelled) return { kind: 'cancelled', endedAt };
    if (code) return { kind: 'failed', exitCode: Number(code[1]), endedAt };
    if (signal) return { kind: 'failed', exitCode: null, signal: Number(signal[1]), endedAt };
    if (exit === 'timeout') return { kind: 'timeout', limit: 'walltime', endedAt };
    return {
      kind: 'unknown',
      reason: `unreadable exit record ${JSON.stringify(exit)}`,
      since: now,
    };
  }
  const done = f.get('done')?.trim();
  if (done === 'dependency') return { kind: 'cancelled', by: 'dependency', endedAt };
  if (cancelled) return { kind: 'cancelled', endedAt };
  const startedAt = ms(f.get(`${prefix}started`));
  if (job.alive) {
    if (startedAt !== null) return { kind: 'running', nodes: host ? [host] : [], startedAt };
    return {
      kind: 'pending',
      reason: f.has('waiting') ? 'Dependency' : prefix ? 'JobArrayTaskLimit' : null,
    };
  }
  if (done !== undefined) {
    return { kind: 'lost', reason: 'the job ended without running this task', since: endedAt };
  }
  if (!f.has('pid') && !f.has('started') && ms(f.get('submitted')) !== null) {
    const age = now - (ms(f.get('submitted')) ?? now);
    if (age < 30_000) return { kind: 'pending', reason: 'starting' };
  }
  return {
    kind: 'lost',
    reason: 'the process is gone without an exit record (killed, or the host restarted)',
    since: now,
  };
}

/** One observation per asked job id (`n-…` or `n-…_7` for one array task). */
export function observationFor(
  jobId: string,
  job: JobFiles | undefined,
  host: string | null,
  now: number,
): Observation {
  const base = { jobId, source: 'jobdir' as const, observedAt: now };
  if (!job || job.missing) {
    return {
      ...base,
      state: { kind: 'lost', reason: 'no such job directory on the host', since: now },
    };
  }
  const task = /^(n-[0-9a-z]+)_(\d+)$/.exec(jobId);
  if (task) return { ...base, state: taskState(job, `${jobId}.`, host, now) };
  if (job.count === undefined) return { ...base, state: taskState(job, '', host, now) };
  const tasks: TaskState[] = [];
  const seen = new Set<number>();
  for (const name of job.files.keys()) {
    const m = /^n-[0-9a-z]+_(\d+)\.(exit|started|cancelled)$/.exec(name);
    if (m && !seen.has(Number(m[1]))) {
      seen.add(Number(m[1]));
      tasks.push({ index: Number(m[1]), state: taskState(job, `${jobId}_${m[1]}.`, host, now) });
    }
  }
  // Tasks not started yet share one state; their indices come after the started ones.
  const waiting = taskState(job, `${jobId}_waiting.`, host, now);
  for (let i = tasks.length; i < job.count; i++) tasks.push({ index: 1e9 + i, state: waiting });
  return { ...base, state: aggregateTasks(tasks), tasks: countTasks(tasks) };
}
