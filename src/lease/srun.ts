// biome-ignore-all lint/suspicious/noTemplateCurlyInString: shell text uses ${…} parameter expansions
/**
 * Running a step in a lease's allocation: the `srun --jobid J --overlap` argv, the shell
 * text that first follows the chain file to the newest *started* job (builtins only, so it
 * costs nothing), and the classification of srun's own "cannot attach" errors. Pure.
 */
import { UsageError } from '../core/errors.js';
import { quote, quoteArgs } from '../transport/quote.js';
import { leaseFiles } from './layout.js';

export interface StepOptions {
  node?: string;
  pty?: boolean;
  /** Only for tasks: CPUs the executor's step may use. */
  cpus?: number;
}

/** A node name as SLURM prints it (n1, gpu-03, node[1-2] is not one node). */
export function checkNode(node: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(node) || node.length > 255) {
    throw new UsageError(`invalid node name ${JSON.stringify(node)}`, {
      hint: 'give one node of the allocation, as berth lease get shows it (e.g. n1)',
    });
  }
  return node;
}

/** `srun` options for one step in job `jobWord` (a quoted id or "$__j"). */
export function srunWords(jobWord: string, opts: StepOptions = {}): string {
  const words = [`--jobid=${jobWord}`, '--overlap'];
  if (opts.pty) words.push('--pty');
  words.push('-n1');
  if (opts.cpus !== undefined) words.push(`--cpus-per-task=${Math.max(1, Math.trunc(opts.cpus))}`);
  if (opts.node !== undefined) words.push('-w', quote(checkNode(opts.node)));
  return `srun ${words.join(' ')}`;
}

/**
 * Shell text: set `__j` to the newest job of the chain that has started (a successor that
 * is still pending is not followed), then run `srun … -- argv` in it. With `announce`, the
 * job used is written to stderr as `<announce>:job=<id>` first.
 */
export function renderStep(
  jobId: string,
  argv: readonly string[],
  opts: StepOptions & { chainDir?: string | null; announce?: string } = {},
): string {
  if (!/^\d+$/.test(jobId)) throw new UsageError(`invalid job id ${JSON.stringify(jobId)}`);
  const lines = [`__j=${jobId}`];
  if (opts.chainDir) lines.push(...followChainText(leaseFiles(opts.chainDir).chain));
  if (opts.announce) lines.push(`printf '%s:job=%s\\n' ${quote(opts.announce)} "$__j" >&2`);
  lines.push(`exec ${srunWords('"$__j"', opts)} -- ${quoteArgs(argv)}`);
  return lines.join('\n');
}

function followChainText(chain: string): string[] {
  return [
    `if [ -r ${quote(chain)} ]; then`,
    `  set -f; mapfile -t __l < ${quote(chain)}`,
    '  while :; do',
    '    __n= __s=',
    '    for __x in "${__l[@]}"; do set -- $__x; [ "$2 $3" = "$__j resubmit-ok" ] && __n=$4; done',
    '    [ -n "$__n" ] || break',
    '    for __x in "${__l[@]}"; do set -- $__x; [ "$2 $3" = "$__n start" ] && __s=1; done',
    '    [ -n "$__s" ] || break',
    '    __j=$__n',
    '  done',
    '  set +f',
    'fi',
  ];
}

/** What srun says when it cannot attach to the job (the command did not run). */
export type StepFailure = 'gone' | 'pending';

const GONE = [
  /^srun: error: Unable to confirm allocation for job (\d+): (Invalid job id specified|Job\/step already completing or completed|Requested operation is presently disabled)/,
  /^srun: error: Slurm job (\d+) has expired/,
];
const PENDING =
  /^srun: error: Unable to confirm allocation for job (\d+): Job is pending execution/;
const FOLLOW_UP = /^srun: Check SLURM_JOB_ID environment variable\. Expired or invalid job (\d+)/;
// srun's echo of the command's exit status: the exit code is passed through instead.
const ECHO = /^srun: error: \S+: task \d+: Exited with exit code \d+$/;

/**
 * srun's own lines: 'gone'/'pending' (it could not attach: the command did not run), 'note'
 * (the line that follows those), 'echo' (its report of a non-zero exit); else undefined.
 */
export function classifyStepLine(line: string): StepFailure | 'note' | 'echo' | undefined {
  if (GONE.some((re) => re.test(line))) return 'gone';
  if (PENDING.test(line)) return 'pending';
  if (FOLLOW_UP.test(line)) return 'note';
  if (ECHO.test(line)) return 'echo';
  return undefined;
}
