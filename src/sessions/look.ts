/**
 * `session status` and `session list`: observe every asked session, one round trip per
 * host, derive its state, apply its restart policy (there is no daemon: this is when the
 * policy acts) and write what was seen back to the record. A host that cannot be asked
 * makes its sessions `unknown`, never gone.
 */
import { isBerthError } from '../core/errors.js';
import { leaseSocket } from '../lease/layout.js';
import { logFile } from './layout.js';
import type { HostObservation, RunObservation } from './observe.js';
import type { TreeUsage } from './proc.js';
import {
  addRun,
  endRun,
  listRuns,
  patchSession,
  type RunRecord,
  type SessionRecord,
} from './records.js';
import { refOf, type SessionService, type StartResult } from './service.js';
import { jobSocket } from './slurm-scripts.js';
import type { Runtime } from './spec.js';
import { type Desired, deriveState, type SessionState, shouldRestart } from './state.js';

export interface SessionStatus {
  name: string;
  host: string;
  runtime: Runtime;
  labels: Record<string, string>;
  desired: Desired;
  state: SessionState['kind'];
  /** Running, but no output for logs.staleAfter. */
  stale: boolean;
  exitCode: number | null;
  pid: number | null;
  /** SLURM runtimes: the newest job of the session and its batch host. */
  jobId: string | null;
  node: string | null;
  runId: string | null;
  startedAt: number | null;
  endedAt: number | null;
  /** When the log last grew (the host's clock). */
  lastOutputAt: number | null;
  usage: TreeUsage | null;
  heartbeat: { at: number; exitCode: number } | null;
  checkpoint: string | null;
  restartPolicy: string;
  restarts: number;
  /** Set when the restart policy started a new run just now. */
  restarted?: {
    previousRunId: string | null;
    previousExitCode: number | null;
    runId: string | null;
  };
  /** Why the state is unknown. */
  error?: string;
  socket: string;
}

export interface StatusDetail extends SessionStatus {
  runs: RunRecord[];
  source: string | null;
}

/** Look at sessions (all, or these records), applying restart policies. */
export async function lookAt(
  svc: SessionService,
  records: readonly SessionRecord[],
): Promise<SessionStatus[]> {
  const groups = new Map<string, SessionRecord[]>();
  for (const r of records) {
    const key = `${r.runtime} ${r.host}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const looks = await Promise.all(
    [...groups.values()].map(async (recs) => {
      try {
        const obs = await svc.runtime(recs[0]!).observe(recs.map(refOf));
        return { recs, obs, error: undefined };
      } catch (e) {
        return {
          recs,
          obs: undefined,
          error: isBerthError(e) || e instanceof Error ? e.message : String(e),
        };
      }
    }),
  );
  const out: SessionStatus[] = [];
  for (const { recs, obs, error } of looks) {
    for (const r of recs) out.push(await settle(svc, r, obs, error));
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** One session: its status plus its recent runs. */
export async function statusOf(svc: SessionService, name: string): Promise<StatusDetail> {
  const rec = await svc.record(name);
  const [status] = await lookAt(svc, [rec]);
  return { ...status!, runs: await listRuns(svc.db, name, 10), source: rec.spec.source ?? null };
}

async function settle(
  svc: SessionService,
  r: SessionRecord,
  hostObs: HostObservation | undefined,
  error: string | undefined,
): Promise<SessionStatus> {
  const o = hostObs?.sessions.get(r.name);
  const now = hostObs?.now ?? Date.now();
  const state = deriveState({
    desired: r.desired,
    runtime: r.runtime,
    observation: o,
    now,
    ...(r.spec.logs.staleAfter === undefined ? {} : { staleAfterS: r.spec.logs.staleAfter }),
    ...(error === undefined ? {} : { error }),
  });
  let status = view(r, state, o, error);
  if (state.kind === 'unknown') return status;
  // Pending: queued, or a SLURM job whose new run has no pane yet (its `current` names the
  // run before the run's job file exists). Such a run is recorded at the first look that
  // finds it the job's own, so its reason (start, restart or resubmit) is read right.
  const settled = state.kind !== 'pending';
  if (settled) await recordNewRun(svc, r, o, now);
  const exitCode = 'exitCode' in state ? state.exitCode : null;
  const ended = state.kind === 'exited' || state.kind === 'stopped' || state.kind === 'lost';
  if (ended && status.runId) {
    await endRun(svc.db, r.name, status.runId, { endedAt: o?.exit?.at || now, exitCode });
  }
  if (shouldRestart(r.spec.restart, r.desired, state)) {
    const restarted = await restart(svc, r);
    if (restarted) {
      status = {
        ...status,
        state: restarted.jobId ? 'pending' : 'running',
        stale: false,
        pid: restarted.pid,
        jobId: restarted.jobId,
        node: null,
        runId: restarted.runId,
        startedAt: Date.now(),
        endedAt: null,
        exitCode: null,
        usage: null,
        lastOutputAt: null,
        restarts: r.restarts + 1,
        restarted: { previousRunId: r.runId, previousExitCode: exitCode, runId: restarted.runId },
      };
      return status;
    }
  }
  await patchSession(svc.db, r.name, {
    state: state.kind,
    exitCode,
    ...(settled && o?.runId ? { runId: o.runId } : {}),
    ...(o?.job ? { jobId: o.job.id } : {}),
  });
  return status;
}

/**
 * A run berth has not recorded yet (a SLURM job started it: the first job of a start, or a
 * successor): record it, and end the run it follows with that run's exit record.
 */
async function recordNewRun(
  svc: SessionService,
  r: SessionRecord,
  o: RunObservation | undefined,
  now: number,
): Promise<void> {
  if (!o?.runId || o.runId === r.runId) return;
  if (r.runId) {
    await endRun(svc.db, r.name, r.runId, {
      endedAt: o.knownExit?.at || o.startedAt || now,
      exitCode: o.knownExit?.code ?? null,
    });
  }
  const known = await listRuns(svc.db, r.name, 50);
  if (known.some((x) => x.runId === o.runId)) return;
  await addRun(svc.db, {
    sessionName: r.name,
    runId: o.runId,
    jobId: o.job?.id ?? null,
    reason:
      r.startJobId === null || o.runJob === r.startJobId ? (r.startReason ?? 'start') : 'resubmit',
    startedAt: o.startedAt ?? now,
    log: logFile(r.layout, r.name, o.runId),
  });
}

async function restart(svc: SessionService, r: SessionRecord): Promise<StartResult | undefined> {
  try {
    return await svc.start(r.spec, { reason: 'policy', skipRunning: true });
  } catch {
    return undefined; // the next look tries again; the status still shows why it ended
  }
}

/** The tmux socket the session's pane is on now. */
function socketOf(r: SessionRecord, jobId: string | null): string {
  if (!jobId || r.runtime === 'direct') return r.layout.socket;
  return r.runtime === 'slurm' ? jobSocket(r.layout, jobId) : leaseSocket(jobId);
}

function view(
  r: SessionRecord,
  s: SessionState,
  o: RunObservation | undefined,
  error: string | undefined,
): SessionStatus {
  return {
    name: r.name,
    host: r.host,
    runtime: r.runtime,
    labels: r.spec.labels,
    desired: r.desired,
    state: s.kind,
    stale: s.kind === 'running' && s.stale,
    exitCode: 'exitCode' in s ? s.exitCode : s.kind === 'unknown' ? r.exitCode : null,
    pid: s.kind === 'running' ? s.pid : null,
    jobId: o?.job?.id ?? r.jobId,
    node: o?.job?.node ?? null,
    runId: o?.runId ?? r.runId,
    startedAt: o?.startedAt ?? null,
    endedAt: o?.exit?.at ?? null,
    lastOutputAt: o?.log?.modifiedAt ?? null,
    usage: o?.usage ?? null,
    heartbeat: o?.heartbeat ?? null,
    checkpoint: o?.checkpoint ?? null,
    restartPolicy: r.spec.restart,
    restarts: r.restarts,
    ...(error === undefined ? {} : { error }),
    socket: socketOf(r, o?.job?.id ?? r.jobId),
  };
}
