/**
 * Where a session lives on its host. Everything is under the host's work root (the host
 * profile's `root`; default: the state dir on this machine, `~/berth` elsewhere):
 *
 *   <root>/sessions/<name>/current              the newest run id
 *   <root>/sessions/<name>/runs/<run>/          launch.sh, command.sh, hooks, started, exit…
 *   <root>/sessions/<name>/checkpoints/         BERTH_CHECKPOINT_DIR (unless checkpoint.dir)
 *   <logs>/<name>/<run>.log                     the pane's output; <logs> = logs.dir or
 *                                               <root>/sessions
 *
 * A run id is the start time in UTC, `20260123T040506.789Z`, so runs and logs sort by time.
 */
import { checkRoot, rootWord } from '../scheduler/slurm/submit-script.js';
import { tmuxSessionName } from '../tmux/names.js';
import { sessionSocket } from '../tmux/socket.js';
import type { SessionSpec } from './spec.js';

export interface SessionLayout {
  /** The host's work root (may start with `~/`). */
  root: string;
  /** The session's directory on the host. */
  dir: string;
  /** Logs go to `<logsDir>/<name>/<run>.log`. */
  logsDir: string;
  checkpointDir: string;
  /** tmux socket (`-L`) and session name. */
  socket: string;
  tmuxName: string;
}

export const RUN_ID_PATTERN = /^\d{8}T\d{6}\.\d{3}Z$/;

/** The run id of a start at `date`. */
export function runIdAt(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '');
}

/** Epoch ms of a run id (NaN when it is not one). */
export function runIdTime(runId: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z$/.exec(runId);
  if (!m) return Number.NaN;
  return Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`);
}

/**
 * The layout of a session: `namespace` tells berth installations apart in socket names
 * (the local state dir).
 */
export function layoutFor(
  spec: Pick<SessionSpec, 'name' | 'logs' | 'checkpoint'>,
  root: string,
  namespace: string,
): SessionLayout {
  checkRoot(root);
  const base = trimSlash(root);
  const dir = `${base}/sessions/${spec.name}`;
  return {
    root,
    dir,
    logsDir: trimSlash(spec.logs.dir ?? `${base}/sessions`),
    checkpointDir: trimSlash(spec.checkpoint.dir ?? `${dir}/checkpoints`),
    socket: sessionSocket(namespace, spec.name),
    tmuxName: tmuxSessionName(spec.name),
  };
}

/** The log file of a run (a host path, may start with `~/`). */
export function logFile(layout: SessionLayout, name: string, runId: string): string {
  return `${layout.logsDir}/${name}/${runId}.log`;
}

/** Shell text for a host path: `~/x` becomes "$HOME"/x, anything else is quoted. */
export function pathWord(path: string): string {
  return rootWord(path);
}

function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}
