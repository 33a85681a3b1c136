/**
 * The launcher: the script a session's tmux pane runs (`bash <dir>/launch.sh <run>`). Pure
 * renderer; every user value goes through quote(). In order it
 *
 *   1. waits until the starter has attached the log pipe (`<run>/go`), so no output is lost;
 *   2. exports BERTH_* (session, run, dirs, BERTH_CHECKPOINT_DIR and BERTH_RESUME_FROM =
 *      the newest complete checkpoint) and the spec's env, and enters the workdir;
 *   3. sources the preStart hook, starts the heartbeat loop, runs the command in the
 *      foreground (so it owns the terminal: typing and Ctrl-C reach it);
 *   4. writes `<run>/exit` ("<code> <epoch s>", via a temporary name) and, on success,
 *      sources the postStop hook in a subshell; a lease's tenant whose restart policy
 *      wants no new run leaves the lease (its jobs stop starting it).
 * TERM (berth session stop), INT (Ctrl-C) and USR1 (SLURM: the walltime is near) reach the
 * command; the launcher only notes them, so the exit code is written. HUP is not trapped:
 * when tmux ends the session (a stop past its grace, a lease's handover), the launcher
 * must die so that the kernel hangs up the command too (a launcher that waited would keep
 * the command running); such a run has no exit record.
 */
import { quote, quoteArgs } from '../transport/quote.js';
import { pathWord, type SessionLayout } from './layout.js';
import type { Runtime, SessionSpec } from './spec.js';

export interface LauncherPlan {
  spec: SessionSpec;
  layout: SessionLayout;
  host: string;
  runtime: Runtime;
  /** Runtime slurm-tenant: the lease's launcher of this tenant (every job of the lease runs it). */
  leaseLauncher?: string;
}

/** Hook files in `<dir>/hooks/`, and what each is. */
export const HOOKS = ['preSubmit', 'preStart', 'walltimeSignal', 'postStop'] as const;

export function renderLauncher(p: LauncherPlan): string {
  const { spec, layout } = p;
  const env = Object.entries(spec.env).map(([k, v]) => `export ${k}=${quote(v)}`);
  const workdir = spec.workdir === undefined ? '"$HOME"' : pathWord(spec.workdir);
  return [
    '#!/bin/bash',
    `# berth session launcher for ${spec.name} (written by berth at each start; do not edit)`,
    `__d=${pathWord(layout.dir)}`,
    '__run=$1',
    `__logd=${pathWord(`${layout.logsDir}/${spec.name}`)}`,
    // Without a run id (a lease's tenant, started by every job of the lease) the launcher
    // makes its own run and moves the pane's log pipe to that run's log.
    'if [ -z "$__run" ]; then',
    '  __run=$(date -u +%Y%m%dT%H%M%S.%3NZ)',
    '  umask 077; mkdir -p -- "$__d/runs/$__run" "$__logd"',
    '  date +%s > "$__d/runs/$__run/started"',
    `  [ -z "\${SLURM_JOB_ID:-}" ] || printf '%s %s\\n' "$SLURM_JOB_ID" "$(hostname)" > "$__d/runs/$__run/job"`,
    `  printf '%s\\n' "$__run" > "$__d/current.tmp" && mv -f -- "$__d/current.tmp" "$__d/current"`,
    '  tmux pipe-pane -t "$TMUX_PANE" "exec cat >> $(printf %q "$__logd/$__run.log")"',
    '  : > "$__d/runs/$__run/go"',
    'fi',
    '__r="$__d/runs/$__run"',
    '__log="$__logd/$__run.log"',
    // 1. the starter creates <run>/go once the log pipe is attached (at most ~30 s)
    '__i=0',
    'while [ ! -e "$__r/go" ] && [ "$__i" -lt 600 ]; do sleep 0.05; __i=$((__i + 1)); done',
    // 2. environment
    `export BERTH_SESSION=${quote(spec.name)} BERTH_SESSION_RUN="$__run" BERTH_RUNTIME=${quote(p.runtime)} BERTH_HOST=${quote(p.host)}`,
    'export BERTH_SESSION_DIR="$__d" BERTH_RUN_DIR="$__r" BERTH_LOG_FILE="$__log"',
    `export BERTH_CHECKPOINT_DIR=${pathWord(layout.checkpointDir)}`,
    'mkdir -p -- "$BERTH_CHECKPOINT_DIR"',
    'unset BERTH_RESUME_FROM',
    `__c=$(export LC_ALL=C; __l=; for __f in "$BERTH_CHECKPOINT_DIR"/*/COMPLETE; do [ -f "$__f" ] && __l=\${__f%/COMPLETE}; done; printf %s "$__l")`,
    '[ -n "$__c" ] && export BERTH_RESUME_FROM="$__c"',
    ...env,
    '__finish() { printf \'%s %s\\n\' "$1" "$(date +%s)" > "$__r/exit.tmp" && mv -f -- "$__r/exit.tmp" "$__r/exit"; }',
    `cd -- ${workdir} || { echo "berth: cannot enter the workdir" >&2; __finish 1; exit 1; }`,
    "trap '__berth_term=1' TERM",
    "trap ':' INT USR1",
    // 3. hook, heartbeat, command
    '__rc=0',
    'if [ -f "$__d/hooks/preStart.sh" ]; then',
    '  . "$__d/hooks/preStart.sh"; __rc=$?',
    '  [ "$__rc" -ne 0 ] && echo "berth: the preStart hook failed (exit $__rc); the command does not run" >&2',
    'fi',
    '__hb=',
    ...heartbeat(spec),
    'if [ "$__rc" -eq 0 ]; then bash "$__d/command.sh"; __rc=$?; fi',
    '[ -n "$__hb" ] && kill "$__hb" 2>/dev/null',
    // 4. exit code, then postStop on success
    '__finish "$__rc"',
    ...leaveLease(p),
    'if [ "$__rc" -eq 0 ] && [ -f "$__d/hooks/postStop.sh" ]; then',
    '  ( . "$__d/hooks/postStop.sh" ); printf \'%s\\n\' "$?" > "$__r/postStop.exit"',
    'fi',
    'exit "$__rc"',
    '',
  ].join('\n');
}

/**
 * A tenant whose command ended, and whose restart policy wants no new run for that exit,
 * takes its launcher out of the lease, so the lease's next job does not start it again.
 * (A run ended by the lease's hand-over gets SIGHUP and never gets here.)
 */
function leaveLease(p: LauncherPlan): string[] {
  if (!p.leaseLauncher || p.spec.restart === 'always') return [];
  const rm = `rm -f -- ${quote(p.leaseLauncher)}`;
  return p.spec.restart === 'never' ? [rm] : [`[ "$__rc" -ne 0 ] || ${rm}`];
}

function heartbeat(spec: SessionSpec): string[] {
  if (!spec.heartbeat) return [];
  return [
    'if [ "$__rc" -eq 0 ]; then',
    `  ( trap - TERM INT; while sleep ${spec.heartbeat.interval}; do`,
    '      bash "$__d/heartbeat.sh" >> "$__r/heartbeat.log" 2>&1 < /dev/null; __h=$?',
    '      printf \'%s %s\\n\' "$(date +%s)" "$__h" >> "$__r/heartbeat"',
    '    done ) &',
    '  __hb=$!',
    'fi',
  ];
}

/** command.sh: shell text as written, or `exec` of a program with exact arguments. */
export function renderCommand(spec: SessionSpec): string {
  const body = typeof spec.command === 'string' ? spec.command : `exec ${quoteArgs(spec.command)}`;
  return `${body}\n`;
}
