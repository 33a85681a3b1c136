/**
 * Markers are read in one round trip per host: one shell script lists every READY,
 * FAILED, DONE.json and RUNNING under the run directory with its first line, and for each
 * RUNNING written on the listing host (its `uname -n`) whether the wrapper's pid in it is
 * still alive (`kill -0`, in the same script). Rendering and parsing are pure.
 *
 * The script never walks into task directories: it lists each unit directory once
 * (`ls -f`), reads every `TASK/READY` by its path, and looks for FAILED, DONE.json and
 * RUNNING only in the tasks that have no READY. READY lines come back compact: a header
 * per unit and hash, then one task number a line.
 */
import { quote } from '../transport/quote.js';
import { parseStepKey } from './layout.js';

export interface TaskMarker {
  /** Config hash in READY. */
  ready?: string;
  failed?: { hash: string; exitCode: number };
  /** Config hash in DONE.json (aggregate stages). */
  done?: string;
  /**
   * RUNNING: the wrapper that wrote it (host name and pid) is running the task, or was
   * when it was killed. `alive` is whether that pid lives: true or false when the marker
   * was written on the host that listed it, undefined when on another (a SLURM node).
   */
  running?: { host: string; pid: number; alive?: boolean };
}

export interface MarkerListing {
  /** False when the run directory does not exist yet. */
  exists: boolean;
  /** Keyed by `stage/step/task` (see markerKey). */
  markers: Map<string, TaskMarker>;
  /** The listing host's name (`uname -n`), as RUNNING markers hold it. */
  host?: string;
}

export function markerKey(stage: string, step: number, task: number): string {
  return `${stage}/${step}/${task}`;
}

const BEGIN = '@@berth-markers';
const NORUN = '@@berth-norun';
const HOST = '@@berth-host ';
const LIVE = '@@berth-live ';
const READY = '@@berth-ready ';
const SEP = '@@berth-sep';

/**
 * Prints every listed line and, after a RUNNING line whose host is this one and whose pid
 * `kill -0` reaches and is not a zombie (a killed wrapper nobody reaped; /proc where there
 * is one), `@@berth-live <path>`. The pid is checked to be digits before it reaches the
 * shell.
 */
const LIVE_AWK = `{ print } /\\/RUNNING:/ { i = index($0, ":"); split(substr($0, i + 1), a, " "); p = a[2]; if (a[1] == me && p ~ /^[0-9]+$/ && system("kill -0 " p " 2>/dev/null && ! grep -qs ^State:.Z /proc/" p "/status") == 0) print "${LIVE}" substr($0, 1, i - 1) }`;

/**
 * Reads grep's `./UNIT/TASK/READY:hash` lines, then (after SEP) every task directory.
 * READY lines go out compact (`@@berth-ready ./UNIT HASH` when the unit or hash changes,
 * then the task number); the three other marker paths of each task without READY go to
 * the file `f` for a second grep.
 */
const READY_AWK = `!s && $0 == "${SEP}" { s = 1; next }
!s { i = index($0, "/READY:"); if (!i) next; p = substr($0, 1, i - 1); h = substr($0, i + 7)
  r[p] = 1; n = match(p, /\\/[0-9]+$/); if (!n) next; u = substr(p, 1, RSTART - 1)
  if (u != lu || h != lh) { print "${READY}" u " " h; lu = u; lh = h }
  print substr(p, RSTART + 1); next }
!($0 in r) { print $0 "/FAILED" > f; print $0 "/RUNNING" > f; print $0 "/DONE.json" > f }`;

export function renderMarkerListing(runDir: string): string {
  return [
    `cd ${quote(runDir)} 2>/dev/null || { echo ${NORUN}; exit 0; }`,
    `echo ${BEGIN}`,
    'me=$(uname -n)',
    `printf '${HOST}%s\\n' "$me"`,
    // Task directories (./STAGE/STEP/TASK): one readdir per unit directory, none per task.
    `dirs=$(for u in */*/; do [ -d "$u" ] && ls -f "$u" | awk -v u="./$u" '/^[0-9]+$/ { print u $0 }'; done)`,
    '[ -n "$dirs" ] || exit 0',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    'left=$(mktemp "${TMPDIR:-/tmp}/berth-markers.XXXXXX") || exit 70',
    `trap 'rm -f "$left"' EXIT`,
    // Each line is `./STAGE/STEP/TASK/FILE:first line` (names never contain ':').
    `{ printf '%s\\n' "$dirs" | awk '{ print $0 "/READY" }' | xargs -r grep -s -H -m1 ''; echo ${SEP}; printf '%s\\n' "$dirs"; } \\`,
    `  | awk -v f="$left" ${quote(READY_AWK)}`,
    `xargs -r grep -s -H -m1 '' < "$left" | awk -v me="$me" ${quote(LIVE_AWK)}`,
    'true',
  ].join('\n');
}

/** Parse the listing's output; banner noise before the first marker line is ignored. */
export function parseMarkerListing(text: string): MarkerListing {
  const lines = text.split('\n');
  if (lines.some((l) => l.trim() === NORUN)) return { exists: false, markers: new Map() };
  const markers = new Map<string, TaskMarker>();
  const start = lines.findIndex((l) => l.trim() === BEGIN);
  let host: string | undefined;
  const live = new Set<string>();
  const runningAt = new Map<string, TaskMarker>();
  /** The `@@berth-ready` header the task-number lines that follow belong to. */
  let ready: { stage: string; step: number; hash: string } | undefined;
  for (const line of start < 0 ? [] : lines.slice(start + 1)) {
    if (/^\d+$/.test(line)) {
      if (!ready) continue;
      const key = markerKey(ready.stage, ready.step, Number(line));
      markers.set(key, { ...markers.get(key), ready: ready.hash });
      continue;
    }
    ready = undefined;
    if (line.startsWith(READY)) {
      ready = readyHeader(line.slice(READY.length));
      continue;
    }
    if (line.startsWith(HOST)) {
      host = line.slice(HOST.length).trim();
      continue;
    }
    if (line.startsWith(LIVE)) {
      live.add(line.slice(LIVE.length).trim().replace(/^\.\//, ''));
      continue;
    }
    const sep = line.indexOf(':');
    if (sep < 0) continue;
    const parts = line.slice(0, sep).replace(/^\.\//, '').split('/');
    if (parts.length !== 4) continue;
    const [stage, stepText, taskText, file] = parts as [string, string, string, string];
    const step = parseStepKey(stepText);
    if (step === undefined || !/^\d+$/.test(taskText)) continue;
    const key = markerKey(stage, step, Number(taskText));
    const m = markers.get(key) ?? {};
    const body = line.slice(sep + 1).trim();
    if (file === 'READY') m.ready = body.split(/\s+/)[0] ?? '';
    else if (file === 'FAILED') {
      const [hash = '', code = '1'] = body.split(/\s+/);
      m.failed = { hash, exitCode: Number(code) };
    } else if (file === 'DONE.json') m.done = doneHash(body);
    else if (file === 'RUNNING') {
      const [who = '', pid = ''] = body.split(/\s+/);
      if (!/^\d+$/.test(pid)) continue;
      m.running = { host: who, pid: Number(pid) };
      runningAt.set(line.slice(0, sep).replace(/^\.\//, ''), m);
    } else continue;
    markers.set(key, m);
  }
  for (const [path, m] of runningAt) {
    if (host !== undefined && m.running?.host === host) m.running.alive = live.has(path);
  }
  return { exists: true, markers, ...(host === undefined ? {} : { host }) };
}

/** `./STAGE/STEP HASH` of a compact READY header; undefined when it is not one. */
function readyHeader(rest: string): { stage: string; step: number; hash: string } | undefined {
  const space = rest.indexOf(' ');
  if (space < 0) return undefined;
  const parts = rest.slice(0, space).replace(/^\.\//, '').split('/');
  if (parts.length !== 2) return undefined;
  const step = parseStepKey(parts[1] as string);
  if (step === undefined) return undefined;
  const hash =
    rest
      .slice(space + 1)
      .trim()
      .split(/\s+/)[0] ?? '';
  return { stage: parts[0] as string, step, hash };
}

function doneHash(body: string): string {
  try {
    const v = JSON.parse(body) as { hash?: unknown };
    return typeof v.hash === 'string' ? v.hash : '';
  } catch {
    return '';
  }
}
