/**
 * Runtime `slurm`: one SLURM job per session (slurm-job.ts). berth submits the first job;
 * with autoResubmit each job submits its successor before its walltime, and the chain file
 * leads berth to the newest one. Scripts run on the login node (slurm-scripts.ts); tmux and
 * ps on the job's batch host go through `srun --overlap`.
 */

import type { HostProfile } from '../config/index.js';
import { formatSlurmTime } from '../core/duration.js';
import { RemoteError, UsageError } from '../core/errors.js';
import { probeHost } from '../lease/probe.js';
import { detectScheduler } from '../scheduler/index.js';
import { type JobSpec, mergeSpec } from '../scheduler/spec.js';
import type { Runner, RunResult } from '../transport/runner.js';
import { failed, LOOK, observation, runScript } from './calls.js';
import { type JobPane, JobPaneRuntime } from './job-pane.js';
import type { HostObservation } from './observe.js';
import { hookFailed, parseStartReply, parseStopOutput } from './replies.js';
import type { SessionRuntime, StartOutcome, StopOutcome } from './runtime.js';
import type { SessionRef, StartPlan } from './scripts.js';
import { renderSessionJob, wantsWalltimeSignal } from './slurm-job.js';
import {
  jobSocket,
  renderSlurmObserve,
  renderSlurmStop,
  renderSlurmSubmit,
} from './slurm-scripts.js';
import type { SessionSpec } from './spec.js';

/** Lead of the walltime signal when the spec gives none (as for leases). */
export const DEFAULT_LEAD_S = 300;

export class SlurmRuntime extends JobPaneRuntime implements SessionRuntime {
  readonly kind = 'slurm' as const;

  constructor(
    runner: Runner,
    private readonly profile: HostProfile,
    private readonly root: string,
    private readonly timeoutMs = 120_000,
  ) {
    super(runner);
  }

  async start(plan: StartPlan): Promise<StartOutcome> {
    await this.requireSlurm();
    const job = sessionJobSpec(plan.spec, this.profile);
    const leadS = leadFor(plan.spec, job);
    const paths = await probeHost(this.runner, this.root);
    if (!paths.tmux) {
      throw new RemoteError(`tmux is not on the login PATH of host ${this.runner.host}`, {
        hint: 'sessions need tmux on the host (and its nodes)',
      });
    }
    const absDir = `${paths.root.replace(/\/+$/, '')}/sessions/${plan.spec.name}`;
    const script = renderSessionJob({
      spec: plan.spec,
      layout: plan.layout,
      absDir,
      job,
      leadS,
      bins: { sbatch: paths.sbatch!, tmux: paths.tmux },
      host: plan.host,
    });
    const r = await this.sh(
      renderSlurmSubmit(plan, script, paths.sbatch!),
      `submit session ${plan.spec.name}`,
    );
    const reply = parseStartReply(r.stdout);
    const jobId = reply.words.get('submitted');
    if (jobId !== undefined && /^\d+$/.test(jobId)) return { kind: 'submitted', jobId };
    const hook = hookFailed(reply);
    if (hook) return hook;
    const error = reply.words.get('error');
    if (error !== undefined) {
      throw new RemoteError(
        `cannot submit session ${plan.spec.name} on ${this.runner.host}: ${error}`,
        {
          code: 'E_SBATCH',
          hint: 'check spec.slurm.resources against the site (partition, account, time)',
        },
      );
    }
    throw failed(this.runner, r, `submit session ${plan.spec.name}`);
  }

  async observe(refs: readonly SessionRef[]): Promise<HostObservation> {
    return observation(this.runner, await this.sh(renderSlurmObserve(refs), LOOK));
  }

  async stop(refs: readonly SessionRef[], graceS: number): Promise<Map<string, StopOutcome>> {
    const r = await this.sh(renderSlurmStop(refs, graceS), 'stop sessions', (graceS + 90) * 1000);
    const out = parseStopOutput(r.stdout);
    if (!out) throw failed(this.runner, r, 'stop sessions');
    for (const o of out.values()) o.ended = true;
    return out;
  }

  /** The session's pane: the newest job of the session, its batch host and socket, when it runs. */
  protected async pane(ref: SessionRef): Promise<JobPane | undefined> {
    const o = (await this.observe([ref])).sessions.get(ref.name);
    const job = o?.job;
    if (job?.state !== 'RUNNING' || !job.node || !o?.pane) return undefined;
    return { socket: jobSocket(ref.layout, job.id), job: { id: job.id, node: job.node } };
  }

  private async requireSlurm(): Promise<void> {
    const kind =
      this.profile.scheduler === 'auto'
        ? await detectScheduler(this.runner)
        : this.profile.scheduler;
    if (kind !== 'slurm') {
      throw new UsageError(
        `host ${this.runner.host} has no SLURM scheduler; runtime slurm needs one`,
        {
          hint: 'use runtime: direct there, or a SLURM host (spec.host)',
        },
      );
    }
  }

  protected sh(script: string, what: string, timeoutMs = this.timeoutMs): Promise<RunResult> {
    return runScript(this.runner, script, {
      what,
      timeoutMs,
      hint: 'check the host (berth host check) and its scheduler',
    });
  }
}

/** The job spec of a session: the host's SLURM defaults, then spec.slurm.resources and time. */
export function sessionJobSpec(spec: SessionSpec, profile: Pick<HostProfile, 'slurm'>): JobSpec {
  // Values in spec.slurm are already parsed (seconds, MB): hand them back in SLURM's forms.
  const res: Record<string, unknown> = { ...(spec.slurm?.resources ?? {}) };
  const time = spec.slurm?.time ?? (res.time as number | undefined);
  if (time !== undefined) res.time = formatSlurmTime(time);
  return mergeSpec(
    { script: 'true', name: 'berth-session', resources: { ...profile.slurm } },
    { resources: res },
  );
}

/** The lead of the walltime signal (null: no signal wanted); it must fit in the walltime. */
export function leadFor(spec: SessionSpec, job: JobSpec): number | null {
  if (!wantsWalltimeSignal(spec)) return null;
  const time = job.resources.time;
  if (time === undefined || !Number.isFinite(time)) {
    throw new UsageError(
      `session ${spec.name} needs a walltime for autoResubmit or a walltimeSignal hook`,
      {
        hint: 'set spec.slurm.time (or hosts.<name>.slurm.time)',
      },
    );
  }
  const lead = spec.slurm?.lead ?? Math.min(DEFAULT_LEAD_S, Math.floor(time / 2));
  if (lead >= time || lead > 65_535) {
    throw new UsageError(`slurm.lead (${lead} s) must be shorter than the walltime (${time} s)`, {
      hint: 'give a shorter spec.slurm.lead or a longer spec.slurm.time',
    });
  }
  return lead;
}
