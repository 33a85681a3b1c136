// biome-ignore-all lint/suspicious/noTemplateCurlyInString: shell text uses ${…} parameter expansions
/**
 * Runtime `slurm`: the batch script of a session's job, as one pure function. `#SBATCH`
 * directives come from the job spec (scheduler/slurm/render.ts); the body
 *
 * - leaves at once when the session was stopped (`<dir>/stopped`), so a queued successor
 *   never starts it again;
 * - starts the tmux server first, in the batch script (so it lives in the job's own cgroup
 *   until the job ends), on a socket of this job (`<socket>-j<job>`): the session's pane
 *   runs the launcher of a new run, its output piped to `<logs>/<name>/<run>.log`;
 * - holds with `sleep 2 & wait $!` while the launcher lives (bash runs a trap only after
 *   the foreground child exits; `wait` returns as soon as a trapped signal comes), so the
 *   job ends within seconds of the command;
 * - on USR1 (`--signal=B:USR1@lead`: the walltime is near) sources the walltimeSignal
 *   hook, submits the successor from the stable copy `<dir>/job.sh` with
 *   `--dependency=afterany:<this job>` (autoResubmit), sends USR1 to the command's process
 *   group (it can checkpoint and exit), waits until the lead is almost used up, and ends;
 *   the successor starts a new run that resumes from the newest checkpoint;
 * - on TERM (berth session stop: `scancel --batch --signal=TERM`) sends TERM to the
 *   command, waits the grace written in `<dir>/stopped`, and ends.
 * Every event is a line of `<dir>/chain`, `<epoch> <job> <event> [detail]` — the format of
 * a lease's chain (lease/chain.ts follows it): start, run, resubmit-ok, resubmit-failed,
 * walltime, stop, end.
 */
import { UsageError } from '../core/errors.js';
import { renderSbatchScript } from '../scheduler/slurm/render.js';
import type { JobSpec } from '../scheduler/spec.js';
import { quote } from '../transport/quote.js';
import { pathWord, type SessionLayout } from './layout.js';
import { ALIVE } from './scripts.js';
import type { SessionSpec } from './spec.js';

export interface SessionJobInput {
  spec: SessionSpec;
  layout: SessionLayout;
  /** The session directory as an absolute path (for #SBATCH --output). */
  absDir: string;
  /** The job spec (resources merged over the host's SLURM defaults). */
  job: JobSpec;
  /** Seconds before the walltime at which USR1 comes, when it should come at all. */
  leadS: number | null;
  bins: { sbatch: string; tmux: string };
  host: string;
}

export const SESSION_JOB_PREFIX = 'berth-session-';

/** The walltime signal is wanted for autoResubmit or a walltimeSignal hook. */
export function wantsWalltimeSignal(spec: SessionSpec): boolean {
  return spec.slurm?.autoResubmit === true || spec.hooks.walltimeSignal !== undefined;
}

export function renderSessionJob(i: SessionJobInput): string {
  if (!i.absDir.startsWith('/') || /[\n\r\0\\%'"]/.test(i.absDir)) {
    throw new UsageError(
      `the session directory ${JSON.stringify(i.absDir)} cannot be used in a batch script`,
      {
        hint: 'use a host root without quotes, backslashes or % (hosts.<name>.root)',
      },
    );
  }
  const job: JobSpec = {
    ...i.job,
    name: `${SESSION_JOB_PREFIX}${i.spec.name}`,
    command: undefined,
    script: body(i),
    output: `${i.absDir}/jobs/job-%j.out`,
    error: undefined,
    array: undefined,
    workdir: undefined,
    env: {},
    signal: i.leadS === null ? undefined : { name: 'USR1', beforeS: i.leadS, batchOnly: true },
  };
  return renderSbatchScript(job);
}

function body(i: SessionJobInput): string {
  const { spec, layout } = i;
  const t = quote(layout.tmuxName);
  const walltimeWait = i.leadS === null ? 0 : Math.max(5, i.leadS - 15);
  return [
    '#!/bin/bash',
    `# berth session ${spec.name}: one job of it (runtime slurm). Resubmitted from ${i.absDir}/job.sh`,
    `__d=${pathWord(layout.dir)}`,
    `__logd=${pathWord(`${layout.logsDir}/${spec.name}`)}`,
    `__sbatch=${quote(i.bins.sbatch)}`,
    `__tmux=${quote(i.bins.tmux)}`,
    `__socket=${quote(layout.socket)}-j$SLURM_JOB_ID`,
    `__auto=${spec.slurm?.autoResubmit ? 1 : ''}`,
    '__node=${SLURMD_NODENAME:-$(hostname)}',
    `note() { printf '%(%s)T %s %s\\n' -1 "$SLURM_JOB_ID" "$*" >> "$__d/chain"; }`,
    ALIVE,
    '__t() { "$__tmux" -L "$__socket" "$@"; }',
    '# Set first, so no signal is lost (SLURM may send USR1 early).',
    '__usr1= __term= __sleep=',
    `trap '__usr1=1; [ -z "$__sleep" ] || kill "$__sleep" 2>/dev/null' USR1`,
    `trap '__term=1; [ -z "$__sleep" ] || kill "$__sleep" 2>/dev/null' TERM INT`,
    'if [ -e "$__d/stopped" ]; then note end stopped; exit 0; fi',
    'note start "$__node"',
    '',
    '# A new run, in a tmux server of this job, started here in the batch script.',
    '__run=$(date -u +%Y%m%dT%H%M%S.%3NZ)',
    '__r="$__d/runs/$__run"',
    'umask 077',
    'mkdir -p -- "$__r" "$__logd"',
    'date +%s > "$__r/started"',
    `printf '%s\\n' "$__run" > "$__d/current.tmp" && mv -f -- "$__d/current.tmp" "$__d/current"`,
    'note run "$__run"',
    '__cmd="exec bash $(printf %q "$__d/launch.sh") $__run"',
    '__pipe="exec cat >> $(printf %q "$__logd/$__run.log")"',
    `if ! __t new-session -d -s ${t} -x 200 -y 50 "$__cmd" \\; set-window-option -t =${t}: remain-on-exit on \\; pipe-pane -t =${t}: -o "$__pipe"; then`,
    `  note tmux-failed; printf '1 %s\\n' "$(date +%s)" > "$__r/exit"; exit 1`,
    'fi',
    // Only now is the run this job's: until its pane exists berth reads it as pending,
    // never as a session without a pane (lost), which a restart policy would act on.
    `printf '%s %s %s\\n' "$SLURM_JOB_ID" "$__node" "$__socket" > "$__r/job"`,
    ': > "$__r/go"',
    `__pid=$(__t display-message -p -t =${t}: '#{pane_pid}')`,
    '',
    "# Signal the command (the pane's process group), wait up to $2 s, end the server.",
    '__finish() {',
    '  kill -"$1" -- "-$__pid" 2>/dev/null',
    '  local i',
    '  for ((i = 0; i < $2 * 5; i++)); do __alive "$__pid" || break; sleep 0.2; done',
    "  __t kill-server 2>/dev/null # this job's own server, started above",
    '}',
    '',
    '__resubmit() {',
    '  local out rc id',
    '  out=$("$__sbatch" --parsable --dependency="afterany:$SLURM_JOB_ID" --export="ALL,BERTH_SESSION_PREV=$SLURM_JOB_ID" "$__d/job.sh" 2>&1)',
    '  rc=$?',
    "  id=${out##*$'\\n'}",
    '  id=${id%%;*}',
    '  if [ "$rc" = 0 ] && [[ $id =~ ^[0-9]+$ ]]; then note resubmit-ok "$id"; return 0; fi',
    `  note resubmit-failed "rc=$rc \${out//[$'\\n\\r']/ }"`,
    '  return 1',
    '}',
    '',
    '# The hold: while the command lives.',
    'while __alive "$__pid"; do',
    '  sleep 2 &',
    '  __sleep=$!',
    '  [ -n "$__usr1$__term" ] && kill "$__sleep" 2>/dev/null',
    '  wait "$__sleep"',
    '  __sleep=',
    '  if [ -n "$__term" ]; then',
    '    note stop',
    '    __g=$(head -n 1 "$__d/stopped" 2>/dev/null | tr -cd 0-9)',
    '    __finish TERM "${__g:-10}"',
    '    note end; exit 0',
    '  fi',
    '  if [ -n "$__usr1" ]; then',
    '    note walltime',
    '    if [ -f "$__d/hooks/walltimeSignal.sh" ]; then',
    `      ( export BERTH_SESSION=${quote(spec.name)} BERTH_SESSION_RUN="$__run" BERTH_RUNTIME=slurm BERTH_HOST=${quote(i.host)} BERTH_SESSION_DIR="$__d" BERTH_RUN_DIR="$__r"`,
    '        . "$__d/hooks/walltimeSignal.sh" ) >> "$__logd/$__run.log" 2>&1 < /dev/null',
    '    fi',
    '    if [ -n "$__auto" ] && [ ! -e "$__d/stopped" ]; then',
    '      __resubmit || { sleep 5; __resubmit; } || { sleep 10; __resubmit; }',
    '    fi',
    `    __finish USR1 ${walltimeWait}`,
    '    note end walltime; exit 0',
    '  fi',
    'done',
    'note end',
    '',
  ].join('\n');
}
