/**
 * NoneScheduler: the Scheduler contract on a host without a batch system (this machine or
 * one reached over ssh). A job is a detached process group on the host (`setsid nohup`
 * around the wrapper in wrapper.ts); its pid, logs, times and exit record live in
 * `<root>/jobs/<id>/` (docs/job-files.md). Observe reads every asked job dir in ONE round
 * trip; the states are the same union SLURM jobs get (state.ts).
 * Resources other than `time` (cpus, mem, partition, …) mean nothing here and are ignored.
 */

import { ulid } from 'ulid';
import { NotFoundError, RemoteError, UsageError } from '../../core/errors.js';
import { parseArraySpec } from '../../core/jobid.js';
import type { Runner } from '../../transport/runner.js';
import type { ForegroundIo, Observation, ObserveHint, Scheduler, Submission } from '../contract.js';
import { HomeCache } from '../home.js';
import { renderSbatchScript } from '../slurm/render.js';
import { signalNumber } from '../slurm/scheduler.js';
import { firstLine } from '../slurm/site.js';
import { checkRoot } from '../slurm/submit-script.js';
import type { JobSpec } from '../spec.js';
import { submitRound } from '../submission.js';
import {
  checkNoneId,
  checkSignalName,
  MARK,
  NONE_TASK_ID,
  renderNoneCancel,
  renderNoneObserve,
  renderNoneSubmit,
} from './scripts.js';
import { observationFor, parseObserveOutput } from './state.js';

export interface NoneSchedulerOptions {
  /** Work root on the host; `~/` is the host's home. */
  root: string;
  timeoutMs?: number;
  /** Seconds between TERM and KILL when cancelling (default 5). */
  graceS?: number;
}

type DepKind = 'afterok' | 'afterany' | 'afternotok';

export class NoneScheduler implements Scheduler {
  readonly kind = 'none' as const;
  readonly host: string;
  readonly root: string;
  private readonly timeoutMs: number;
  private readonly graceS: number;
  private readonly home: HomeCache;

  constructor(
    readonly runner: Runner,
    opts: NoneSchedulerOptions,
  ) {
    this.host = runner.host;
    checkRoot(opts.root);
    this.root = opts.root;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.home = new HomeCache(runner, this.root, this.timeoutMs);
    this.graceS = opts.graceS ?? 5;
  }

  /** The script the job runs (the same text sbatch would get; #SBATCH lines are comments). */
  plan(spec: JobSpec): { script: string } {
    return { script: renderSbatchScript({ ...spec, array: undefined }) };
  }

  async submit(spec: JobSpec): Promise<Submission> {
    const { script } = this.plan(spec);
    const id = `n-${ulid().toLowerCase()}`;
    const array = spec.array === undefined ? undefined : parseArraySpec(spec.array);
    const deps: Array<{ kind: DepKind; id: string }> = [];
    for (const kind of ['afterok', 'afterany', 'afternotok'] as const) {
      for (const dep of spec.dependencies?.[kind] ?? []) deps.push({ kind, id: checkNoneId(dep) });
    }
    const submittedAt = Date.now();
    const text = renderNoneSubmit({
      root: this.root,
      id,
      specJson: JSON.stringify({ spec, submittedAt }),
      deps,
      ...(array ? { indices: array.indices } : {}),
      ...(array?.throttle === undefined ? {} : { throttle: array.throttle }),
      ...(spec.resources.time === undefined ? {} : { timeLimitS: spec.resources.time }),
    });
    return submitRound({
      runner: this.runner,
      text,
      script,
      timeoutMs: this.timeoutMs,
      submittedAt,
      parse: (stdout) => {
        const dir = stdout
          .split('\n')
          .find((l) => l.startsWith(`${MARK}-submit `))
          ?.slice(MARK.length + 8);
        return dir ? { dir, ids: [id] } : undefined;
      },
      fail: (r) =>
        new RemoteError(`cannot start job on ${this.host}: ${firstLine(r.stderr || r.stdout)}`, {
          code: 'E_SUBMIT',
          hint: `check that the root ${this.root} is writable there and that setsid, nohup and timeout exist`,
        }),
      ...(array ? { chunks: [{ offset: 0, count: array.indices.length }] } : {}),
    });
  }

  async runForeground(
    spec: JobSpec,
    io: ForegroundIo = {},
  ): Promise<{ exitCode: number; signal: string | null }> {
    if (!spec.command) {
      throw new UsageError('job run runs a command, but this spec has a script', {
        hint: 'give the command after --, or submit the script with job submit',
      });
    }
    const time = spec.resources.time;
    const argv =
      time === undefined ? spec.command : ['timeout', '-k', '10', String(time), ...spec.command];
    const r = await this.runner.run(argv, {
      env: Object.fromEntries(Object.entries(spec.env)),
      ...(spec.workdir === undefined ? {} : { cwd: spec.workdir }),
      ...(io.interactive ? { interactive: true } : {}),
      ...(io.onStdout ? { onStdoutLine: (l: string) => io.onStdout!(`${l}\n`) } : {}),
      ...(io.onStderr ? { onStderrLine: (l: string) => io.onStderr!(`${l}\n`) } : {}),
    });
    if (r.exitCode !== null) return { exitCode: r.exitCode, signal: r.signal };
    return { exitCode: 128 + (signalNumber(r.signal) ?? 0), signal: r.signal };
  }

  async observe(
    jobIds: readonly string[],
    _hints?: ReadonlyMap<string, ObserveHint>,
  ): Promise<Map<string, Observation>> {
    const result = new Map<string, Observation>();
    const dirs = new Map<string, string>();
    for (const jobId of jobIds) {
      const base = NONE_TASK_ID.exec(jobId)?.[1] ?? jobId;
      try {
        dirs.set(jobId, checkNoneId(base));
      } catch (e) {
        result.set(jobId, unknown(jobId, (e as Error).message));
      }
    }
    if (dirs.size === 0) return result;
    let stdout: string;
    try {
      const r = await this.runner.sh(renderNoneObserve(this.root, [...new Set(dirs.values())]), {
        timeoutMs: this.timeoutMs,
      });
      if (r.timedOut) throw new Error(`timed out after ${this.timeoutMs} ms`);
      if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${firstLine(r.stderr)}`);
      stdout = r.stdout;
    } catch (e) {
      const reason = `reading the job directories on ${this.host} failed: ${(e as Error).message}`;
      for (const jobId of dirs.keys()) result.set(jobId, unknown(jobId, reason));
      return result;
    }
    const { host, jobs } = parseObserveOutput(stdout);
    const now = Date.now();
    for (const [jobId, base] of dirs) {
      if (!jobs.has(base)) {
        result.set(jobId, unknown(jobId, 'the job directory listing was cut short'));
      } else result.set(jobId, observationFor(jobId, jobs.get(base), host, now));
    }
    return result;
  }

  async cancel(jobId: string, opts: { signal?: string } = {}): Promise<void> {
    const task = NONE_TASK_ID.exec(jobId);
    const id = checkNoneId(task?.[1] ?? jobId);
    const script = renderNoneCancel(this.root, id, {
      graceS: this.graceS,
      ...(task ? { task: Number(task[2]) } : {}),
      ...(opts.signal ? { signal: checkSignalName(opts.signal) } : {}),
    });
    const r = await this.runner.sh(script, { timeoutMs: this.timeoutMs + this.graceS * 1000 });
    if (r.stdout.includes(`${MARK} gone`)) {
      throw new NotFoundError(`no job ${jobId} on ${this.host}`, {
        hint: 'check the id with: berth job list',
      });
    }
    if (r.exitCode !== 0 || !r.stdout.includes(MARK)) {
      throw new RemoteError(`cancel ${jobId} failed on ${this.host}: ${firstLine(r.stderr)}`, {
        code: 'E_CANCEL',
      });
    }
  }

  async logPaths(jobId: string): Promise<{ stdout: string; stderr: string }> {
    const task = NONE_TASK_ID.exec(jobId);
    const id = checkNoneId(task?.[1] ?? jobId);
    const dir = `${await this.absoluteRoot()}/jobs/${id}`;
    const prefix = task ? `${jobId}.` : '';
    return { stdout: `${dir}/${prefix}stdout`, stderr: `${dir}/${prefix}stderr` };
  }

  absoluteRoot(): Promise<string> {
    return this.home.get();
  }
}

function unknown(jobId: string, reason: string): Observation {
  const at = Date.now();
  return { jobId, state: { kind: 'unknown', reason, since: at }, source: 'error', observedAt: at };
}
