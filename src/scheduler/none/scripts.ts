/**
 * Shell text the `none` scheduler sends to the host, pure: submit (write the job dir, start
 * the wrapper detached), observe (print the small files of every asked job in ONE round
 * trip) and cancel (TERM the process groups, KILL after a grace). Job ids are checked
 * against NONE_ID before they get here; every other value goes through quote().
 */
import { UsageError } from '../../core/errors.js';
import { quote, quoteArgs } from '../../transport/quote.js';
import { rootWord } from '../slurm/submit-script.js';
import { WRAPPER } from './wrapper.js';

/** `n-<ulid>` (lower case); `n-<ulid>_7` is task 7 of an array. */
export const NONE_ID = /^n-[0-9a-z]{1,40}$/;
export const NONE_TASK_ID = /^(n-[0-9a-z]{1,40})_(\d+)$/;

export const MARK = '@@berth-none';

export function checkNoneId(id: string): string {
  if (!NONE_ID.test(id)) {
    throw new UsageError(`invalid job id ${JSON.stringify(id)} for a host without a scheduler`, {
      hint: 'job ids there look like n-01j9z3k8q2v4c6x8m0p2r4t6w8 (see berth job list)',
    });
  }
  return id;
}

export interface NoneSubmitPlan {
  root: string;
  id: string;
  specJson: string;
  /** Array indices (logical), absent for a single job. */
  indices?: number[];
  throttle?: number;
  timeLimitS?: number;
  deps: Array<{ kind: 'afterok' | 'afterany' | 'afternotok'; id: string }>;
}

/** Writes the job dir (the script comes on stdin), starts the wrapper, prints the dir. */
export function renderNoneSubmit(plan: NoneSubmitPlan): string {
  checkNoneId(plan.id);
  const lines = [
    'cwd=$PWD',
    `d=${rootWord(plan.root)}/jobs/${plan.id}`,
    'mkdir -p -- "$d" && cd -- "$d" || exit 1',
    'cat > job.sh && chmod +x job.sh || exit 1',
    `printf '%s\\n' ${quote(plan.specJson)} > spec.json || exit 1`,
    'date +%s%3N > submitted',
  ];
  if (plan.indices) {
    // Long lists go out in slices so no single command line grows without bound.
    for (let i = 0; i < plan.indices.length; i += 5000) {
      lines.push(`printf '%s\\n' ${plan.indices.slice(i, i + 5000).join(' ')} >> array`);
    }
  }
  if (plan.throttle !== undefined) lines.push(`echo ${Math.trunc(plan.throttle)} > throttle`);
  if (plan.timeLimitS !== undefined) lines.push(`echo ${Math.trunc(plan.timeLimitS)} > time`);
  for (const dep of plan.deps) lines.push(`echo ${dep.kind} ${checkNoneId(dep.id)} >> deps`);
  lines.push(
    `setsid nohup bash -c ${quote(WRAPPER)} berth-none "$d" "$cwd" < /dev/null > wrapper.log 2>&1 &`,
    // Wait (briefly) for the wrapper's pid, so an observe right after submit finds it.
    'for _ in $(seq 100); do [ -s pid ] && break; sleep 0.02; done',
    `printf '${MARK}-submit %s\\n' "$d"`,
  );
  return lines.join('\n');
}

/** Prints, per job, `@@berth-none job <id>`, then `alive`, `count` and `file:content` lines. */
export function renderNoneObserve(root: string, ids: readonly string[]): string {
  for (const id of ids) checkNoneId(id);
  return [
    `root=${rootWord(root)}`,
    `printf '${MARK} host %s\\n' "$(hostname)"`,
    `for id in ${quoteArgs(ids)}; do`,
    '  d="$root/jobs/$id"',
    `  printf '${MARK} job %s\\n' "$id"`,
    `  if ! cd -- "$d" 2>/dev/null; then echo '${MARK} missing'; continue; fi`,
    '  pid=$(cat pid 2>/dev/null); alive=0',
    '  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then alive=1',
    // A reused pid belongs to another program: the wrapper has the job dir in its argv.
    '    if [ -r "/proc/$pid/cmdline" ] && ! tr "\\0" "\\n" < "/proc/$pid/cmdline" | grep -qxF -- "$d"; then alive=0; fi',
    '  fi',
    `  printf '${MARK} alive %s\\n' "$alive"`,
    `  [ -f array ] && printf '${MARK} count %s\\n' "$(wc -l < array)"`,
    '  grep -H "" submitted waiting started ended exit done cancelled *.exit *.started *.cancelled 2>/dev/null',
    'done',
    'true',
  ].join('\n');
}

/**
 * Cancel a job (or one array task): mark it, TERM its process groups, wait up to graceS
 * for the wrapper to finish, then KILL what is left. Prints `gone`, `ended` or `cancelled`.
 */
export function renderNoneCancel(
  root: string,
  id: string,
  opts: { task?: number; signal?: string; graceS: number },
): string {
  checkNoneId(id);
  const groups =
    opts.task === undefined ? '"$d"/pid "$d"/*pgid' : `"$d"/${id}_${Math.trunc(opts.task)}.pgid`;
  const kill = (sig: string) =>
    `for f in ${groups}; do [ -f "$f" ] && kill -${sig} -- "-$(cat "$f")" 2>/dev/null; done`;
  const lines = [
    `d=${rootWord(root)}/jobs/${id}`,
    `[ -d "$d" ] || { echo '${MARK} gone'; exit 0; }`,
  ];
  if (opts.signal) {
    lines.push(kill(opts.signal), `echo '${MARK} signalled'`);
    return lines.join('\n');
  }
  const marker = opts.task === undefined ? '"$d"/cancelled' : `"$d"/${id}_${opts.task}.cancelled`;
  const doneTest =
    opts.task === undefined ? '[ -f "$d/done" ]' : `[ -f "$d/${id}_${opts.task}.exit" ]`;
  lines.push(
    `if ${doneTest}; then echo '${MARK} ended'; exit 0; fi`,
    `date +%s%3N > ${marker}`,
    kill('TERM'),
    `for _ in $(seq ${Math.max(1, Math.round(opts.graceS * 10))}); do ${doneTest} && break; sleep 0.1; done`,
    `${doneTest} || { ${kill('KILL')}; }`,
  );
  if (opts.task === undefined) {
    // KILLed, the wrapper could not write its end: write it for it.
    lines.push('[ -f "$d/done" ] || { date +%s%3N > "$d/ended"; echo cancelled > "$d/done"; }');
  }
  lines.push(`echo '${MARK} cancelled'`);
  return lines.join('\n');
}

export function checkSignalName(signal: string): string {
  const s = signal.toUpperCase().replace(/^SIG/, '');
  if (!/^[A-Z0-9]+$/.test(s)) {
    throw new UsageError(`invalid signal ${JSON.stringify(signal)}`, {
      hint: 'give a signal name like TERM, USR1, KILL or a number',
    });
  }
  return s;
}
