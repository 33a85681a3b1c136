/**
 * The chain file `<dir>/chain`: every job of a lease appends one line per event,
 * `<epoch s> <job id> <event> [detail]` (see hold-script.ts). Events: `start <node>`,
 * `tenant <session>`, `tmux-failed`, `resubmit-ok <new job>`, `resubmit-failed <why>`,
 * `resubmit-skipped released`, `handover <new job>`, `body-exit <rc>`, `end`.
 * Parsing and following it are pure.
 */

export interface ChainEvent {
  /** Epoch ms. */
  at: number;
  jobId: string;
  event: string;
  detail: string;
}

export function parseChain(text: string): ChainEvent[] {
  const out: ChainEvent[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\d+) ([a-z-]+)(?: (.*))?$/.exec(line.trim());
    if (m) out.push({ at: Number(m[1]) * 1000, jobId: m[2]!, event: m[3]!, detail: m[4] ?? '' });
  }
  return out;
}

export interface ChainWalk {
  /** From the given job to the newest successor the chain knows, in order. */
  path: string[];
  /** Failed resubmits of jobs on the path (the newest first). */
  failures: ChainEvent[];
}

/** Follow `resubmit-ok` links from a job to the newest job of the chain. */
export function followChain(events: readonly ChainEvent[], from: string): ChainWalk {
  const next = new Map<string, string>();
  for (const e of events) {
    if (e.event === 'resubmit-ok' && /^\d+$/.test(e.detail)) next.set(e.jobId, e.detail);
  }
  const path = [from];
  const seen = new Set(path);
  for (let j = next.get(from); j !== undefined && !seen.has(j); j = next.get(j)) {
    path.push(j);
    seen.add(j);
  }
  const failures = events
    .filter((e) => e.event === 'resubmit-failed' && seen.has(e.jobId))
    .reverse();
  return { path, failures };
}
