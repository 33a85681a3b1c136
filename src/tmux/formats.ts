/**
 * `-F` formats berth asks tmux for, and pure parsers of what tmux prints for them.
 * Fields are separated by '|'; the session name (the only free text) comes last, so a name
 * containing '|' still parses.
 */

export const SESSION_FORMAT =
  '#{session_created}|#{session_attached}|#{session_windows}|#{session_name}';

export interface TmuxSession {
  name: string;
  /** Epoch seconds. */
  created: number;
  /** Clients attached right now. */
  attached: number;
  windows: number;
}

export const PANE_FORMAT =
  '#{pane_pid}|#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}|#{window_index}.#{pane_index}|#{session_name}';

export interface TmuxPane {
  session: string;
  /** `window.pane`, e.g. `0.0`. */
  index: string;
  /** The pid of the pane's first process. */
  pid: number;
  dead: boolean;
  /**
   * Exit status of a dead pane whose process exited (needs `remain-on-exit on`). Best
   * effort: tmux 3.3a sometimes marks a pane dead (its pty closed) but never reaps the
   * process, which stays a zombie and leaves this null (seen in about 1 of 3 short-lived
   * panes here). berth's session runtime therefore writes exit codes to a file itself.
   */
  exitStatus: number | null;
  /** Signal number of a dead pane whose process was killed. */
  exitSignal: number | null;
}

function fields(line: string, count: number): string[] | undefined {
  const parts = line.replace(/\r$/, '').split('|');
  if (parts.length < count) return undefined;
  return [...parts.slice(0, count - 1), parts.slice(count - 1).join('|')];
}

function int(text: string | undefined): number | null {
  return text !== undefined && /^-?\d+$/.test(text) ? Number(text) : null;
}

/** Parse `list-sessions -F SESSION_FORMAT` output; lines that don't fit are skipped. */
export function parseSessions(text: string): TmuxSession[] {
  const out: TmuxSession[] = [];
  for (const line of text.split('\n')) {
    const f = fields(line, 4);
    if (!f) continue;
    const [created, attached, windows, name] = f;
    const c = int(created);
    if (c === null || !name) continue;
    out.push({ name, created: c, attached: int(attached) ?? 0, windows: int(windows) ?? 0 });
  }
  return out;
}

/** Parse `list-panes -F PANE_FORMAT` output; lines that don't fit are skipped. */
export function parsePanes(text: string): TmuxPane[] {
  const out: TmuxPane[] = [];
  for (const line of text.split('\n')) {
    const f = fields(line, 6);
    if (!f) continue;
    const [pid, dead, status, signal, index, session] = f;
    const p = int(pid);
    if (p === null || !session || !index) continue;
    const isDead = dead === '1';
    out.push({
      session,
      index,
      pid: p,
      dead: isDead,
      exitStatus: isDead ? int(status) : null,
      exitSignal: isDead ? int(signal) : null,
    });
  }
  return out;
}

/** tmux's answer when there is no server on the socket (not an error for a list). */
export function isNoServer(stderr: string): boolean {
  return /no server running on|error connecting to|failed to connect to server/i.test(stderr);
}

/** tmux's answer when the target session does not exist. */
export function isNoSession(stderr: string): boolean {
  return /can't find (session|pane|window)|session not found/i.test(stderr) || isNoServer(stderr);
}
