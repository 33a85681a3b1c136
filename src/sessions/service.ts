/**
 * Sessions, as the CLI and library callers use them: start, stop, restart, attach, logs
 * (status and list are in look.ts). Each call returns the objects `--json` prints. Records
 * live in the store; everything on a host goes through that host's Runner, one round trip
 * per host and action.
 */
import type { Kysely } from 'kysely';
import type { ResolvedConfig } from '../config/index.js';
import { getHost } from '../config/index.js';
import { ConflictError, NotFoundError, RemoteError } from '../core/errors.js';
import { validateName } from '../core/names.js';
import { createLeaseContext, type LeaseContext } from '../lease/context.js';
import { defaultRoot } from '../scheduler/index.js';
import type { Database } from '../store/schema.js';
import { createRunner } from '../transport/index.js';
import type { Runner } from '../transport/runner.js';
import { DirectRuntime } from './direct.js';
import { layoutFor, logFile, runIdAt } from './layout.js';
import { lookAt } from './look.js';
import {
  addRun,
  endRun,
  getSession,
  listSessionRecords,
  patchSession,
  putSession,
  type RunReason,
  type SessionRecord,
} from './records.js';
import type { SessionRuntime } from './runtime.js';
import type { SessionRef } from './scripts.js';
import { SlurmRuntime } from './slurm.js';
import type { Runtime, SessionSpec } from './spec.js';
import { deriveState } from './state.js';
import { TenantRuntime } from './tenant.js';

export interface StartResult {
  name: string;
  host: string;
  runtime: Runtime;
  /** False when it was already running (start --all skips those). */
  started: boolean;
  runId: string | null;
  pid: number | null;
  /** SLURM runtimes: the job submitted (the run starts when the job does). */
  jobId: string | null;
  /** The run's log file on the host. */
  log: string | null;
  socket: string;
  reason: RunReason;
  note?: string;
}

export interface StopResult {
  name: string;
  host: string;
  runId: string | null;
  /** False when there was no tmux session left to end. */
  ended: boolean;
  exitCode: number | null;
}

export interface StartOptions {
  force?: boolean;
  /** Skip (do not fail on) sessions that are already running (start --all). */
  skipRunning?: boolean;
  reason?: RunReason;
  graceS?: number;
}

export const DEFAULT_GRACE_S = 10;

export class SessionService {
  private readonly runners = new Map<string, Runner>();
  private leases: LeaseContext | undefined;

  constructor(
    readonly config: ResolvedConfig,
    readonly db: Kysely<Database>,
  ) {}

  /** The runner of a host (one per host, kept until close()). */
  runner(host: string): Runner {
    let r = this.runners.get(host);
    if (!r) {
      const profile = getHost(this.config, host);
      r = createRunner(
        { name: host, ssh: profile.ssh, sshConfig: profile.sshConfig },
        { stateDir: this.config.stateDir, connectTimeoutS: this.config.ssh.connectTimeoutS },
      );
      this.runners.set(host, r);
    }
    return r;
  }

  runtime(record: Pick<SessionRecord, 'host' | 'runtime'>): SessionRuntime {
    const runner = this.runner(record.host);
    if (record.runtime === 'direct') return new DirectRuntime(runner);
    if (record.runtime === 'slurm') {
      const profile = getHost(this.config, record.host);
      return new SlurmRuntime(runner, profile, this.root(record.host));
    }
    return new TenantRuntime(runner, () => this.leaseContext(), this.root(record.host));
  }

  /** The lease library's context, sharing this service's configuration and store. */
  private leaseContext(): LeaseContext {
    this.leases ??= createLeaseContext({ config: this.config, db: this.db });
    return this.leases;
  }

  /** The host's work root (may start with `~/`). */
  root(host: string): string {
    return getHost(this.config, host).root ?? defaultRoot(this.runner(host), this.config.stateDir);
  }

  async close(): Promise<void> {
    for (const r of this.runners.values()) await r.close();
    this.runners.clear();
    await this.leases?.close();
    this.leases = undefined;
  }

  async record(name: string): Promise<SessionRecord> {
    validateName('session', name);
    const rec = await getSession(this.db, name);
    if (!rec) {
      throw new NotFoundError(`no session named ${name}`, {
        hint: 'see berth session list; start it with berth session start NAME or a spec file',
      });
    }
    return rec;
  }

  /** Records of these names (all of them must exist), or every record. */
  async records(names?: readonly string[]): Promise<SessionRecord[]> {
    if (!names) return listSessionRecords(this.db);
    const out: SessionRecord[] = [];
    for (const n of new Set(names)) out.push(await this.record(n));
    return out;
  }

  /** Start one session from its spec. */
  async start(spec: SessionSpec, o: StartOptions = {}): Promise<StartResult> {
    const host = spec.host ?? this.config.defaultHost;
    getHost(this.config, host);
    const previous = await getSession(this.db, spec.name);
    const reason = o.reason ?? (o.force ? 'force' : 'start');
    const layout = layoutFor(spec, this.root(host), this.config.stateDir);
    const runtime = this.runtime({ host, runtime: spec.runtime });
    const result = { name: spec.name, host, runtime: spec.runtime, socket: layout.socket, reason };
    if (previous && previous.desired === 'running') {
      const moved = previous.host !== host || previous.runtime !== spec.runtime;
      // direct on the same host: the start script itself refuses a live session.
      if (moved || spec.runtime !== 'direct') {
        // With --force a look that cannot tell counts as alive: it is stopped first.
        const live = await this.liveOf(previous).catch((e: unknown) => {
          if (o.force && e instanceof RemoteError) {
            return { state: 'unknown', pid: null, jobId: previous.jobId };
          }
          throw e;
        });
        if (live) {
          if (!o.force && o.skipRunning && !moved) {
            return {
              ...result,
              started: false,
              runId: previous.runId,
              pid: live.pid,
              jobId: live.jobId,
              log: null,
              note: `already ${live.state}`,
            };
          }
          if (!o.force) throw running(spec.name, previous.host, live.pid, live.jobId, moved);
          await this.stop([spec.name], { graceS: o.graceS });
        }
      }
    }
    const plan = (runId: string) => ({ spec, layout, host, runtime: spec.runtime, runId });
    let runId = runIdAt(new Date());
    let outcome = await runtime.start(plan(runId));
    if (outcome.kind === 'exists') {
      if (!o.force) {
        if (o.skipRunning) {
          return {
            ...result,
            started: false,
            runId: previous?.runId ?? null,
            pid: outcome.pid,
            jobId: null,
            log: null,
            note: 'already running',
          };
        }
        throw running(spec.name, host, outcome.pid, null, false);
      }
      await runtime.stop([{ name: spec.name, layout }], o.graceS ?? DEFAULT_GRACE_S);
      runId = runIdAt(new Date());
      outcome = await runtime.start(plan(runId));
    }
    if (outcome.kind === 'hook-failed') {
      throw new RemoteError(
        `the preSubmit hook of session ${spec.name} failed with exit ${outcome.exitCode}${outcome.output.length ? `:\n${outcome.output.join('\n')}` : ''}`,
        { hint: 'fix the hook (spec.hooks.preSubmit); the session was not started' },
      );
    }
    if (outcome.kind === 'exists') {
      throw new RemoteError(`session ${spec.name} is still running on ${host} after stopping it`);
    }
    if (previous?.runId && previous.runId !== runId) {
      await endRun(this.db, spec.name, previous.runId, {
        endedAt: Date.now(),
        exitCode: previous.exitCode,
      });
    }
    const jobId = outcome.kind === 'submitted' ? outcome.jobId : null;
    const submitted = jobId !== null;
    const log = submitted ? null : logFile(layout, spec.name, runId);
    await putSession(this.db, {
      name: spec.name,
      host,
      runtime: spec.runtime,
      desired: 'running',
      state: submitted ? 'pending' : 'running',
      runId: submitted ? null : runId,
      jobId,
      exitCode: null,
      restarts: reason === 'policy' ? (previous?.restarts ?? 0) + 1 : 0,
      spec,
      layout,
      startReason: reason,
      startJobId: jobId,
    });
    if (!submitted) {
      await addRun(this.db, {
        sessionName: spec.name,
        runId,
        jobId: null,
        reason,
        startedAt: Date.now(),
        log,
      });
    }
    return {
      ...result,
      started: true,
      runId: submitted ? null : runId,
      pid: outcome.kind === 'started' ? outcome.pid : null,
      jobId,
      log,
    };
  }

  /**
   * Is the recorded session alive (running or, for SLURM, queued)? One look at its host.
   * A look that cannot tell (`unknown`: squeue or the node did not answer) is an error, so
   * that a second copy is never started next to a live one.
   */
  private async liveOf(
    rec: SessionRecord,
  ): Promise<{ state: string; pid: number | null; jobId: string | null } | undefined> {
    const obs = await this.runtime(rec).observe([refOf(rec)]);
    const o = obs.sessions.get(rec.name);
    const state = deriveState({
      desired: 'running',
      observation: o,
      now: obs.now,
      runtime: rec.runtime,
    });
    if (state.kind === 'unknown') {
      throw new RemoteError(
        `cannot tell whether session ${rec.name} still runs on ${rec.host}: ${state.reason}`,
        {
          hint: `try again (berth session status ${rec.name}); --force stops it and starts it anyway`,
        },
      );
    }
    if (state.kind === 'running')
      return { state: 'running', pid: state.pid, jobId: o?.job?.id ?? null };
    if (state.kind === 'pending') return { state: 'pending', pid: null, jobId: state.jobId };
    return undefined;
  }

  /** Stop sessions (TERM, then after graceS the tmux session ends). */
  async stop(
    names: readonly string[] | 'all',
    o: { graceS?: number | undefined } = {},
  ): Promise<StopResult[]> {
    const all = names === 'all';
    const records = (await this.records(all ? undefined : names)).filter(
      (r) => !all || r.desired === 'running',
    );
    const groups = new Map<string, SessionRecord[]>();
    for (const r of records) {
      const key = `${r.runtime} ${r.host}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    const results: StopResult[] = [];
    for (const recs of groups.values()) {
      const outcomes = await this.runtime(recs[0]!).stop(
        recs.map(refOf),
        o.graceS ?? DEFAULT_GRACE_S,
      );
      for (const r of recs) {
        const out = outcomes.get(r.name);
        const exitCode = out?.exit?.code ?? null;
        await patchSession(this.db, r.name, { desired: 'stopped', state: 'stopped', exitCode });
        const runId = out?.runId ?? r.runId;
        if (runId)
          await endRun(this.db, r.name, runId, { endedAt: out?.exit?.at || Date.now(), exitCode });
        results.push({ name: r.name, host: r.host, runId, ended: out?.ended ?? false, exitCode });
      }
    }
    return results.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Stop a session and start it again from its spec (re-read from its file when it has one). */
  async restart(
    name: string,
    spec: SessionSpec | undefined,
    o: { graceS?: number } = {},
  ): Promise<StartResult> {
    const rec = await this.record(name);
    await this.stop([name], o);
    return this.start(spec ?? rec.spec, { reason: 'restart', ...o });
  }

  /** Hand the terminal to the session (detach with the tmux prefix, then d). */
  async attach(name: string, o: { readOnly?: boolean } = {}): Promise<number> {
    const rec = await this.record(name);
    const code = await this.runtime(rec).attach(refOf(rec), o);
    if (code === undefined) {
      throw new NotFoundError(
        `session ${name} has no tmux session on ${rec.host} (it is ${rec.state})`,
        {
          hint: `start it: berth session start ${name}`,
        },
      );
    }
    return code;
  }

  /** Print a run's log, the newest run unless `runId`; with `follow`, until the command ends. */
  async logs(
    name: string,
    o: { lines: number; follow: boolean; runId?: string | undefined; signal?: AbortSignal },
    onLine: (line: string) => void,
  ): Promise<{ name: string; host: string; runId: string; log: string }> {
    let rec = await this.record(name);
    if (rec.runtime !== 'direct') {
      await lookAt(this, [rec]); // the newest run and job of the chain
      rec = await this.record(name);
    }
    const runId = o.runId ?? rec.runId;
    if (!runId) throw new NotFoundError(`session ${name} has not run yet (it is ${rec.state})`);
    const found = await this.runtime(rec).logs(
      { name, layout: rec.layout, runId, lines: o.lines, follow: o.follow, jobId: rec.jobId },
      onLine,
      o.signal,
    );
    const log = logFile(rec.layout, name, runId);
    if (!found) {
      throw new NotFoundError(`no log ${log} on ${rec.host}`, {
        hint: 'berth session status NAME lists the runs; pick one with --run',
      });
    }
    return { name, host: rec.host, runId, log };
  }

  /** The text on the session's screen now (and `history` lines above it). */
  async screen(name: string, history = 0): Promise<string> {
    const rec = await this.record(name);
    const screen = await this.runtime(rec).screen(refOf(rec), history);
    if (screen === undefined) {
      throw new NotFoundError(
        `session ${name} has no tmux session on ${rec.host} (it is ${rec.state})`,
        {
          hint: `its log is still there: berth session logs ${name}`,
        },
      );
    }
    return screen;
  }
}

/** What a runtime needs to find a recorded session on its host. */
export function refOf(r: SessionRecord): SessionRef {
  return {
    name: r.name,
    layout: r.layout,
    runId: r.runId,
    jobId: r.jobId,
    ...(r.spec.slurm?.lease ? { lease: r.spec.slurm.lease } : {}),
  };
}

function running(
  name: string,
  host: string,
  pid: number | null,
  jobId: string | null,
  moved: boolean,
) {
  const what = jobId ? `job ${jobId}` : `pid ${pid ?? '?'}`;
  return new ConflictError(
    `session ${name} is already ${jobId && pid === null ? 'queued' : 'running'} on ${host} (${what})`,
    {
      hint: moved
        ? `stop it first (berth session stop ${name}), or --force to stop it there and start it as the spec now says`
        : `attach with berth session attach ${name}; --force stops it and starts it again`,
    },
  );
}
