/**
 * `lease exec NAME -- CMD…`: one `srun --jobid J --overlap -n1` step under the host's
 * login shell, output streamed line by line, the command's exit code passed through.
 *
 * Fast path: no query before the step. The step's shell text follows the chain file to
 * the newest started job itself (builtins only) and names the job it used; when srun says
 * the job is gone (or still pending), the lease is refreshed and the step runs once more —
 * the command never ran on the stale job, so nothing runs twice. With `interactive` (stdin
 * streamed from this process, no capture) the lease is refreshed before instead.
 */
import { RemoteError, UsageError } from '../core/errors.js';
import { signalNumber } from '../scheduler/slurm/scheduler.js';
import { newNonce } from '../transport/remote.js';
import type { RunOptions } from '../transport/runner.js';
import { type LeaseContext, loadLease } from './context.js';
import type { Lease } from './record.js';
import { ensureRunning } from './running.js';
import { recordHop } from './save.js';
import { classifyStepLine, renderStep, type StepFailure } from './srun.js';

export interface ExecOptions {
  node?: string;
  /** Given to the command on stdin. */
  stdin?: string | Buffer;
  /** Hand this process's stdin/stdout/stderr to the command (no capture). */
  interactive?: boolean;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  lease: string;
  jobId: string;
  exitCode: number;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export async function execInLease(
  ctx: LeaseContext,
  name: string,
  argv: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  if (argv.length === 0) {
    throw new UsageError('lease exec needs a command', { hint: 'berth lease exec NAME -- CMD …' });
  }
  let lease = opts.interactive ? await ensureRunning(ctx, name) : await loadLease(ctx, name);
  let attempt = await step(ctx, lease, argv, opts);
  if (attempt.failure) {
    lease = await ensureRunning(ctx, name);
    attempt = await step(ctx, lease, argv, opts);
    if (attempt.failure) {
      throw new RemoteError(`cannot run a step in lease ${name}: ${attempt.failureText}`, {
        code: 'E_LEASE_NOT_RUNNING',
        hint: `see berth lease get ${name}`,
      });
    }
  }
  return attempt.result;
}

interface Attempt {
  result: ExecResult;
  failure?: StepFailure;
  failureText?: string;
}

async function step(
  ctx: LeaseContext,
  lease: Lease,
  argv: readonly string[],
  opts: ExecOptions,
): Promise<Attempt> {
  if (!lease.jobId) throw new RemoteError(`lease ${lease.name} has no job yet`);
  const host = ctx.host(lease.host);
  const nonce = opts.interactive ? undefined : newNonce();
  const script = renderStep(lease.jobId, argv, {
    ...(opts.node === undefined ? {} : { node: opts.node }),
    chainDir: lease.spec.persistent ? lease.extra.dir : null,
    ...(nonce ? { announce: nonce } : {}),
  });
  let used = lease.jobId;
  let failure: StepFailure | undefined;
  const held: string[] = [];
  const run: RunOptions = {
    ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }),
    ...(opts.interactive ? { interactive: true } : {}),
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onStdoutLine ? { onStdoutLine: opts.onStdoutLine } : {}),
    onStderrLine: (line) => {
      if (nonce && line.startsWith(`${nonce}:job=`)) {
        used = line.slice(nonce.length + 5);
        return;
      }
      const kind = classifyStepLine(line);
      if (kind === 'gone' || kind === 'pending') failure ??= kind;
      if (kind === 'echo') return;
      if (kind) held.push(line);
      else opts.onStderrLine?.(line);
    },
  };
  const r = await host.runner.sh(script, run);
  if (used !== lease.jobId && /^\d+$/.test(used))
    await recordHop(ctx, lease, used, 'followed by exec');
  const stderr = r.stderr
    .split('\n')
    .filter((l) => !(nonce && l.startsWith(`${nonce}:job=`)) && classifyStepLine(l) !== 'echo')
    .join('\n');
  const exitCode = r.exitCode ?? 128 + (signalNumber(r.signal) ?? 0);
  const result: ExecResult = {
    lease: lease.name,
    jobId: used,
    exitCode,
    signal: r.signal,
    stdout: r.stdout,
    stderr,
    durationMs: r.durationMs,
  };
  // srun refused to attach (exit 1 and its own message): the command did not run.
  if (failure && r.exitCode === 1) return { result, failure, failureText: held.join(' ') };
  for (const line of held) opts.onStderrLine?.(line);
  return { result };
}
