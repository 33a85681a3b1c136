/**
 * The Scheduler contract: how berth submits, observes and cancels work on one host.
 *
 * Covers: submitting a JobSpec (batch), running one in the foreground (streamed, exit code
 * preserved), observing many jobs in ONE round trip, cancelling a job, a step or an array
 * index, and where a job's logs are. Every machine access goes through the host's Runner.
 * Leaves out: polling cadence (the per-host watcher owns it), persistence (the store),
 * rendering (pure functions in slurm/render.ts).
 * Implementations: `slurm` (sbatch, srun, squeue, sacct, scancel, scontrol) and `none`
 * (a detached process group on the host, pid/exit code/logs in the job's work dir).
 * Both pass one conformance suite (test/integration/scheduler.test.ts) and report the same
 * JobState union (src/core/states.ts).
 */
import type { JobState } from '../core/states.js';
import type { JobSpec } from './spec.js';

export type SchedulerKind = 'slurm' | 'none';

export interface Submission {
  /** The logical job id berth shows (for a split array: the first chunk's id). */
  jobId: string;
  /** Scheduler ids actually submitted (several when an array was split). */
  schedulerIds: string[];
  /** The job's work directory on the host (script, logs, markers). */
  workDir: string;
  submittedAt: number;
  /** For an array: how many tasks it has and, per scheduler id, the logical offset of its tasks. */
  taskCount?: number;
  chunks?: Array<{ schedulerId: string; offset: number; count: number }>;
}

/**
 * What observe() may be told about a job it did not submit itself (the watcher reads it
 * from the store, see `hintFromExtra`): the scheduler ids of a split array, its task count.
 */
export interface ObserveHint {
  schedulerIds?: readonly string[];
  taskCount?: number;
}

/** The hint stored with a job (`JobRecord.extra`, written by dispatch from the Submission). */
export function hintFromExtra(extra: Record<string, unknown> | undefined): ObserveHint | undefined {
  if (!extra) return undefined;
  const ids = extra.schedulerIds;
  const count = extra.taskCount;
  const hint: ObserveHint = {
    ...(Array.isArray(ids) && ids.every((i) => typeof i === 'string') ? { schedulerIds: ids } : {}),
    ...(typeof count === 'number' ? { taskCount: count } : {}),
  };
  return Object.keys(hint).length ? hint : undefined;
}

export interface Observation {
  jobId: string;
  state: JobState;
  /** Which query produced it: squeue, sacct, scontrol, the job dir (none), or a failed query. */
  source: 'squeue' | 'sacct' | 'scontrol' | 'jobdir' | 'error';
  observedAt: number;
  /** For arrays: per task state counts (`{ completed: 7, running: 2 }`). */
  tasks?: Record<string, number>;
}

export interface ForegroundIo {
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  interactive?: boolean;
}

export interface Scheduler {
  readonly kind: SchedulerKind;
  readonly host: string;
  submit(spec: JobSpec): Promise<Submission>;
  /** Run in the foreground (srun / a direct process); resolves with the command's exit code. */
  runForeground(
    spec: JobSpec,
    io?: ForegroundIo,
  ): Promise<{ exitCode: number; signal: string | null }>;
  /**
   * Observe every listed job in one round trip (plus one accounting query for jobs that left
   * the queue). A failed query yields `unknown` states with the reason — never "gone".
   */
  observe(
    jobIds: readonly string[],
    hints?: ReadonlyMap<string, ObserveHint>,
  ): Promise<Map<string, Observation>>;
  /**
   * Cancel a job, one array index (`123_7`) or one step (`123.4`); with `signal`, only send
   * it. `schedulerIds`: every id of a split array (default: the job id).
   */
  cancel(
    jobId: string,
    opts?: { signal?: string; schedulerIds?: readonly string[] },
  ): Promise<void>;
  /** Paths of the job's stdout/stderr files on the host. */
  logPaths(jobId: string): Promise<{ stdout: string; stderr: string }>;
}
