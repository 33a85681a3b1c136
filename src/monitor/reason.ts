/**
 * Why a run ended, beyond its exit status: the scheduler's word (scontrol, sacct) and the
 * kernel's (OOM kills counted by the memory cgroup). Best-effort and bounded: a lookup that
 * fails or takes too long gives null, never an error.
 *
 * scontrol and sacct are asked at once: scontrol needs only slurmctld (always reachable from a
 * compute node), sacct needs slurmdbd (not always reachable from compute nodes).
 */
import { readFileSync } from 'node:fs';
import type { Runner } from '../transport/runner.js';
import type { RefinedReason } from './supervise.js';

/** SLURM state text (`CANCELLED by 0`, `TIMEOUT`, `OUT_OF_MEMORY`, `NF`…) → reason, or null. */
export function reasonFromSlurmState(text: string | null | undefined): RefinedReason | null {
  const t = (text ?? '').trim().toUpperCase().replace(/\+$/, '');
  if (/^(CANCELLED|CA)\b/.test(t)) return 'cancelled';
  if (/^(TIMEOUT|TO|DEADLINE|DL)$/.test(t)) return 'timeout';
  if (/^(OUT_OF_MEMORY|OOM)$/.test(t)) return 'out_of_memory';
  if (/^(NODE_FAIL|NF|BOOT_FAIL|BF)$/.test(t)) return 'node_fail';
  if (/^(PREEMPTED|PR)$/.test(t)) return 'preempted';
  return null;
}

/**
 * While the job's last step (the wrapper itself) is still running, slurmctld shows a job it is
 * ending as COMPLETING and keeps the cause in Reason: `TimeLimit` for walltime, `None` for
 * scancel (seen on 22.05). sacct already says TIMEOUT / CANCELLED, when it can be reached.
 */
export function reasonFromSlurm(found: {
  state: string;
  reason?: string | null;
}): RefinedReason | null {
  const direct = reasonFromSlurmState(found.state);
  if (direct) return direct;
  if (!/^(COMPLETING|CG)$/i.test(found.state.trim())) return null;
  const why = found.reason ?? '';
  if (/time.?limit|deadline/i.test(why)) return 'timeout';
  if (/preempt/i.test(why)) return 'preempted';
  if (/node/i.test(why)) return 'node_fail';
  return 'cancelled';
}

/** `JobState=TIMEOUT` from `scontrol show job -o`. */
export function parseScontrolState(text: string): string | null {
  return /\bJobState=(\S+)/.exec(text)?.[1] ?? null;
}

/** `Reason=TimeLimit` from `scontrol show job -o` (null for None). */
export function parseScontrolReason(text: string): string | null {
  const r = /\bReason=(\S+)/.exec(text)?.[1] ?? null;
  return r && r !== 'None' && r !== '(null)' ? r : null;
}

/** The first State value from `sacct -X -n -P -o State`. */
export function parseSacctState(text: string): string | null {
  const line = text.split('\n').find((l) => l.trim() !== '');
  return line ? line.trim() : null;
}

/** `oom_kill N` from cgroup v2 memory.events or v1 memory.oom_control. */
export function parseOomKills(text: string): number | null {
  const m = /^oom_kill\s+(\d+)$/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** The memory cgroup file holding the OOM-kill count for a /proc/<pid>/cgroup text. */
export function oomFileFor(procCgroup: string, root = '/sys/fs/cgroup'): string | null {
  const lines = procCgroup.split('\n');
  const v1 = lines.map((l) => /^\d+:([^:]*\bmemory\b[^:]*):(.*)$/.exec(l)).find(Boolean);
  if (v1) return `${root}/${v1[1]}${v1[2]}/memory.oom_control`.replace(/\/+/g, '/');
  const v2 = lines.map((l) => /^0::(.*)$/.exec(l)).find(Boolean);
  if (v2) return `${root}${v2[1]}/memory.events`.replace(/\/+/g, '/');
  return null;
}

/** OOM kills so far in this process's memory cgroup, or null when it cannot tell. */
export function readOomKills(pid: number | 'self' = 'self'): number | null {
  try {
    const file = oomFileFor(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    return file ? parseOomKills(readFileSync(file, 'utf8')) : null;
  } catch {
    return null;
  }
}

export interface SlurmStateLookup {
  state: string;
  /** scontrol's Reason (null for None, and from sacct). */
  reason: string | null;
  source: 'scontrol' | 'sacct';
}

/** Ask scontrol and sacct at once for the job's state; the first useful answer wins. */
export async function lookupSlurmState(
  jobId: string,
  opts: { timeoutMs?: number; runner?: Runner } = {},
): Promise<SlurmStateLookup | null> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const runner =
    opts.runner ?? new (await import('../transport/local.js')).LocalRunner({ killGraceMs: 200 });
  const ask = async (
    argv: string[],
    source: SlurmStateLookup['source'],
  ): Promise<SlurmStateLookup | null> => {
    try {
      const r = await runner.run(argv, { timeoutMs });
      if (r.exitCode !== 0) return null;
      const state =
        source === 'scontrol' ? parseScontrolState(r.stdout) : parseSacctState(r.stdout);
      const reason = source === 'scontrol' ? parseScontrolReason(r.stdout) : null;
      return state ? { state, reason, source } : null;
    } catch {
      return null;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<null[]>((resolve) => {
    timer = setTimeout(() => resolve([null, null]), timeoutMs + 500);
  });
  const [fromScontrol, fromSacct] = await Promise.race([
    Promise.all([
      ask(['scontrol', 'show', 'job', '-o', jobId], 'scontrol'),
      ask(['sacct', '-X', '-n', '-P', '-j', jobId, '-o', 'State'], 'sacct'),
    ]),
    deadline,
  ]);
  clearTimeout(timer);
  // sacct's final state beats scontrol's COMPLETING; either beats nothing.
  const final = [fromSacct, fromScontrol].find((x) => x && reasonFromSlurmState(x.state));
  return final ?? fromScontrol ?? fromSacct ?? null;
}
