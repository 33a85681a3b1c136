/**
 * SlurmScheduler: the Scheduler contract on a SLURM host, every command through the host's
 * Runner. Submission is one round trip (submit-script.ts); observation is one squeue plus,
 * when needed, one sacct (observe.ts); MaxArraySize and accounting are read once per host
 * (site.ts). An array beyond MaxArraySize becomes several SLURM arrays, shown as ONE
 * logical job whose id is the first chunk's (the chunks are in `Submission.chunks`).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import { NotFoundError, RemoteError, UsageError } from '../../core/errors.js';
import { parseJobId } from '../../core/jobid.js';
import type { Runner } from '../../transport/runner.js';
import type { ForegroundIo, Observation, ObserveHint, Scheduler, Submission } from '../contract.js';
import { HomeCache } from '../home.js';
import type { JobSpec } from '../spec.js';
import { submitRound } from '../submission.js';
import { ARRAY_OFFSET_ENV, planArraySpec } from './arrays.js';
import { observeJobs } from './observe.js';
import { renderSbatchScript, renderSrunArgs } from './render.js';
import { firstLine, readSite } from './site.js';
import {
  checkRoot,
  parseSubmitReply,
  renderSubmitScript,
  type SubmitChunk,
} from './submit-script.js';

export interface SlurmSchedulerOptions {
  /** Work root on the host (`<root>/jobs/<id>/`); `~/` is the remote home. Default `~/berth`. */
  root?: string;
  /** Per query (squeue, sacct, sbatch) timeout; default 60 s. */
  timeoutMs?: number;
  /** Override the detected accounting (tests of the no-accounting fallback). */
  accounting?: boolean;
  /** Override the detected MaxArraySize. */
  maxArraySize?: number;
}

export const DEFAULT_ROOT = '~/berth';

export class SlurmScheduler implements Scheduler {
  readonly kind = 'slurm' as const;
  readonly host: string;
  readonly root: string;
  private readonly timeoutMs: number;
  /** What this instance submitted: logical id → scheduler ids and task count. */
  private readonly known = new Map<string, ObserveHint>();
  private readonly home: HomeCache;

  constructor(
    readonly runner: Runner,
    private readonly opts: SlurmSchedulerOptions = {},
  ) {
    this.host = runner.host;
    this.root = opts.root ?? DEFAULT_ROOT;
    checkRoot(this.root);
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.home = new HomeCache(runner, this.root, this.timeoutMs);
  }

  /** The batch script and the sbatch options of each chunk, without submitting (--dry-run). */
  async plan(spec: JobSpec): Promise<{ script: string; chunks: PlannedChunk[] }> {
    const base: JobSpec = { ...spec, array: undefined };
    const script = renderSbatchScript(base);
    if (spec.array === undefined) return { script, chunks: [{ args: [], offset: 0, count: 1 }] };
    const max =
      this.opts.maxArraySize ?? (await readSite(this.runner, this.timeoutMs)).maxArraySize;
    const chunks = planArraySpec(spec.array, { maxArraySize: max }).map((c) => ({
      args: [`--array=${c.arrayArg}`, `--export=ALL,${ARRAY_OFFSET_ENV}=${c.offset}`],
      offset: c.offset,
      count: c.indices.length,
    }));
    return { script, chunks };
  }

  async submit(spec: JobSpec): Promise<Submission> {
    const { script, chunks } = await this.plan(spec);
    const submittedAt = Date.now();
    const extra = spec.resources.extraArgs ?? [];
    const text = renderSubmitScript({
      root: this.root,
      chunks: chunks.map((c): SubmitChunk => ({ args: c.args })),
      array: spec.array !== undefined,
      ownOutput: spec.output !== undefined,
      ownError: spec.error !== undefined,
      keepHeld: extra.some((a) => a === '--hold'),
      ...(extra.some((a) => a.startsWith('--comment'))
        ? {}
        : { nonce: randomBytes(6).toString('hex') }),
      specJson: JSON.stringify({ spec, chunks, submittedAt }),
    });
    const submission = await submitRound({
      runner: this.runner,
      text,
      script,
      timeoutMs: this.timeoutMs,
      submittedAt,
      parse: parseSubmitReply,
      fail: (r) =>
        new RemoteError(`sbatch failed on ${this.host}: ${sbatchMessage(r.stderr, r.stdout)}`, {
          code: 'E_SBATCH',
          hint: 'check the job spec (partition, account, time) against the site; --dry-run shows the script',
          details: { exitCode: r.exitCode, stderr: r.stderr.slice(0, 2000) },
        }),
      ...(spec.array === undefined ? {} : { chunks }),
    });
    const jobId = submission.jobId;
    this.known.set(jobId, {
      schedulerIds: submission.schedulerIds,
      ...(submission.taskCount === undefined ? {} : { taskCount: submission.taskCount }),
    });
    return submission;
  }

  async runForeground(
    spec: JobSpec,
    io: ForegroundIo = {},
  ): Promise<{ exitCode: number; signal: string | null }> {
    const argv = renderSrunArgs(spec);
    const r = await this.runner.run(argv, {
      ...(io.interactive ? { interactive: true } : {}),
      ...(io.onStdout ? { onStdoutLine: (l: string) => io.onStdout!(`${l}\n`) } : {}),
      ...(io.onStderr ? { onStderrLine: (l: string) => io.onStderr!(`${l}\n`) } : {}),
    });
    if (r.exitCode !== null) return { exitCode: r.exitCode, signal: r.signal };
    return { exitCode: 128 + (signalNumber(r.signal) ?? 0), signal: r.signal };
  }

  async observe(
    jobIds: readonly string[],
    hints?: ReadonlyMap<string, ObserveHint>,
  ): Promise<Map<string, Observation>> {
    const all = new Map(this.known);
    for (const [id, hint] of hints ?? []) all.set(id, hint);
    let accounting = this.opts.accounting;
    if (accounting === undefined) {
      try {
        accounting = (await readSite(this.runner, this.timeoutMs)).accounting;
      } catch (e) {
        const at = Date.now();
        const reason = (e as Error).message;
        return new Map(
          jobIds.map((jobId) => [
            jobId,
            {
              jobId,
              state: { kind: 'unknown', reason, since: at },
              source: 'error',
              observedAt: at,
            },
          ]),
        );
      }
    }
    return observeJobs(this.runner, jobIds, all, { accounting, timeoutMs: this.timeoutMs });
  }

  async cancel(
    jobId: string,
    opts: { signal?: string; schedulerIds?: readonly string[] } = {},
  ): Promise<void> {
    const ids = opts.schedulerIds?.length
      ? [...opts.schedulerIds]
      : [...(this.known.get(jobId)?.schedulerIds ?? [jobId])];
    for (const id of ids) parseJobId(id);
    const signal = opts.signal ? [`--signal=${checkSignal(opts.signal)}`] : [];
    const r = await this.runner.run(['scancel', ...signal, ...ids], { timeoutMs: this.timeoutMs });
    const text = `${r.stderr}\n${r.stdout}`;
    if (/Invalid job id specified/i.test(text)) {
      throw new NotFoundError(`no job ${jobId} on ${this.host}`, {
        hint: 'check the id with: berth job list',
      });
    }
    // Cancelling a job that has just ended is not an error: it is what was wanted.
    if (/already completing or completed/i.test(text)) return;
    if (r.exitCode !== 0 || /error:/i.test(r.stderr)) {
      throw new RemoteError(`scancel ${ids.join(' ')} failed on ${this.host}: ${firstLine(text)}`, {
        code: 'E_SCANCEL',
        hint: 'check the job id and that it is yours',
      });
    }
  }

  async logPaths(jobId: string): Promise<{ stdout: string; stderr: string }> {
    const id = parseJobId(jobId);
    const root = await this.absoluteRoot();
    const dir = `${root}/jobs/${id.jobId}`;
    if (id.kind === 'array_task') {
      const base = `${dir}/${id.jobId}_${id.taskId}`;
      return { stdout: `${base}.stdout`, stderr: `${base}.stderr` };
    }
    return { stdout: `${dir}/stdout`, stderr: `${dir}/stderr` };
  }

  /** The root with `~` expanded on the host (asked once). */
  absoluteRoot(): Promise<string> {
    return this.home.get();
  }
}

export interface PlannedChunk {
  /** sbatch options of this chunk (empty for a job that is not an array). */
  args: string[];
  offset: number;
  count: number;
}

function checkSignal(signal: string): string {
  const s = signal.toUpperCase().replace(/^SIG/, '');
  if (!/^[A-Z0-9]+$/.test(s)) {
    throw new UsageError(`invalid signal ${JSON.stringify(signal)}`, {
      hint: 'give a signal name like TERM, USR1, KILL or a number',
    });
  }
  return s;
}

function sbatchMessage(stderr: string, stdout: string): string {
  const lines = `${stderr}\n${stdout}`.split('\n').map((l) => l.trim());
  return lines.find((l) => /error/i.test(l)) ?? firstLine(`${stderr}\n${stdout}`);
}

/** `SIGKILL` → 9 (null for an unknown name). */
export function signalNumber(name: string | null): number | null {
  if (!name) return null;
  const n = (constants.signals as Record<string, number>)[name];
  return n ?? null;
}
