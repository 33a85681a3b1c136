/**
 * The task executor: a small bash program started inside the lease's job by ONE
 * `srun --overlap` step. It reads commands from stdin, one per line, runs up to N at once
 * (each in its own subshell, stdin from /dev/null), and writes framed lines to stdout:
 *
 *   <nonce> hello <host> <bash version>
 *   <nonce> o <i> <a line the task wrote to stdout>
 *   <nonce> e <i> <a line the task wrote to stderr>
 *   <nonce> end <i> <exit status> <microseconds>
 *
 * A task that ended writes its slot, status and end time to a fifo; only the main loop
 * writes frames, so they never interleave (no `wait -n -p`: bash 5.2 sometimes leaves its
 * variable empty). It needs no daemon and nothing installed: it lives and dies with its
 * step, inside the job. Output is line-based text (a NUL ends its line); durations need
 * bash 5 ($EPOCHREALTIME, else 0). Parsing is pure.
 */

/** Passed as `bash -c EXECUTOR berth-tasks <nonce> <concurrency>`. Its names start with __b_. */
export const EXECUTOR = `__b_n=$1 __b_conc=$2
__b_tmp=$(mktemp -d "\${TMPDIR:-/tmp}/berth-tasks.XXXXXX") || exit 1
trap 'rm -rf -- "$__b_tmp"' EXIT
# Each task writes "<slot> <status> <end>" to this fifo when it ends (one write: atomic).
mkfifo "$__b_tmp/done" && exec 3<>"$__b_tmp/done" || exit 1
printf '%s hello %s %s\\n' "$__b_n" "$(hostname)" "$BASH_VERSION"
__b_now() { __b_t=\${EPOCHREALTIME//[!0-9]/}; __b_t=\${__b_t:-0}; }
__b_frames() {
  local __b_l
  while IFS= read -r __b_l || [ -n "$__b_l" ]; do printf '%s o %s %s\\n' "$__b_n" "$1" "$__b_l"; done <"$__b_tmp/$2.o"
  while IFS= read -r __b_l || [ -n "$__b_l" ]; do printf '%s e %s %s\\n' "$__b_n" "$1" "$__b_l"; done <"$__b_tmp/$2.e"
  printf '%s end %s %s %s\\n' "$__b_n" "$1" "$3" "$4"
}
__b_reap() {
  local __b_s __b_rc __b_e
  read -r -u 3 __b_s __b_rc __b_e || exit 1
  __b_frames "\${__b_task[__b_s]}" "$__b_s" "$__b_rc" $((__b_e - __b_start[__b_s]))
  __b_free+=("$__b_s")
  __b_running=$((__b_running - 1))
}
declare -a __b_task __b_start __b_free
for ((__b_s = 0; __b_s < __b_conc; __b_s++)); do __b_free+=("$__b_s"); done
__b_i=0 __b_running=0
while IFS= read -r __b_cmd || [ -n "$__b_cmd" ]; do
  ((__b_running < __b_conc)) || __b_reap
  __b_s=\${__b_free[-1]}
  unset '__b_free[-1]'
  __b_now
  __b_task[__b_s]=$__b_i __b_start[__b_s]=$__b_t
  (
    (eval "$__b_cmd") </dev/null >"$__b_tmp/$__b_s.o" 2>"$__b_tmp/$__b_s.e" 3>&-
    __b_rc=$?
    __b_now
    printf '%s %s %s\\n' "$__b_s" "$__b_rc" "$__b_t" >&3
  ) &
  __b_running=$((__b_running + 1)) __b_i=$((__b_i + 1))
done
while ((__b_running > 0)); do __b_reap; done
`;

export interface TaskResult {
  /** Position in the task list (0-based). */
  index: number;
  command: string;
  /** null when the task never reported (the step or the job ended first). */
  exitCode: number | null;
  durationMs: number | null;
  stdout: string;
  stderr: string;
}

/** Collects frames into task results; `push` returns the result a line completed. */
export class FrameReader {
  private readonly out = new Map<number, { o: string[]; e: string[] }>();
  host: string | undefined;

  constructor(
    private readonly nonce: string,
    private readonly commands: readonly string[],
  ) {}

  push(line: string): TaskResult | undefined {
    if (!line.startsWith(`${this.nonce} `)) return undefined;
    const rest = line.slice(this.nonce.length + 1);
    const m = /^(o|e) (\d+) (.*)$/s.exec(rest);
    if (m) {
      const i = Number(m[2]);
      const buf = this.out.get(i) ?? { o: [], e: [] };
      buf[m[1] as 'o' | 'e'].push(m[3]!);
      this.out.set(i, buf);
      return undefined;
    }
    const end = /^end (\d+) (\d+) (\d+)$/.exec(rest);
    if (end) {
      const index = Number(end[1]);
      const buf = this.out.get(index) ?? { o: [], e: [] };
      this.out.delete(index);
      return {
        index,
        command: this.commands[index] ?? '',
        exitCode: Number(end[2]),
        durationMs: Math.round(Number(end[3]) / 100) / 10,
        stdout: joinLines(buf.o),
        stderr: joinLines(buf.e),
      };
    }
    const hello = /^hello (\S+)/.exec(rest);
    if (hello) this.host = hello[1];
    return undefined;
  }
}

function joinLines(lines: string[]): string {
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** The task list of a tasks file: one command per line; blank lines and `#` comments skipped. */
export function parseTaskFile(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
}
