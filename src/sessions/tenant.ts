/**
 * Runtime `slurm-tenant`: the session is a tenant of a lease's tmux server (the lease was
 * booked with `--tmux`; lease/tenants.ts). The lease starts it in every job of its chain,
 * so it survives the lease's hops; each start runs berth's launcher without a run id,
 * which makes a new run (logs, exit record, BERTH_RESUME_FROM) like any other runtime.
 * The lease's chain file leads to its newest job; tmux and ps there go through srun.
 */
import { NotFoundError, RemoteError, UsageError } from '../core/errors.js';
import type { LeaseContext } from '../lease/context.js';
import { loadLease } from '../lease/context.js';
import { leaseFiles, leaseSocket } from '../lease/layout.js';
import { probeHost } from '../lease/probe.js';
import type { Lease } from '../lease/record.js';
import { refreshLease } from '../lease/refresh.js';
import { srunWords } from '../lease/srun.js';
import { addTenant, removeTenant } from '../lease/tenants.js';
import { quote } from '../transport/quote.js';
import type { Runner, RunResult } from '../transport/runner.js';
import { failed, LOOK, observation, runScript } from './calls.js';
import { type JobPane, JobPaneRuntime } from './job-pane.js';
import type { HostObservation } from './observe.js';
import { hookFailed, parseStartReply, parseStopOutput } from './replies.js';
import type { SessionRuntime, StartOutcome, StopOutcome } from './runtime.js';
import {
  MARK,
  prepareLines,
  renderStopScript,
  type SessionRef,
  type StartPlan,
} from './scripts.js';
import { renderSlurmObserve } from './slurm-scripts.js';

export class TenantRuntime extends JobPaneRuntime implements SessionRuntime {
  readonly kind = 'slurm-tenant' as const;

  constructor(
    runner: Runner,
    private readonly leases: () => LeaseContext,
    private readonly root: string,
    private readonly timeoutMs = 120_000,
  ) {
    super(runner);
  }

  async start(plan: StartPlan): Promise<StartOutcome> {
    const leaseName = plan.spec.slurm?.lease;
    if (!leaseName)
      throw new UsageError(`session ${plan.spec.name} names no lease (spec.slurm.lease)`);
    const lease = await loadLease(this.leases(), leaseName);
    if (!lease.spec.tmux) {
      throw new UsageError(
        `lease ${leaseName} has no tmux server, so it cannot host session ${plan.spec.name}`,
        {
          hint: `book the lease with --tmux: berth lease release ${leaseName} && berth lease book ${leaseName} --tmux …`,
        },
      );
    }
    const paths = await probeHost(this.runner, this.root);
    const absDir = `${paths.root.replace(/\/+$/, '')}/sessions/${plan.spec.name}`;
    const what = `prepare session ${plan.spec.name}`;
    const leaseLauncher = lease.extra.dir
      ? leaseFiles(lease.extra.dir).tenantLauncher(plan.spec.name)
      : undefined;
    const prepare = prepareLines({ ...plan, ...(leaseLauncher ? { leaseLauncher } : {}) });
    const r = await this.sh([...prepare, `echo "${MARK}:written"`].join('\n'), what);
    const reply = parseStartReply(r.stdout);
    const hook = hookFailed(reply);
    if (hook) return hook;
    const error = reply.words.get('error');
    if (error !== undefined) throw new RemoteError(`cannot ${what}: ${error}`);
    if (!reply.words.has('written')) throw failed(this.runner, r, what);
    // A tenant registered by an earlier start is replaced (the service stopped a live one).
    if (lease.extra.tenants.some((t) => t.name === plan.spec.name)) {
      await removeTenant(this.leases(), leaseName, plan.spec.name);
    }
    await addTenant(this.leases(), leaseName, {
      session: plan.spec.name,
      command: ['bash', `${absDir}/launch.sh`],
      log: `${absDir}/tenant.log`,
    });
    const now = await loadLease(this.leases(), leaseName);
    return { kind: 'submitted', jobId: now.jobId ?? '' };
  }

  async observe(refs: readonly SessionRef[]): Promise<HostObservation> {
    const withLease = await Promise.all(refs.map((ref) => this.leaseRef(ref)));
    return observation(this.runner, await this.sh(renderSlurmObserve(withLease), LOOK));
  }

  /**
   * Unregister the tenant's launcher first (no later job of the lease starts it again),
   * then TERM to its command in the lease's current job, grace, end of its tmux session,
   * and drop it from the lease record.
   */
  async stop(refs: readonly SessionRef[], graceS: number): Promise<Map<string, StopOutcome>> {
    const out = new Map<string, StopOutcome>();
    for (const ref of refs) {
      let outcome: StopOutcome = { runId: null, ended: false, exit: null };
      const lease = await this.leaseOrUndefined(leaseOf(ref));
      if (lease?.extra.dir) {
        await this.sh(
          `rm -f -- ${quote(leaseFiles(lease.extra.dir).tenantLauncher(ref.name))}`,
          'unregister the session',
        );
        const where = await this.pane(ref);
        if (where) {
          const target = { name: ref.name, layout: { ...ref.layout, socket: where.socket } };
          const r = await this.sh(
            `${srunWords(quote(where.job.id), { node: where.job.node })} -- bash -c ${quote(renderStopScript([target], graceS))}`,
            'stop the session',
            (graceS + 60) * 1000,
          );
          outcome = parseStopOutput(r.stdout)?.get(ref.name) ?? outcome;
          // A tenant's tmux session goes with its command (no remain-on-exit): it was
          // ended now when its command was running when the stop began.
          outcome = { ...outcome, ended: outcome.wasRunning === true };
        }
        if (lease.extra.tenants.some((t) => t.name === ref.name)) {
          await removeTenant(this.leases(), lease.name, ref.name).catch(() => undefined);
        }
      }
      out.set(ref.name, outcome);
    }
    return out;
  }

  /** The lease's newest running job, its batch host and socket (refreshing the lease record). */
  protected async pane(ref: SessionRef): Promise<JobPane | undefined> {
    const { lease, live } = await refreshLease(this.leases(), leaseOf(ref));
    const node = lease.extra.nodes[0] ?? (live?.nodes[0] as string | undefined);
    if (!lease.jobId || live?.state.kind !== 'running' || !node) return undefined;
    return { socket: leaseSocket(lease.jobId), job: { id: lease.jobId, node } };
  }

  /** The ref with the lease's chain and newest job (files only when the lease is gone). */
  private async leaseRef(ref: SessionRef): Promise<SessionRef> {
    const lease = await this.leaseOrUndefined(leaseOf(ref));
    if (!lease) return { ...ref, jobId: null };
    return {
      ...ref,
      jobId: lease.jobId ?? ref.jobId ?? null,
      ...(lease.extra.dir ? { chainDir: lease.extra.dir } : {}),
      socketPrefix: 'berth-lease-',
    };
  }

  private async leaseOrUndefined(name: string): Promise<Lease | undefined> {
    try {
      return await loadLease(this.leases(), name);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  protected sh(script: string, what: string, timeoutMs = this.timeoutMs): Promise<RunResult> {
    return runScript(this.runner, script, {
      what,
      timeoutMs,
      hint: 'check the host (berth host check) and the lease (berth lease get)',
    });
  }
}

function leaseOf(ref: SessionRef): string {
  if (!ref.lease) throw new UsageError(`session ${ref.name} names no lease`);
  return ref.lease;
}
