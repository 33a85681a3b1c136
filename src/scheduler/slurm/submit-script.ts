/**
 * The one shell script that submits a job (or every chunk of a split array) in a single
 * round trip, pure. The batch script arrives on stdin and is kept as `<dir>/job.sh`:
 *
 *   1. save stdin to a temp file under `<root>/jobs/`;
 *   2. `sbatch --parsable --hold …` each chunk (held, so no task starts before its
 *      directory exists); the first id names the job directory `<root>/jobs/<id>/`;
 *   3. create the directory, move the script there, write `ids` and `spec.json`;
 *   4. `scontrol release` the chunks, and print `@@berth-submit <dir> <ids…>`.
 * Any failure cancels what was already submitted. Every value goes through quote();
 * the root may start with `~/` (the remote $HOME).
 */
import { UsageError } from '../../core/errors.js';
import { quote, quoteArgs } from '../../transport/quote.js';

export const SUBMIT_MARK = '@@berth-submit';

export interface SubmitChunk {
  /** sbatch options for this chunk (`--array=…`, `--export=…`), besides berth's own. */
  args: string[];
}

export interface SubmitPlan {
  root: string;
  chunks: SubmitChunk[];
  /** An array job: logs are `<A>_<a>.stdout`/`.stderr`, else `stdout`/`stderr`. */
  array: boolean;
  /** The spec sets its own --output/--error: do not pass berth's. */
  ownOutput: boolean;
  ownError: boolean;
  /** The user asked for --hold: do not release. */
  keepHeld: boolean;
  /** spec.json content (written next to the script). */
  specJson: string;
  /**
   * A random word put in each chunk's --comment (unless the spec sets its own), so a
   * submission sbatch reported as failed but slurmctld still took (a timeout) can be found
   * and cancelled instead of staying held forever.
   */
  nonce?: string;
}

/** Shell text for a host root: `~/x` becomes "$HOME"/x, anything else is quoted. */
export function rootWord(root: string): string {
  if (root === '~') return '"$HOME"';
  if (root.startsWith('~/')) return `"$HOME"/${quote(root.slice(2))}`;
  return quote(root);
}

export function checkRoot(root: string, what = 'root'): void {
  if (root.trim() === '' || /[\n\r\0]/.test(root)) {
    throw new UsageError(`the host ${what} ${JSON.stringify(root)} is not a usable path`, {
      hint: 'set hosts.<name>.root to a directory on the host, e.g. ~/berth or /scratch/me/berth',
    });
  }
  if (root.includes('%')) {
    throw new UsageError(`the host ${what} ${JSON.stringify(root)} contains "%"`, {
      hint: 'SLURM expands % in log paths (%j, %A); choose a root without it',
    });
  }
  if (!root.startsWith('/') && !root.startsWith('~')) {
    throw new UsageError(`the host ${what} ${JSON.stringify(root)} is relative`, {
      hint: 'give an absolute path or one starting with ~/',
    });
  }
}

export function renderSubmitScript(plan: SubmitPlan): string {
  const lines = [
    `jobs=${rootWord(plan.root)}/jobs`,
    'mkdir -p -- "$jobs" || exit 1',
    'tmp=$(mktemp "$jobs/.submit.XXXXXX") || exit 1',
    'cat > "$tmp" || { rm -f -- "$tmp"; exit 1; }',
    'ids=',
    'first=',
    // Undo: cancel what was submitted, drop the temp script, fail.
    'fail() {',
    '  [ -z "$ids" ] || scancel $ids',
    ...(plan.nonce
      ? [
          `  for j in $(squeue -h -u "$USER" -o '%F|%k' 2>/dev/null | awk -F'|' -v n=${quote(`berth-submit-${plan.nonce}`)} '$2 == n {print $1}'); do scancel "$j"; done`,
        ]
      : []),
    '  rm -f -- "$tmp"; exit 1',
    '}',
  ];
  plan.chunks.forEach((chunk, i) => {
    const dir = i === 0 ? (plan.array ? '"$jobs"/%A' : '"$jobs"/%j') : '"$jobs/$first"';
    const base = plan.array ? '%A_%a' : '';
    const out = plan.ownOutput ? '' : ` --output=${dir}/${base ? `${base}.stdout` : 'stdout'}`;
    const err = plan.ownError ? '' : ` --error=${dir}/${base ? `${base}.stderr` : 'stderr'}`;
    const comment = plan.nonce ? [`--comment=berth-submit-${plan.nonce}`] : [];
    const opts = quoteArgs(['--parsable', '--hold', ...comment, ...chunk.args]);
    lines.push(
      `out=$(sbatch ${opts}${out}${err} "$tmp") || fail`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
      'id=${out%%;*}',
      'case $id in ""|*[!0-9]*) echo "berth: sbatch printed no job id: $out" >&2; fail;; esac',
      'ids="$ids $id"',
      '[ -n "$first" ] || first=$id',
    );
  });
  lines.push(
    'dir="$jobs/$first"',
    'mkdir -p -- "$dir" && mv -- "$tmp" "$dir/job.sh" || fail',
    'printf \'%s\\n\' $ids > "$dir/ids" || fail',
    `printf '%s\\n' ${quote(plan.specJson)} > "$dir/spec.json" || fail`,
  );
  if (!plan.keepHeld) {
    lines.push('scontrol release $(printf %s "$ids" | tr " " "," | sed "s/^,//") || fail');
  }
  lines.push(`printf '${SUBMIT_MARK} %s\\t%s\\n' "$dir" "$ids"`);
  return lines.join('\n');
}

/** The job dir and scheduler ids from the script's last marker line. */
export function parseSubmitReply(stdout: string): { dir: string; ids: string[] } | undefined {
  let found: { dir: string; ids: string[] } | undefined;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(`${SUBMIT_MARK} `)) continue;
    const [dir = '', ids = ''] = line.slice(SUBMIT_MARK.length + 1).split('\t');
    const list = ids.trim().split(/\s+/).filter(Boolean);
    if (dir && list.length && list.every((i) => /^\d+$/.test(i))) found = { dir, ids: list };
  }
  return found;
}
