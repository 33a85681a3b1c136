/**
 * Parsing what renderObserveScript printed (pure): per session its current run, pane,
 * exit record, log size and age, heartbeat and newest checkpoint; the process tree's CPU
 * and memory come from the one `ps` at the end. Lines before the first marker are noise.
 */
import { parsePanes, type TmuxPane } from '../tmux/formats.js';
import { RUN_ID_PATTERN } from './layout.js';
import { parsePs, type TreeUsage, treeUsage } from './proc.js';
import { MARK } from './scripts.js';

export interface RunObservation {
  name: string;
  /** The newest run on the host (its `current` file), or null before the first start. */
  runId: string | null;
  /** The tmux pane, or null when there is no tmux session. */
  pane: TmuxPane | null;
  startedAt: number | null;
  /** The launcher's exit record: the command's exit code and when (epoch ms). */
  exit: { code: number; at: number } | null;
  postStopExit: number | null;
  heartbeat: { at: number; exitCode: number } | null;
  log: { bytes: number; modifiedAt: number } | null;
  /** Path of the newest complete checkpoint on the host. */
  checkpoint: string | null;
  /** The pane's process tree (null when no process is alive). */
  usage: TreeUsage | null;
  /** SLURM runtimes: the newest job of the session, its squeue state (null: not queued) and batch host. */
  job: { id: string; state: string | null; node: string | null } | null;
  /** Why the session's node could not be asked (the job runs, but srun failed). */
  error: string | null;
  /** SLURM runtimes: the job that started the current run. */
  runJob: string | null;
  /** The exit record of the run berth knew about, when a newer run has started since. */
  knownExit: { code: number; at: number } | null;
}

export interface HostObservation {
  /** The host's clock (epoch ms), for ages on the host's own terms. */
  now: number;
  sessions: Map<string, RunObservation>;
  /** False when the output was cut short (the script did not finish). */
  complete: boolean;
}

/** An observation of `name` that saw nothing yet (no run, pane, job or files). */
export function blankObservation(name: string): RunObservation {
  return {
    name,
    runId: null,
    pane: null,
    startedAt: null,
    exit: null,
    postStopExit: null,
    heartbeat: null,
    log: null,
    checkpoint: null,
    usage: null,
    job: null,
    error: null,
    runJob: null,
    knownExit: null,
  };
}

const seconds = (text: string | undefined) =>
  text && /^\d+$/.test(text) ? Number(text) * 1000 : null;

export function parseObserve(stdout: string): HostObservation {
  const out: HostObservation = { now: Number.NaN, sessions: new Map(), complete: false };
  let current: RunObservation | undefined;
  let section: 'session' | 'ps' | undefined;
  // Each ps block gives the usage of the sessions printed since the previous block (one
  // block per host for direct, one per job's node for SLURM sessions).
  let waiting: RunObservation[] = [];
  let ps: string[] = [];
  const closePs = () => {
    if (section !== 'ps') return;
    const rows = parsePs(ps.join('\n'));
    for (const s of waiting) {
      if (s.pane && !s.pane.dead) s.usage = treeUsage(rows, s.pane.pid) ?? null;
    }
    waiting = [];
    ps = [];
  };
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith(`${MARK}:`)) {
      const [word, ...rest] = line.slice(MARK.length + 1).split(' ');
      const arg = rest.join(' ');
      closePs();
      if (word === 'now') out.now = seconds(arg) ?? Number.NaN;
      else if (word === 'session') {
        current = blankObservation(arg);
        out.sessions.set(arg, current);
        waiting.push(current);
        section = 'session';
        continue;
      } else if (word === 'ps') {
        section = 'ps';
        continue;
      } else if (word === 'end') out.complete = true;
      section = undefined;
      continue;
    }
    if (section === 'ps') ps.push(line);
    else if (section === 'session' && current) field(current, line);
  }
  closePs();
  return out;
}

function field(s: RunObservation, line: string): void {
  const eq = line.indexOf('=');
  if (eq < 0) return;
  const key = line.slice(0, eq);
  const value = line.slice(eq + 1).trim();
  const words = value.split(/\s+/);
  switch (key) {
    case 'run':
      s.runId = RUN_ID_PATTERN.test(value) ? value : null;
      break;
    case 'pane':
      s.pane = parsePanes(value)[0] ?? null;
      break;
    case 'started':
      s.startedAt = seconds(value);
      break;
    case 'exit':
      s.exit = exitRecord(words);
      break;
    case 'knownexit':
      s.knownExit = exitRecord(words);
      break;
    case 'postStop':
      s.postStopExit = /^\d+$/.test(value) ? Number(value) : null;
      break;
    case 'heartbeat': {
      const at = seconds(words[0]);
      s.heartbeat = at === null ? null : { at, exitCode: Number(words[1] ?? Number.NaN) };
      break;
    }
    case 'log': {
      const bytes = Number(words[0]);
      const at = seconds(words[1]);
      s.log = Number.isFinite(bytes) && at !== null ? { bytes, modifiedAt: at } : null;
      break;
    }
    case 'checkpoint':
      s.checkpoint = value || null;
      break;
    case 'job':
      s.job = /^\d+$/.test(value) ? { id: value, state: null, node: null } : null;
      break;
    case 'squeue': {
      const [state, node] = value.split('|');
      if (s.job && state) s.job = { ...s.job, state, node: node || null };
      break;
    }
    case 'runjob':
      s.runJob = /^\d+/.exec(value)?.[0] ?? null;
      break;
    case 'squeueerror':
      s.error = `squeue failed: ${value || 'no output'}`;
      break;
    case 'nodeerror':
      s.error = value || 'the node did not answer';
      break;
  }
}

function exitRecord(words: string[]): { code: number; at: number } | null {
  const code = /^-?\d+$/.test(words[0] ?? '') ? Number(words[0]) : null;
  return code === null ? null : { code, at: seconds(words[1]) ?? Number.NaN };
}
