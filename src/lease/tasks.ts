/**
 * `lease exec NAME --tasks FILE`: many small commands through one persistent channel — the
 * executor (executor.ts) in one `srun --overlap` step, the commands on its stdin, results
 * streamed back as frames. Results go to a local JSONL file in the state dir; the lease
 * keeps a summary (`extra.lastTasks`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RemoteError, UsageError } from '../core/errors.js';
import { newNonce } from '../transport/remote.js';
import type { LeaseContext } from './context.js';
import { EXECUTOR, FrameReader, type TaskResult } from './executor.js';
import type { TaskSummary } from './record.js';
import { ensureRunning } from './running.js';
import { saveLease } from './save.js';
import { renderStep } from './srun.js';

export interface TasksOptions {
  /** Tasks at once (default: the lease's CPUs per task, at least 1). */
  concurrency?: number;
  node?: string;
  /** Called as each task ends. */
  onTask?: (t: TaskResult) => void;
  signal?: AbortSignal;
}

export interface TasksReport extends TaskSummary {
  lease: string;
  host: string;
  concurrency: number;
  tasks: TaskResult[];
}

export async function runTasks(
  ctx: LeaseContext,
  name: string,
  commands: readonly string[],
  opts: TasksOptions = {},
): Promise<TasksReport> {
  if (commands.some((c) => /[\n\0]/.test(c))) {
    throw new UsageError('a task is one line: commands cannot contain newlines or NUL bytes');
  }
  let lease = await ensureRunning(ctx, name);
  const host = ctx.host(lease.host);
  const cpus = Number(lease.spec.resources.cpus ?? 1) || 1;
  const concurrency = Math.max(1, Math.trunc(opts.concurrency ?? cpus));
  const nonce = newNonce();
  const reader = new FrameReader(nonce, commands);
  const results = new Array<TaskResult | undefined>(commands.length);
  const script = renderStep(
    lease.jobId!,
    ['bash', '-c', EXECUTOR, 'berth-tasks', nonce, String(concurrency)],
    {
      ...(opts.node === undefined ? {} : { node: opts.node }),
      chainDir: lease.spec.persistent ? lease.extra.dir : null,
    },
  );
  const started = Date.now();
  const r = await host.runner.sh(script, {
    stdin: commands.length ? `${commands.join('\n')}\n` : '',
    ...(opts.signal ? { signal: opts.signal } : {}),
    onStdoutLine: (line) => {
      const done = reader.push(line);
      if (done && done.index < results.length) {
        results[done.index] = done;
        opts.onTask?.(done);
      }
    },
  });
  const durationMs = Date.now() - started;
  const tasks = commands.map(
    (command, index): TaskResult =>
      results[index] ?? {
        index,
        command,
        exitCode: null,
        durationMs: null,
        stdout: '',
        stderr: '',
      },
  );
  if (reader.host === undefined && r.exitCode !== 0) {
    throw new RemoteError(
      `the task executor did not start in lease ${name}: ${r.stderr.trim().slice(0, 500)}`,
      {
        code: 'E_LEASE_EXECUTOR',
        hint: `check the lease with: berth lease exec ${name} -- true`,
      },
    );
  }
  const ok = tasks.filter((t) => t.exitCode === 0).length;
  const notRun = tasks.filter((t) => t.exitCode === null).length;
  const file = recordTasks(ctx.config.stateDir, name, tasks);
  const summary: TaskSummary = {
    at: started,
    jobId: lease.jobId!,
    total: tasks.length,
    ok,
    failed: tasks.length - ok - notRun,
    notRun,
    durationMs,
    tasksPerS: durationMs > 0 ? Math.round((tasks.length / durationMs) * 10_000) / 10 : 0,
    file,
  };
  lease = await saveLease(ctx, { ...lease, extra: { ...lease.extra, lastTasks: summary } });
  return { ...summary, lease: name, host: host.name, concurrency, tasks };
}

/** One JSON line per task in `<stateDir>/leases/<name>/tasks-<time>.jsonl`. */
function recordTasks(stateDir: string, name: string, tasks: readonly TaskResult[]): string {
  const dir = join(stateDir, 'leases', name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `tasks-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
  writeFileSync(file, tasks.map((t) => JSON.stringify(t)).join('\n') + (tasks.length ? '\n' : ''));
  return file;
}
