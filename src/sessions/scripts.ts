/**
 * The shell scripts berth runs on a session's host, one round trip each, pure renderers.
 * Every user value goes through quote(); host paths through pathWord() (`~/` → $HOME).
 * Output lines berth reads start with MARK, so login-shell noise around them is ignored.
 */
import { PANE_FORMAT } from '../tmux/formats.js';
import { quote } from '../transport/quote.js';
import { type LauncherPlan, renderCommand, renderLauncher } from './launcher.js';
import { pathWord, type SessionLayout } from './layout.js';

export const MARK = '@@berth-session';

/**
 * `__alive PID`: the process exists and is not a zombie. (tmux 3.3a does not always reap
 * a pane's process, so `kill -0` and `tail --pid` would wait for a zombie forever.)
 */
export const ALIVE = `__alive() { case $(ps -o stat= -p "$1" 2>/dev/null) in ''|Z*) return 1 ;; esac; }`;

export interface StartPlan extends LauncherPlan {
  runId: string;
}

/** tmux on the session's socket, as a shell function `__t`. */
function tmuxFn(layout: SessionLayout): string {
  return `__t() { tmux -L ${quote(layout.socket)} "$@"; }`;
}

/** Write `content` to the file named by the shell word `target`, atomically (temp + mv). */
function writeFile(target: string, content: string): string {
  return `printf '%s' ${quote(content)} > ${target}.tmp && mv -f -- ${target}.tmp ${target} || __fail "cannot write" ${target}`;
}

/**
 * Shell lines that write the session's files into `$__d` (the launcher, the command, the
 * hooks, heartbeat.sh, spec.json), each atomically. Needs `__fail`.
 */
export function writeFilesLines(p: LauncherPlan): string[] {
  const { spec } = p;
  const hooks = Object.entries(spec.hooks).filter(([, text]) => text !== undefined);
  return [
    'mkdir -p -- "$__d/hooks" || __fail "cannot create" "$__d"',
    writeFile('"$__d/launch.sh"', renderLauncher(p)),
    writeFile('"$__d/command.sh"', renderCommand(spec)),
    'rm -f -- "$__d"/hooks/*.sh "$__d/heartbeat.sh"',
    ...hooks.map(([name, text]) => writeFile(`"$__d/hooks/${name}.sh"`, `${text}\n`)),
    ...(spec.heartbeat ? [writeFile('"$__d/heartbeat.sh"', `${spec.heartbeat.command}\n`)] : []),
    writeFile('"$__d/spec.json"', `${JSON.stringify(spec, null, 2)}\n`),
  ];
}

/**
 * The first lines of a script that prepares a session without starting it (runtimes slurm
 * and slurm-tenant): write its files into `$__d`, then source preSubmit.
 */
export function prepareLines(p: LauncherPlan): string[] {
  return [
    'umask 077',
    `__fail() { echo "${MARK}:error $*"; exit 0; }`,
    `__d=${pathWord(p.layout.dir)}`,
    ...writeFilesLines(p),
    ...preSubmitLines(p),
  ];
}

/**
 * Start a run: refuse when the session is alive (prints `exists <pid>`), clear a dead
 * one, write the launcher, command and hooks, run the preSubmit hook, create the tmux
 * session (remain-on-exit, log pipe) and let the launcher go. Prints `started <pane pid>`.
 */
export function renderStartScript(p: StartPlan): string {
  const { spec, layout } = p;
  const t = quote(layout.tmuxName);
  return [
    'umask 077',
    `__fail() { echo "${MARK}:error $*"; exit 0; }`,
    tmuxFn(layout),
    `__d=${pathWord(layout.dir)}`,
    `__run=${quote(p.runId)}`,
    '__r="$__d/runs/$__run"',
    `__logd=${pathWord(`${layout.logsDir}/${spec.name}`)}`,
    `if __t has-session -t =${t} 2>/dev/null; then`,
    `  if [ "$(__t display-message -p -t =${t}: '#{pane_dead}' 2>/dev/null)" != 1 ]; then`,
    `    echo "${MARK}:exists $(__t display-message -p -t =${t}: '#{pane_pid}')"; exit 0`,
    '  fi',
    `  __t kill-session -t =${t} 2>/dev/null`,
    'fi',
    ...writeFilesLines(p),
    ...preSubmitLines(p),
    'mkdir -p -- "$__r" "$__logd" || __fail "cannot create" "$__r"',
    'date +%s > "$__r/started"',
    writeFile('"$__d/current"', `${p.runId}\n`),
    '__cmd="exec bash $(printf %q "$__d/launch.sh") $__run"',
    '__pipe="exec cat >> $(printf %q "$__logd/$__run.log")"',
    `__e=$(__t new-session -d -s ${t} -x 200 -y 50 "$__cmd" \\; set-window-option -t =${t}: remain-on-exit on \\; pipe-pane -t =${t}: -o "$__pipe" 2>&1) || __fail "tmux: $__e"`,
    ': > "$__r/go"',
    `echo "${MARK}:started $(__t display-message -p -t =${t}: '#{pane_pid}')"`,
  ].join('\n');
}

/**
 * The preSubmit hook, sourced in a subshell (BERTH_* set, in the workdir), its output kept
 * in `$__d/preSubmit.log`; on failure its last lines are printed (`say`), then
 * `presubmit <rc>`, and the script ends.
 */
export function preSubmitLines(p: LauncherPlan): string[] {
  if (!p.spec.hooks.preSubmit) return [];
  const workdir = p.spec.workdir === undefined ? '"$HOME"' : pathWord(p.spec.workdir);
  return [
    `( export BERTH_SESSION=${quote(p.spec.name)} BERTH_RUNTIME=${quote(p.runtime)} BERTH_HOST=${quote(p.host)} BERTH_SESSION_DIR="$__d"`,
    `  cd -- ${workdir} 2>/dev/null; . "$__d/hooks/preSubmit.sh" ) > "$__d/preSubmit.log" 2>&1 < /dev/null`,
    '__rc=$?',
    'if [ "$__rc" -ne 0 ]; then',
    `  tail -n 5 "$__d/preSubmit.log" | sed 's/^/${MARK}:say /'`,
    `  echo "${MARK}:presubmit $__rc"; exit 0`,
    'fi',
  ];
}

export interface SessionRef {
  name: string;
  layout: SessionLayout;
  /** The run berth recorded last (to read its exit record once a newer run started). */
  runId?: string | null;
  /** SLURM runtimes: the job berth recorded last (the chain leads from it to the newest). */
  jobId?: string | null;
  /** SLURM runtimes: the directory of the chain file (default: the session's). */
  chainDir?: string;
  /** SLURM runtimes: the tmux socket of job J is `<socketPrefix>J` (default `<socket>-j`). */
  socketPrefix?: string;
  /** Runtime slurm-tenant: the lease. */
  lease?: string;
}

/**
 * Everything `status` needs about sessions on one host, in one round trip: per session the
 * current run, its pane, exit record, start time, log size and age, last heartbeat and
 * newest complete checkpoint; then the host's clock and one `ps` of every process.
 */
export function renderObserveScript(sessions: readonly SessionRef[]): string {
  const lines = ['export LC_ALL=C', `echo "${MARK}:now $(date +%s)"`];
  for (const { name, layout, runId } of sessions) {
    lines.push(
      `echo ${quote(`${MARK}:session ${name}`)}`,
      ...observeLines(name, layout, quote(layout.socket), runId ?? null),
    );
  }
  lines.push(...psLines(), `echo "${MARK}:end"`);
  return lines.join('\n');
}

/** One `ps` of the host, after a marker: the usage of the sessions printed before it. */
export function psLines(): string[] {
  return [`echo "${MARK}:ps"`, 'ps -e -o pid= -o ppid= -o pcpu= -o rss= -o time= 2>/dev/null'];
}

/**
 * What observe prints about one session (after its marker line): run, pane, run files,
 * log, newest checkpoint. `socket` is the shell word of its tmux socket.
 */
export function observeLines(
  name: string,
  layout: SessionLayout,
  socket = quote(layout.socket),
  knownRunId: string | null = null,
): string[] {
  const t = quote(layout.tmuxName);
  // The exit record of the run berth knows about, when a newer one has started since.
  const known = knownRunId
    ? [
        `[ "$__cur" != ${quote(knownRunId)} ] && [ -f "$__d/runs/"${quote(knownRunId)}/exit ] && echo "knownexit=$(head -n 1 "$__d/runs/"${quote(knownRunId)}/exit)"`,
      ]
    : [];
  return [
    `__d=${pathWord(layout.dir)}`,
    '__cur=$(head -n 1 "$__d/current" 2>/dev/null)',
    'case $__cur in *[!0-9TZ.]*) __cur= ;; esac',
    'echo "run=$__cur"',
    ...known,
    `tmux -L ${socket} list-panes -t =${t}: -F 'pane=${PANE_FORMAT}' 2>/dev/null | head -n 1`,
    'if [ -n "$__cur" ]; then',
    '  __r="$__d/runs/$__cur"',
    '  [ -f "$__r/started" ] && echo "started=$(head -n 1 "$__r/started")"',
    '  [ -f "$__r/job" ] && echo "runjob=$(head -n 1 "$__r/job")"',
    '  [ -f "$__r/exit" ] && echo "exit=$(head -n 1 "$__r/exit")"',
    '  [ -f "$__r/postStop.exit" ] && echo "postStop=$(head -n 1 "$__r/postStop.exit")"',
    '  [ -f "$__r/heartbeat" ] && echo "heartbeat=$(tail -n 1 "$__r/heartbeat")"',
    `  __log=${pathWord(`${layout.logsDir}/${name}`)}/"$__cur".log`,
    '  [ -f "$__log" ] && echo "log=$(stat -c \'%s %Y\' -- "$__log")"',
    'fi',
    `__k=${pathWord(layout.checkpointDir)}`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    '__l=; for __f in "$__k"/*/COMPLETE; do [ -f "$__f" ] && __l=${__f%/COMPLETE}; done',
    '[ -n "$__l" ] && echo "checkpoint=$__l"',
  ];
}

/**
 * Stop sessions on one host: TERM to each live pane's process group (the launcher and the
 * command: a program can checkpoint and exit), wait up to `graceS` for every pane to die,
 * then end the tmux sessions (SIGHUP to anything left). Prints per session its run, exit
 * record, `live` when its command was running, and `gone` when there was no tmux session.
 */
export function renderStopScript(sessions: readonly SessionRef[], graceS: number): string {
  const lines = ['export LC_ALL=C', ALIVE, '__pids='];
  for (const [i, { layout }] of sessions.entries()) {
    const t = quote(layout.tmuxName);
    lines.push(
      `__p=$(tmux -L ${quote(layout.socket)} display-message -p -t =${t}: '#{pane_dead} #{pane_pid}' 2>/dev/null)`,
      `__live${i}=`,
      `case $__p in "0 "*) kill -TERM -- "-\${__p#0 }" 2>/dev/null || kill -TERM "\${__p#0 }" 2>/dev/null; __pids="$__pids \${__p#0 }"; __live${i}=1;; esac`,
    );
  }
  lines.push(
    `__end=$(( $(date +%s) + ${Math.max(0, Math.ceil(graceS))} ))`,
    'while [ -n "$__pids" ] && [ "$(date +%s)" -lt "$__end" ]; do',
    '  __left=; for __q in $__pids; do __alive "$__q" && __left="$__left $__q"; done',
    '  __pids=$__left; [ -n "$__pids" ] && sleep 0.2',
    'done',
  );
  for (const [i, { name, layout }] of sessions.entries()) {
    const t = quote(layout.tmuxName);
    lines.push(
      ...stoppedRunLines(name, layout.dir, [
        `[ -z "$__live${i}" ] || echo live`,
        `tmux -L ${quote(layout.socket)} kill-session -t =${t} 2>/dev/null || echo gone`,
      ]),
    );
  }
  lines.push(`echo "${MARK}:end"`);
  return lines.join('\n');
}

/**
 * What a stop script prints about one session once it is stopped: its marker, current run
 * (`run=`), what `between` prints, and the run's exit record (`exit=`); see parseStopOutput.
 */
export function stoppedRunLines(name: string, dir: string, between: string[] = []): string[] {
  return [
    `echo ${quote(`${MARK}:session ${name}`)}`,
    `__d=${pathWord(dir)}`,
    '__cur=$(head -n 1 "$__d/current" 2>/dev/null)',
    'case $__cur in *[!0-9TZ.]*) __cur= ;; esac',
    'echo "run=$__cur"',
    ...between,
    '[ -n "$__cur" ] && [ -f "$__d/runs/$__cur/exit" ] && echo "exit=$(head -n 1 "$__d/runs/$__cur/exit")"',
  ];
}

export interface LogsPlan extends SessionRef {
  runId: string;
  lines: number;
  follow: boolean;
}

/**
 * Print the last lines of a run's log after a marker line; with `follow`, keep printing
 * until the session's command ends (its pane's process exits), then stop.
 */
export function renderLogsScript(p: LogsPlan): string {
  const file = `${pathWord(`${p.layout.logsDir}/${p.name}`)}/${quote(`${p.runId}.log`)}`;
  const n = Math.max(0, Math.trunc(p.lines));
  const lines = [
    `__f=${file}`,
    `[ -f "$__f" ] || { echo "${MARK}:nolog"; exit 0; }`,
    `echo "${MARK}:log"`,
  ];
  if (!p.follow) return [...lines, `exec tail -n ${n} -- "$__f"`].join('\n');
  return [
    ...lines,
    ALIVE,
    `__p=$(tmux -L ${quote(p.layout.socket)} display-message -p -t =${quote(p.layout.tmuxName)}: '#{pane_dead} #{pane_pid}' 2>/dev/null)`,
    `case $__p in "0 "*) ;; *) exec tail -n ${n} -- "$__f" ;; esac`,
    `tail -n ${n} -s 0.2 -F -- "$__f" 2>/dev/null & __t=$!`,
    'trap \'kill "$__t" 2>/dev/null\' EXIT HUP INT TERM',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    'while __alive "${__p#0 }"; do sleep 0.3; done',
    'sleep 0.5',
  ].join('\n');
}
