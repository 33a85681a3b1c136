// biome-ignore-all lint/suspicious/noTemplateCurlyInString: shell text uses ${…} parameter expansions
/**
 * The hold script of a lease, as one pure function: `#SBATCH` directives (the job spec,
 * rendered by scheduler/slurm/render.ts), then a body that holds the allocation.
 *
 * - The hold is `sleep … & wait $!` in a loop: bash runs a trap only after the foreground
 *   child exits, and `wait` returns as soon as a trapped signal arrives.
 * - `--tmux`: a tmux server is started first (`tmux -L berth-lease-<job> new-session -d -s
 *   _root`), in the batch script, so it lives in the job's own cgroup until the job ends.
 *   Tenant sessions (tenants/*.sh) are started in it; see tenants.ts.
 * - persistent: `--signal=B:USR1@LEAD` and a trap that submits the successor with the
 *   absolute `sbatch` resolved when the script was rendered, from the copy of this script
 *   at a stable path (`<dir>/hold.sh`, not SLURM's spool copy). Success or failure is
 *   appended to `<dir>/chain` (`<epoch> <job> resubmit-ok <new>` / `resubmit-failed …`);
 *   a failed resubmit is retried every minute until the job ends. Once the successor
 *   runs, this job stops its tenant sessions and notes `handover`; the successor waits for
 *   that note (or for this job to end) before it starts them again, so a tenant never runs
 *   twice.
 * - `--hold-body FILE` replaces the sleep: the file's text runs as `bash -c "$hold_body"`
 *   (a child: it cannot disable the trap) and the job ends when it exits.
 * Every value from outside goes through quote(); lease names are validated at the edge.
 */
import { UsageError } from '../core/errors.js';
import { validateName } from '../core/names.js';
import { renderSbatchScript } from '../scheduler/slurm/render.js';
import type { JobSpec } from '../scheduler/spec.js';
import { tmuxNameShell } from '../tmux/names.js';
import { quote } from '../transport/quote.js';
import { leaseFiles, leaseJobName, ROOT_SESSION } from './layout.js';

export interface HoldScriptInput {
  /** The lease name (validated again here). */
  name: string;
  /** The lease directory on the host, absolute. */
  dir: string;
  /** The checked job spec: its resources and options become the directives. */
  spec: JobSpec;
  persistent: boolean;
  /** Seconds before the walltime at which a persistent lease resubmits itself. */
  leadS?: number;
  tmux: boolean;
  /** Replaces the default hold (shell text, run by bash). */
  holdBody?: string;
  /** Absolute paths on the host, resolved when rendering. */
  bins: { sbatch: string; squeue: string; tmux?: string };
}

/** Largest hold body accepted (it travels in the script, and in the lease record). */
export const MAX_HOLD_BODY = 64 * 1024;

export function renderHoldScript(input: HoldScriptInput): string {
  validateName('lease', input.name);
  checkPath('lease directory', input.dir);
  for (const [what, path] of Object.entries(input.bins)) checkPath(what, path);
  if (input.tmux && !input.bins.tmux) {
    throw new UsageError('a lease with a tmux server needs tmux on the host', {
      hint: 'install tmux on the host, or book without --tmux',
    });
  }
  if (input.holdBody !== undefined) checkHoldBody(input.holdBody);
  const files = leaseFiles(input.dir);
  const spec: JobSpec = {
    ...input.spec,
    name: leaseJobName(input.name),
    command: undefined,
    script: body(input),
    output: files.jobOutput,
    error: undefined,
    array: undefined,
    workdir: undefined,
    signal: input.persistent
      ? { name: 'USR1', beforeS: leadOf(input), batchOnly: true }
      : undefined,
  };
  return renderSbatchScript(spec);
}

/** The lead must be shorter than the walltime, or the job would resubmit at once, forever. */
export function leadOf(input: Pick<HoldScriptInput, 'spec' | 'persistent' | 'leadS'>): number {
  const time = input.spec.resources.time;
  if (time === undefined || !Number.isFinite(time)) {
    throw new UsageError('a persistent lease needs a walltime', {
      hint: 'give --time (for example --time 4h), or set hosts.<name>.slurm.time',
    });
  }
  const lead = input.leadS;
  if (lead === undefined || !Number.isInteger(lead) || lead < 1 || lead > 65_535) {
    throw new UsageError(`invalid lead ${JSON.stringify(lead)}`, {
      hint: 'give --lead as a duration of at least 1 s, for example --lead 10m',
    });
  }
  if (lead >= time) {
    throw new UsageError(
      `the lead (${lead} s) must be shorter than the walltime (${time} s): the job would resubmit itself at once`,
      { hint: 'give a shorter --lead or a longer --time' },
    );
  }
  return lead;
}

/** Refuse what cannot be a shell script: NUL bytes, invalid UTF-8 (U+FFFD), oversize. */
export function checkHoldBody(text: string): void {
  const why = text.includes('\0')
    ? 'contains a NUL byte'
    : text.includes('\uFFFD')
      ? 'is not valid UTF-8 text'
      : Buffer.byteLength(text) > MAX_HOLD_BODY
        ? `is larger than ${MAX_HOLD_BODY} bytes`
        : text.trim() === ''
          ? 'is empty'
          : undefined;
  if (why) {
    throw new UsageError(`the hold body ${why}`, {
      hint: 'give --hold-body a small shell script (text) to run as the job’s main process',
    });
  }
}

// sbatch reads `#SBATCH --output=…` with its own tokenizer (a backslash escapes even in
// single quotes, so a quoted `'` would be misread): keep out what it would misread.
function checkPath(what: string, path: string): void {
  if (!path.startsWith('/') || /[\n\r\0\\%'"]/.test(path) || /hetjob|packjob/i.test(path)) {
    throw new UsageError(`the ${what} ${JSON.stringify(path)} is not usable in a hold script`, {
      hint: 'use an absolute path without quotes, newlines, backslashes or % (set hosts.<name>.root)',
    });
  }
}

function body(input: HoldScriptInput): string {
  const files = leaseFiles(input.dir);
  const tmux = input.tmux;
  const lines = [
    '#!/bin/bash',
    `# berth lease ${input.name}: the hold script (${input.persistent ? 'persistent' : 'one job'}${tmux ? ', tmux server' : ''}).`,
    `# ${input.persistent ? 'Resubmitted from this very file: keep it at ' : 'Kept at '}${files.hold}`,
    '',
    `lease_dir=${quote(input.dir)}`,
    `sbatch_bin=${quote(input.bins.sbatch)}`,
    `squeue_bin=${quote(input.bins.squeue)}`,
    ...(tmux ? [`tmux_bin=${quote(input.bins.tmux!)}`] : []),
    'socket=berth-lease-${SLURM_JOB_ID}',
    'successor= wanted= handed_over= body_pid= sleep_pid=',
    '',
    '# one line per event: <epoch> <job> <event> [detail]; berth reads it (lease refresh)',
    `note() { printf '%(%s)T %s %s\\n' -1 "$SLURM_JOB_ID" "$*" >> "$lease_dir/chain"; }`,
  ];
  if (input.persistent) {
    lines.push(
      '# Before the walltime SLURM sends USR1 (--signal=B:USR1@LEAD); set first, so none is lost.',
      // Cut the current sleep short, so the hold loop resubmits at once.
      'on_usr1() {',
      '  [ -z "$successor" ] || return 0',
      '  wanted=1',
      '  [ -z "$sleep_pid" ] || kill "$sleep_pid" 2>/dev/null',
      '}',
      'trap on_usr1 USR1',
    );
  }
  lines.push('note start "${SLURMD_NODENAME:-$(hostname)}"');
  if (tmux) lines.push(...tmuxPart());
  if (input.persistent) lines.push(...persistentPart());
  lines.push(
    '',
    'on_term() {',
    '  note end',
    ...(tmux ? ['  "$tmux_bin" -L "$socket" kill-server 2>/dev/null'] : []),
    '  [ -z "$body_pid" ] || kill "$body_pid" 2>/dev/null',
    '  exit 143',
    '}',
    'trap on_term TERM INT',
    '',
  );
  lines.push(...holdPart(input));
  return `${lines.join('\n')}\n`;
}

function tmuxPart(): string[] {
  return [
    '',
    '# The tmux server lives as long as the job: it is started here, in the batch script.',
    `"$tmux_bin" -L "$socket" new-session -d -s ${ROOT_SESSION} || note tmux-failed`,
    '',
    '# Tenant sessions berth registered (tenants/<name>.sh); nothing else is touched.',
    "# Each is the tmux session of its name with '.' and ':' as '_' (what tmux keeps).",
    'tenant_names() {',
    '  local f',
    '  for f in "$lease_dir"/tenants/*.sh; do',
    '    [ -f "$f" ] || continue',
    '    f=${f##*/}',
    '    printf \'%s\\n\' "${f%.sh}"',
    '  done',
    '}',
    'start_tenants() {',
    '  local name',
    '  for name in $(tenant_names); do',
    `    "$tmux_bin" -L "$socket" new-session -d -s ${tmuxNameShell('name')} \\`,
    '      "bash -l $(printf %q "$lease_dir/tenants/$name.sh")" && note tenant "$name"',
    '  done',
    '}',
    'stop_tenants() {',
    '  local name',
    '  for name in $(tenant_names); do',
    `    "$tmux_bin" -L "$socket" kill-session -t =${tmuxNameShell('name')} 2>/dev/null`,
    '  done',
    '}',
    '',
    '# A successor waits until its predecessor has stopped the tenants (or ended), at most 10 min.',
    'if [ -n "${BERTH_LEASE_PREV:-}" ]; then',
    '  for ((i = 0; i < 600; i++)); do',
    '    grep -qs "^[0-9]* $BERTH_LEASE_PREV handover" "$lease_dir/chain" && break',
    // A failed squeue (a busy controller) is not "ended": wait on; only a job SLURM has
    // forgotten ("Invalid job id") or one that left those states is.
    '    prev=$("$squeue_bin" -h -j "$BERTH_LEASE_PREV" -o %T 2>&1) || prev="failed $prev"',
    '    case $prev in',
    '      *"Invalid job id"*) break ;;',
    '      RUNNING | COMPLETING | SUSPENDED | failed*) ;;',
    '      *) break ;;',
    '    esac',
    '    sleep 1',
    '  done',
    'fi',
    'start_tenants',
  ];
}

function persistentPart(): string[] {
  return [
    '',
    '# Submit the successor (the hold loop calls this once USR1 came, until it worked).',
    'resubmit() {',
    '  local out rc id',
    '  if [ -e "$lease_dir/released" ]; then',
    '    wanted=',
    '    note resubmit-skipped released',
    '    return',
    '  fi',
    '  out=$("$sbatch_bin" --parsable --export="ALL,BERTH_LEASE_PREV=$SLURM_JOB_ID" "$lease_dir/hold.sh" 2>&1)',
    '  rc=$?',
    "  id=${out##*$'\\n'}",
    '  id=${id%%;*}',
    '  if [ "$rc" = 0 ] && [[ $id =~ ^[0-9]+$ ]]; then',
    '    successor=$id wanted=',
    '    note resubmit-ok "$id"',
    '  else',
    '    wanted=retry',
    '    note resubmit-failed "rc=$rc ${out//[$\'\\n\\r\']/ }"',
    '  fi',
    '}',
    '',
    '# Once the successor runs, its tmux server takes the tenants over.',
    'handover() {',
    '  [ -n "$successor" ] && [ -z "$handed_over" ] || return 0',
    '  [ "$("$squeue_bin" -h -j "$successor" -o %T 2>/dev/null)" = RUNNING ] || return 0',
    '  declare -F stop_tenants >/dev/null && stop_tenants',
    '  handed_over=1',
    '  note handover "$successor"',
    '}',
  ];
}

function holdPart(input: HoldScriptInput): string[] {
  const step = input.persistent
    ? [
        '  [ -z "$wanted" ] || [ -n "$successor" ] || resubmit # retried every loop until it works',
        '  handover',
        '  [ -z "$successor" ] || [ -n "$handed_over" ] || pause=5',
      ]
    : [];
  if (input.holdBody === undefined) {
    return [
      '# The hold: sleep in the background and wait, so traps run at once.',
      'while :; do',
      '  pause=60',
      ...step,
      ...sleepLines(input.persistent, 'wait "$sleep_pid"'),
      'done',
    ];
  }
  return [
    '# The hold body given with --hold-body, run by its own bash: the job ends when it does.',
    `hold_body=${quote(input.holdBody)}`,
    'bash -c "$hold_body" &',
    'body_pid=$!',
    'while kill -0 "$body_pid" 2>/dev/null; do',
    '  pause=60',
    ...step,
    ...sleepLines(input.persistent, 'wait -n "$body_pid" "$sleep_pid"'),
    'done',
    'wait "$body_pid"',
    'rc=$?',
    'note body-exit "$rc"',
    'exit "$rc"',
  ];
}

// A USR1 that came after the loop looked at $wanted, but before the sleep started, must
// not wait out the sleep: look again once the sleep runs (the trap kills later ones).
function sleepLines(persistent: boolean, wait: string): string[] {
  return [
    '  sleep "$pause" &',
    '  sleep_pid=$!',
    ...(persistent ? ['  [ "$wanted" != 1 ] || kill "$sleep_pid" 2>/dev/null'] : []),
    `  ${wait}`,
    '  kill "$sleep_pid" 2>/dev/null',
  ];
}
