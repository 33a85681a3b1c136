/**
 * jobLogs: a job's stdout or stderr file on its host. Without `follow`, the file's text;
 * with it, `tail -F` through the runner, each line handed over as it arrives, until the
 * job has ended (the host's status watcher says so) or the caller aborts.
 */
import { UsageError } from '../core/errors.js';
import { isTerminal } from '../core/states.js';
import { trackOptionsOf } from '../scheduler/watcher-store.js';
import { extraOf, type JobRef, resolveRef, schedulerIdOf } from './jobs.js';
import type { Dispatch } from './session.js';
import { hostWatcher } from './watch.js';

export interface LogsOptions {
  host?: string;
  stderr?: boolean;
  follow?: boolean;
  /** Each line (follow mode). */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
  /** Only the last N lines (default: all). */
  tail?: number;
}

export interface LogsResult {
  host: string;
  jobId: string;
  path: string;
  /** The text (not in follow mode). */
  text?: string;
}

/** The log file of a job or of one array task. */
export async function logPathOf(ref: JobRef, stderr: boolean): Promise<string> {
  const x = extraOf(ref.record);
  const stream = stderr ? 'stderr' : 'stdout';
  const own = stderr ? (x.spec?.error ?? x.spec?.output) : x.spec?.output;
  if (own) {
    throw new UsageError(`job ${ref.jobId} writes its ${stream} to ${own}, not to its job dir`, {
      hint: `read ${own} on the host (relative to the job's working directory)`,
    });
  }
  if (x.taskCount !== undefined && ref.task === undefined) {
    throw new UsageError(`job ${ref.jobId} is an array: name one task`, {
      hint: `for example berth job logs ${ref.host.name}:${ref.jobId}_0`,
    });
  }
  if (x.workDir) {
    if (ref.task === undefined) return `${x.workDir}/${stream}`;
    return `${x.workDir}/${schedulerIdOf({ ...ref, step: undefined } as JobRef)}.${stream}`;
  }
  const paths = await ref.host.scheduler.logPaths(schedulerIdOf(ref));
  return stderr ? paths.stderr : paths.stdout;
}

export async function jobLogs(
  d: Dispatch,
  id: string,
  opts: LogsOptions = {},
): Promise<LogsResult> {
  const ref = await resolveRef(d, id, opts.host);
  const path = await logPathOf(ref, opts.stderr === true);
  const runner = ref.host.runner;
  const base = {
    host: ref.host.name,
    jobId: ref.task === undefined ? ref.jobId : `${ref.jobId}_${ref.task}`,
    path,
  };
  if (!opts.follow) {
    const argv =
      opts.tail === undefined ? ['cat', '--', path] : ['tail', '-n', String(opts.tail), '--', path];
    const r = await runner.run(argv, { timeoutMs: 120_000 });
    if (r.exitCode !== 0) {
      throw new UsageError(
        `cannot read ${path} on ${ref.host.name}: ${r.stderr.trim().split('\n').at(-1) ?? ''}`,
        {
          code: 'E_NO_LOG',
          hint: 'a job that has not started yet has no log; see berth job status',
        },
      );
    }
    return { ...base, text: r.stdout };
  }
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const ended = untilEnded(d, ref, stop.signal).then(async () => {
    // Give tail a moment to print what the job wrote last.
    await new Promise((r) => setTimeout(r, 1500));
    stop.abort();
  });
  try {
    const from = opts.tail === undefined ? '+1' : String(opts.tail);
    await runner.run(['tail', '-n', from, '-F', '--', path], {
      signal: stop.signal,
      ...(opts.onLine ? { onStdoutLine: opts.onLine } : {}),
    });
  } finally {
    stop.abort();
    opts.signal?.removeEventListener('abort', onAbort);
    await ended.catch(() => {});
  }
  return base;
}

/** Resolves when the job has ended (through the host's watcher); rejects on abort. */
async function untilEnded(d: Dispatch, ref: JobRef, signal: AbortSignal): Promise<void> {
  const watcher = await hostWatcher(d, ref.host);
  const sid = schedulerIdOf(ref);
  watcher.track(sid, ref.task === undefined && ref.record ? trackOptionsOf(ref.record) : {});
  await watcher.waitFor([sid], { signal, until: isTerminal });
}
