/**
 * Job states: a discriminated union in which each state carries exactly its own data, the
 * mapping from every SLURM state code, and the one pure lifecycle transition function.
 * docs/job-states.md draws the diagram and the SLURM table.
 *
 * Times are epoch milliseconds, or null when the scheduler does not say.
 */

export type JobState =
  | { kind: 'pending'; reason: string | null }
  | { kind: 'running'; nodes: string[]; startedAt: number | null }
  | { kind: 'suspended'; since: number | null }
  | { kind: 'completing'; nodes: string[] }
  | { kind: 'completed'; exitCode: 0; endedAt: number | null }
  | {
      kind: 'failed';
      exitCode: number | null;
      signal?: number;
      endedAt: number | null;
      reason?: string;
    }
  | { kind: 'cancelled'; by?: string; endedAt: number | null }
  | { kind: 'timeout'; limit: 'walltime' | 'deadline'; endedAt: number | null }
  | { kind: 'out_of_memory'; endedAt: number | null }
  | { kind: 'node_fail'; reason?: string; endedAt: number | null }
  | { kind: 'preempted'; endedAt: number | null }
  | { kind: 'lost'; reason: string; since: number | null }
  | { kind: 'unknown'; reason: string; since: number | null; last?: JobState };

export type StateKind = JobState['kind'];

export const TERMINAL_KINDS: readonly StateKind[] = [
  'completed',
  'failed',
  'cancelled',
  'timeout',
  'out_of_memory',
  'node_fail',
  'preempted',
  'lost',
];

/** A terminal state never changes on its own: the watcher caches it and stops asking. */
export function isTerminal(state: JobState): boolean {
  return TERMINAL_KINDS.includes(state.kind);
}

/** SLURM's `ExitCode`/`DerivedExitCode` field `N:S`: exit status and terminating signal. */
export interface ExitCode {
  exitCode: number;
  signal: number;
}

export function parseExitCode(text: string): ExitCode | null {
  const m = /^(\d+):(\d+)$/.exec(text.trim());
  return m ? { exitCode: Number(m[1]), signal: Number(m[2]) } : null;
}

/** What the scheduler said besides the state code (each field optional). */
export interface SlurmStateExtra {
  reason?: string | null;
  nodes?: string[];
  startedAt?: number | null;
  endedAt?: number | null;
  exitCode?: string | ExitCode | null;
}

type Mapper = (x: Required<Pick<SlurmStateExtra, 'nodes'>> & SlurmStateExtra) => JobState;

interface SlurmStateInfo {
  code: string;
  name: string;
  berth: StateKind;
  map: Mapper;
}

const ended = (x: SlurmStateExtra) => x.endedAt ?? null;
const pendingAs =
  (why: string): Mapper =>
  (x) => ({ kind: 'pending', reason: reasonOf(x) ? `${why}: ${reasonOf(x)}` : why });

/** Every SLURM 22.05 job state: short code, long name, berth state kind, mapper. */
export const SLURM_STATES: readonly SlurmStateInfo[] = [
  {
    code: 'PD',
    name: 'PENDING',
    berth: 'pending',
    map: (x) => ({ kind: 'pending', reason: reasonOf(x) }),
  },
  { code: 'CF', name: 'CONFIGURING', berth: 'pending', map: pendingAs('configuring') },
  { code: 'RQ', name: 'REQUEUED', berth: 'pending', map: pendingAs('requeued') },
  { code: 'RH', name: 'REQUEUE_HOLD', berth: 'pending', map: pendingAs('held after requeue') },
  {
    code: 'RF',
    name: 'REQUEUE_FED',
    berth: 'pending',
    map: pendingAs('requeued by the federation'),
  },
  {
    code: 'RD',
    name: 'RESV_DEL_HOLD',
    berth: 'pending',
    map: pendingAs('held: reservation deleted'),
  },
  { code: 'SE', name: 'SPECIAL_EXIT', berth: 'pending', map: pendingAs('held after special exit') },
  { code: 'R', name: 'RUNNING', berth: 'running', map: running },
  { code: 'RS', name: 'RESIZING', berth: 'running', map: running },
  { code: 'SI', name: 'SIGNALING', berth: 'running', map: running },
  {
    code: 'S',
    name: 'SUSPENDED',
    berth: 'suspended',
    map: () => ({ kind: 'suspended', since: null }),
  },
  {
    code: 'ST',
    name: 'STOPPED',
    berth: 'suspended',
    map: () => ({ kind: 'suspended', since: null }),
  },
  {
    code: 'CG',
    name: 'COMPLETING',
    berth: 'completing',
    map: (x) => ({ kind: 'completing', nodes: x.nodes }),
  },
  {
    code: 'SO',
    name: 'STAGE_OUT',
    berth: 'completing',
    map: (x) => ({ kind: 'completing', nodes: x.nodes }),
  },
  {
    code: 'CD',
    name: 'COMPLETED',
    berth: 'completed',
    map: (x) => ({ kind: 'completed', exitCode: 0, endedAt: ended(x) }),
  },
  { code: 'F', name: 'FAILED', berth: 'failed', map: failed },
  {
    code: 'CA',
    name: 'CANCELLED',
    berth: 'cancelled',
    map: (x) => ({ kind: 'cancelled', endedAt: ended(x) }),
  },
  {
    code: 'TO',
    name: 'TIMEOUT',
    berth: 'timeout',
    map: (x) => ({ kind: 'timeout', limit: 'walltime', endedAt: ended(x) }),
  },
  {
    code: 'DL',
    name: 'DEADLINE',
    berth: 'timeout',
    map: (x) => ({ kind: 'timeout', limit: 'deadline', endedAt: ended(x) }),
  },
  {
    code: 'OOM',
    name: 'OUT_OF_MEMORY',
    berth: 'out_of_memory',
    map: (x) => ({ kind: 'out_of_memory', endedAt: ended(x) }),
  },
  { code: 'NF', name: 'NODE_FAIL', berth: 'node_fail', map: (x) => nodeFail(x, reasonOf(x)) },
  { code: 'BF', name: 'BOOT_FAIL', berth: 'node_fail', map: (x) => nodeFail(x, 'boot failure') },
  {
    code: 'PR',
    name: 'PREEMPTED',
    berth: 'preempted',
    map: (x) => ({ kind: 'preempted', endedAt: ended(x) }),
  },
  {
    code: 'RV',
    name: 'REVOKED',
    berth: 'lost',
    map: (x) => ({
      kind: 'lost',
      reason: 'revoked: a sibling of this federated job started on another cluster',
      since: ended(x),
    }),
  },
];

const BY_TEXT = new Map<string, SlurmStateInfo>();
for (const s of SLURM_STATES) {
  BY_TEXT.set(s.code, s);
  BY_TEXT.set(s.name, s);
}

function reasonOf(x: SlurmStateExtra): string | null {
  const r = x.reason?.trim();
  return r && !/^(none|\(null\)|n\/a)$/i.test(r) ? r : null;
}

function running(x: SlurmStateExtra & { nodes: string[] }): JobState {
  return { kind: 'running', nodes: x.nodes, startedAt: x.startedAt ?? null };
}

function exitOf(x: SlurmStateExtra): ExitCode | null {
  if (x.exitCode === undefined || x.exitCode === null) return null;
  return typeof x.exitCode === 'string' ? parseExitCode(x.exitCode) : x.exitCode;
}

function failed(x: SlurmStateExtra): JobState {
  const code = exitOf(x);
  const reason = reasonOf(x);
  return {
    kind: 'failed',
    exitCode: code ? code.exitCode : null,
    ...(code && code.signal > 0 ? { signal: code.signal } : {}),
    endedAt: ended(x),
    ...(reason ? { reason } : {}),
  };
}

function nodeFail(x: SlurmStateExtra, reason: string | null): JobState {
  return { kind: 'node_fail', ...(reason ? { reason } : {}), endedAt: ended(x) };
}

/**
 * The berth state for a SLURM state as `squeue %T/%t` or `sacct State` prints it:
 * long names, short codes, `CANCELLED by 1000`, and sacct's truncation mark `+`.
 */
export function fromSlurmState(stateText: string, extra: SlurmStateExtra = {}): JobState {
  const text = stateText.trim();
  const cancelledBy = /^CANCELLED\s+by\s+(\S+)$/i.exec(text);
  if (cancelledBy) return { kind: 'cancelled', by: cancelledBy[1]!, endedAt: ended(extra) };
  const key = text.replace(/\+$/, '').toUpperCase();
  const info = BY_TEXT.get(key);
  if (!info) {
    return {
      kind: 'unknown',
      reason: `unrecognised SLURM state ${JSON.stringify(text)}`,
      since: null,
    };
  }
  return info.map({ ...extra, nodes: extra.nodes ?? [] });
}

/** What can happen to a job, as the watcher and the CLI see it. */
export type JobEvent =
  | { type: 'submitted'; at: number }
  | { type: 'observed'; state: JobState; at: number }
  | { type: 'query_failed'; reason: string; at: number }
  | { type: 'vanished'; at: number };

/**
 * The lifecycle, as one pure function. Rules:
 * - a fresh observation wins, except that a terminal state is only left for `pending`
 *   (SLURM requeued the job); any other non-terminal observation of it is stale;
 * - a failed query makes a live job `unknown` (keeping the last known state), never gone;
 *   a terminal state stays terminal;
 * - a job absent from the queue and from accounting is `lost`, unless already terminal.
 * `lost` is a conclusion, not an observation: any later observation replaces it.
 */
export function transition(state: JobState, event: JobEvent): JobState {
  switch (event.type) {
    case 'submitted':
      return { kind: 'pending', reason: null };
    case 'observed':
      return observe(state, event.state, event.at);
    case 'query_failed':
      if (isTerminal(state)) return state;
      if (state.kind === 'unknown') return { ...state, reason: event.reason };
      return { kind: 'unknown', reason: event.reason, since: event.at, last: state };
    case 'vanished': {
      if (isTerminal(state)) return state;
      const last = state.kind === 'unknown' ? state.last : state;
      const seen = last ? ` (last seen ${last.kind})` : '';
      return {
        kind: 'lost',
        reason: `left the queue with no accounting record${seen}`,
        since: event.at,
      };
    }
  }
}

function observe(state: JobState, next: JobState, at: number): JobState {
  const known = state.kind === 'unknown' ? state.last : state;
  if (next.kind === 'unknown') {
    if (known && isTerminal(known)) return known;
    return { ...next, since: next.since ?? at, ...(known ? { last: known } : {}) };
  }
  if (!known || known.kind === 'lost' || !isTerminal(known)) return next;
  if (isTerminal(next) || next.kind === 'pending') return next;
  return known;
}

/** A short human label: `pending (Priority)`, `failed (exit 3)`, `cancelled by 1000`. */
export function describeState(state: JobState): string {
  switch (state.kind) {
    case 'pending':
      return state.reason ? `pending (${state.reason})` : 'pending';
    case 'running':
      return state.nodes.length ? `running on ${state.nodes.join(',')}` : 'running';
    case 'failed': {
      const parts = [
        state.exitCode === null ? '' : `exit ${state.exitCode}`,
        state.signal ? `signal ${state.signal}` : '',
      ].filter(Boolean);
      return parts.length ? `failed (${parts.join(', ')})` : 'failed';
    }
    case 'cancelled':
      return state.by ? `cancelled by ${state.by}` : 'cancelled';
    case 'timeout':
      return state.limit === 'deadline' ? 'timeout (deadline)' : 'timeout';
    case 'node_fail':
      return state.reason ? `node_fail (${state.reason})` : 'node_fail';
    case 'lost':
    case 'unknown':
      return `${state.kind} (${state.reason})`;
    default:
      return state.kind;
  }
}
