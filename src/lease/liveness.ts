/**
 * Liveness of a lease's job: ALIVE (pending or running), DEAD or UNKNOWN. DEAD only when
 * squeue and sacct agree that the job ended (or both have no record of it); a failed
 * query, or squeue saying "ended" before sacct does, is UNKNOWN — never dead by accident.
 * On a site without accounting squeue (and scontrol) is all there is.
 */
import type { JobState } from '../core/states.js';
import { describeState, isTerminal } from '../core/states.js';
import type { Observation } from '../scheduler/contract.js';
import { readSite } from '../scheduler/slurm/site.js';
import type { LeaseHost } from './context.js';
import type { Liveness } from './record.js';

export interface JobLiveness {
  jobId: string;
  liveness: Liveness;
  state: JobState;
  /** SLURM's state in words, or why the answer is UNKNOWN. */
  detail: string;
  nodes: string[];
  reason: string | null;
}

/** Pure: liveness from one observation. */
export function livenessOf(obs: Observation, accounting: boolean): Liveness {
  const s = obs.state;
  if (s.kind === 'unknown') return 'UNKNOWN';
  if (!isTerminal(s)) return 'ALIVE';
  if (!accounting) return 'DEAD';
  return obs.source === 'sacct' ? 'DEAD' : 'UNKNOWN';
}

export function jobLiveness(obs: Observation, accounting: boolean): JobLiveness {
  const s = obs.state;
  const liveness = livenessOf(obs, accounting);
  const detail =
    liveness === 'UNKNOWN' && s.kind !== 'unknown'
      ? `squeue says ${describeState(s)}; sacct has no record of it yet`
      : describeState(s);
  return {
    jobId: obs.jobId,
    liveness,
    state: s,
    detail,
    nodes: s.kind === 'running' || s.kind === 'completing' ? s.nodes : [],
    reason: s.kind === 'pending' ? s.reason : null,
  };
}

/** Observe jobs of one host in one squeue (+ one sacct) round trip. */
export async function observeLiveness(
  host: LeaseHost,
  jobIds: readonly string[],
): Promise<Map<string, JobLiveness>> {
  const out = new Map<string, JobLiveness>();
  if (jobIds.length === 0) return out;
  let accounting = true;
  try {
    accounting = (await readSite(host.runner)).accounting;
  } catch (e) {
    for (const jobId of jobIds) out.set(jobId, unknown(jobId, (e as Error).message));
    return out;
  }
  let observed: Map<string, Observation>;
  try {
    observed = await host.scheduler.observe(jobIds);
  } catch (e) {
    for (const jobId of jobIds) out.set(jobId, unknown(jobId, (e as Error).message));
    return out;
  }
  for (const jobId of jobIds) {
    const obs = observed.get(jobId);
    out.set(jobId, obs ? jobLiveness(obs, accounting) : unknown(jobId, 'not observed'));
  }
  return out;
}

function unknown(jobId: string, reason: string): JobLiveness {
  return {
    jobId,
    liveness: 'UNKNOWN',
    state: { kind: 'unknown', reason, since: Date.now() },
    detail: reason,
    nodes: [],
    reason: null,
  };
}
