// biome-ignore-all lint/suspicious/noTemplateCurlyInString: shell text uses ${…} parameter expansions
/**
 * Runtime `slurm`: the scripts berth runs on the login node (one round trip each), pure.
 * The session's tmux server lives on the job's batch host, so what needs tmux or ps there
 * goes through `srun --jobid=J --overlap -w <batch host>`; its files are on the shared
 * file system and read from the login node.
 */
import { srunWords } from '../lease/srun.js';
import { quote, quoteArgs } from '../transport/quote.js';
import type { LauncherPlan } from './launcher.js';
import { pathWord, type SessionLayout } from './layout.js';
import {
  type LogsPlan,
  MARK,
  observeLines,
  prepareLines,
  psLines,
  renderLogsScript,
  type SessionRef,
  stoppedRunLines,
} from './scripts.js';

/** The tmux socket of one job of a session. */
export function jobSocket(layout: SessionLayout, jobId: string): string {
  return `${layout.socket}-j${jobId}`;
}

/**
 * Shell lines: `__j` becomes the newest job of the chain, following `resubmit-ok` links
 * from the given job (a successor counts as soon as it was submitted).
 */
function followLines(jobId: string | null | undefined, chainDir: string): string[] {
  return [
    `__j=${jobId && /^\d+$/.test(jobId) ? jobId : ''}`,
    `__c=${pathWord(chainDir)}/chain`,
    'if [ -n "$__j" ] && [ -r "$__c" ]; then',
    '  for __i in $(seq 1 1000); do',
    `    __n=$(awk -v j="$__j" '$2 == j && $3 == "resubmit-ok" { n = $4 } END { print n }' "$__c")`,
    '    [ -n "$__n" ] && [ "$__n" != "$__j" ] || break',
    '    __j=$__n',
    '  done',
    'fi',
  ];
}

/** Write the session's files, source preSubmit, keep the job script, sbatch it. */
export function renderSlurmSubmit(p: LauncherPlan, jobScript: string, sbatch: string): string {
  return [
    ...prepareLines(p),
    'mkdir -p -- "$__d/jobs" || __fail "cannot create" "$__d/jobs"',
    `printf '%s' ${quote(jobScript)} > "$__d/job.sh.tmp" && mv -f -- "$__d/job.sh.tmp" "$__d/job.sh" || __fail "cannot write" "$__d/job.sh"`,
    'rm -f -- "$__d/stopped"',
    `__out=$(${quote(sbatch)} --parsable "$__d/job.sh" 2>&1) || __fail "sbatch: $(printf '%s' "$__out" | tail -n 2 | tr '\\n' ' ')"`,
    "__id=${__out##*$'\\n'}",
    `echo "${MARK}:submitted \${__id%%;*}"`,
  ].join('\n');
}

/**
 * Observe SLURM sessions: per session the newest job (`job=`) and its squeue state and
 * batch host (`squeue=STATE|HOST`); for a running job, the session's lines and a `ps`
 * from its node through srun (or `nodeerror=` when srun failed); otherwise what the files
 * on the shared file system say.
 */
export function renderSlurmObserve(sessions: readonly SessionRef[]): string {
  const lines = ['export LC_ALL=C', `echo "${MARK}:now $(date +%s)"`];
  for (const { name, layout, jobId, runId, chainDir, socketPrefix } of sessions) {
    const known = runId ?? null;
    const onNode = [
      `__sock=${quote(socketPrefix ?? `${layout.socket}-j`)}"$1"`,
      ...observeLines(name, layout, '"$__sock"', known),
      ...psLines(),
    ].join('\n');
    lines.push(
      `echo ${quote(`${MARK}:session ${name}`)}`,
      `__d=${pathWord(layout.dir)}`,
      ...followLines(jobId, chainDir ?? layout.dir),
      '__q=',
      'if [ -n "$__j" ]; then',
      '  echo "job=$__j"',
      // A failed squeue is "cannot tell", never "not queued"; only an id SLURM has
      // forgotten (purged after MinJobAge) reads as ended.
      `  if __q=$(squeue -h -j "$__j" -o '%T|%B' 2>&1); then __q=$(printf '%s' "$__q" | head -n 1); echo "squeue=$__q"`,
      `  else case $__q in *"Invalid job id"*) __q= ;; *) echo "squeueerror=$(printf '%s' "$__q" | tail -n 1)"; __q= ;; esac`,
      '  fi',
      'fi',
      '__o=',
      'case $__q in',
      '  RUNNING\\|*)',
      `    if ! __o=$(${srunWords('"$__j"')} -w "\${__q#*|}" bash -c ${quote(onNode)} berth "$__j" 2>&1); then`,
      `      echo "nodeerror=$(printf '%s' "$__o" | grep -v '^run=\\|^pane=' | tail -n 1)"; __o=`,
      '    fi ;;',
      'esac',
      'if [ -n "$__o" ]; then printf \'%s\\n\' "$__o"; else',
      ...observeLines(name, layout, quote(`${layout.socket}-none`), known).map((l) => `  ${l}`),
      'fi',
    );
  }
  lines.push(`echo "${MARK}:end"`);
  return lines.join('\n');
}

/**
 * `__sq ARGS...`: squeue, asked up to 5 times (2 s apart) while it fails; "Invalid job id"
 * (no such job any more) is an empty answer. Exit 1 when it never answered.
 */
const SQ_LINES = [
  '__sq() {',
  '  local __o __k',
  '  for __k in 1 2 3 4 5; do',
  '    if __o=$(squeue "$@" 2>/dev/null); then printf \'%s\\n\' "$__o"; return 0; fi',
  '    case $(squeue "$@" 2>&1 >/dev/null) in *"Invalid job id"*) return 0 ;; esac',
  '    [ "$__k" -lt 5 ] && sleep 2',
  '  done',
  '  return 1',
  '}',
];

/**
 * Stop SLURM sessions: write `<dir>/stopped` (the grace; no job of the chain starts the
 * session again), cancel queued jobs of the chain, send TERM to the batch script of running
 * ones, wait for them to end (grace + 20 s), then cancel what is left. Prints per session
 * the current run and its exit record. A squeue that fails (a busy controller) is asked
 * again, and never read as "not queued": a job it cannot tell about is signalled and
 * waited for like a running one.
 */
export function renderSlurmStop(sessions: readonly SessionRef[], graceS: number): string {
  const grace = Math.max(0, Math.ceil(graceS));
  const lines = ['export LC_ALL=C', '__wait=', ...SQ_LINES];
  for (const { layout, jobId } of sessions) {
    lines.push(
      `__d=${pathWord(layout.dir)}`,
      `printf '%s\\n' ${grace} > "$__d/stopped"`,
      // the recorded job and every job the chain names (an older one may still be ending)
      `__all=${jobId && /^\d+$/.test(jobId) ? jobId : ''}`,
      'if [ -r "$__d/chain" ]; then',
      `  __all="$__all $(awk '{ print $2 } $3 == "resubmit-ok" { print $4 }' "$__d/chain" | sort -u | tr '\\n' ' ')"`,
      'fi',
      'for __x in $__all; do',
      '  case $__x in *[!0-9]*) continue ;; esac',
      `  case $(__sq -h -j "$__x" -o %T || echo UNKNOWN) in`,
      '    RUNNING | COMPLETING | SUSPENDED | UNKNOWN) scancel --batch --signal=TERM "$__x" 2>/dev/null; __wait="$__wait $__x" ;;',
      '    "") ;;',
      '    *) scancel "$__x" 2>/dev/null ;;',
      '  esac',
      'done',
    );
  }
  lines.push(
    `__end=$(( $(date +%s) + ${grace} + 20 ))`,
    'while [ -n "$__wait" ] && [ "$(date +%s)" -lt "$__end" ]; do',
    `  __q=$(__sq -h -j "$(echo $__wait | tr ' ' ,)" -o %i) && __wait=$(echo $__q)`,
    '  [ -n "${__wait// /}" ] || __wait=',
    '  [ -z "$__wait" ] || sleep 1',
    'done',
    '[ -z "$__wait" ] || scancel $__wait 2>/dev/null',
  );
  for (const { name, layout } of sessions) lines.push(...stoppedRunLines(name, layout.dir));
  lines.push(`echo "${MARK}:end"`);
  return lines.join('\n');
}

/** Shell text: a tmux command on a job's tmux server (`socket`), through srun on its node. */
export function renderJobTmux(
  socket: string,
  job: { id: string; node: string },
  args: readonly string[],
  opts: { pty?: boolean } = {},
): string {
  const argv = ['tmux', '-L', socket, ...args];
  return `exec ${srunWords(quote(job.id), { node: job.node, ...(opts.pty ? { pty: true } : {}) })} -- ${quoteArgs(argv)}`;
}

/**
 * A run's log of a SLURM session, read on the login node: the last lines, or with `follow`
 * (and a job) followed until the run's exit record appears or the job ends.
 */
export function renderSlurmLogs(plan: LogsPlan & { jobId?: string | null }): string {
  return plan.follow && plan.jobId
    ? renderSlurmFollow(plan.layout, plan.name, plan.runId, plan.jobId, plan.lines)
    : renderLogsScript({ ...plan, follow: false });
}

/** Follow a run's log on the login node until its exit record appears or its job ends. */
export function renderSlurmFollow(
  layout: SessionLayout,
  name: string,
  runId: string,
  jobId: string,
  lines: number,
): string {
  const n = Math.max(0, Math.trunc(lines));
  return [
    `__d=${pathWord(layout.dir)}`,
    `__f=${pathWord(`${layout.logsDir}/${name}`)}/${quote(`${runId}.log`)}`,
    `[ -f "$__f" ] || { echo "${MARK}:nolog"; exit 0; }`,
    `echo "${MARK}:log"`,
    `tail -n ${n} -s 0.5 -F -- "$__f" 2>/dev/null & __t=$!`,
    `trap 'kill "$__t" 2>/dev/null' EXIT HUP INT TERM`,
    // Until the exit record, or the job has left the queue (a failed squeue is not that).
    ...SQ_LINES,
    `while [ ! -e "$__d/runs/"${quote(runId)}/exit ] && { __q=$(__sq -h -j ${quote(jobId)} -o %i) || __q=unknown; [ -n "$__q" ]; }; do sleep 1; done`,
    'sleep 1.5',
  ].join('\n');
}
