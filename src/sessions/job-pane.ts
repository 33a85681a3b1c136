/**
 * What the SLURM runtimes (slurm, slurm-tenant) share: the session's pane lives in a tmux
 * server of a SLURM job (a session job's own, or a lease job's), reached through
 * `srun --overlap` on the job's batch host; its log is read on the login node. A runtime
 * says how to find the pane (`pane`) and how to run a script (`sh`); attaching, the
 * screen and the logs are the same for both.
 */
import type { Runner, RunResult } from '../transport/runner.js';
import { readLog } from './calls.js';
import type { LogsPlan, SessionRef } from './scripts.js';
import { renderJobTmux, renderSlurmLogs } from './slurm-scripts.js';

/** Where a session's pane is now: a job, its batch host, and the tmux socket there. */
export interface JobPane {
  socket: string;
  job: { id: string; node: string };
}

export abstract class JobPaneRuntime {
  constructor(readonly runner: Runner) {}

  /** The session's pane, when its job runs (undefined otherwise). */
  protected abstract pane(ref: SessionRef): Promise<JobPane | undefined>;

  protected abstract sh(script: string, what: string): Promise<RunResult>;

  /** A run's log, read on the login node (with `follow`, until the run or its job ends). */
  logs(
    plan: LogsPlan & { jobId?: string | null },
    onLine: (line: string) => void,
    signal?: AbortSignal,
  ): Promise<boolean> {
    return readLog(this.runner, renderSlurmLogs(plan), onLine, signal);
  }

  /** Attach the terminal (`srun --pty` on the batch host); undefined without a pane. */
  async attach(ref: SessionRef, o: { readOnly?: boolean }): Promise<number | undefined> {
    const where = await this.pane(ref);
    if (!where) return undefined;
    const args = ['attach-session', ...(o.readOnly ? ['-r'] : []), '-t', `=${ref.layout.tmuxName}`];
    const script = renderJobTmux(where.socket, where.job, args, { pty: true });
    const r = await this.runner.sh(script, { interactive: true, env: { TMUX: '' } });
    return r.exitCode ?? 128;
  }

  /** The screen and `history` lines above it; undefined without a pane. */
  async screen(ref: SessionRef, history: number): Promise<string | undefined> {
    const where = await this.pane(ref);
    if (!where) return undefined;
    const args = ['capture-pane', '-p', '-J', '-t', `=${ref.layout.tmuxName}:`];
    if (history > 0) args.push('-S', String(-history));
    const r = await this.sh(renderJobTmux(where.socket, where.job, args), 'read the screen');
    return r.exitCode === 0 ? r.stdout : undefined;
  }
}
