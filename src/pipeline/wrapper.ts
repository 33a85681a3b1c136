/**
 * The task wrapper (pure renderer): the bash script that runs one task. It sets
 * BERTH_TASK_ID and BERTH_TASK_SEED, empties the task directory, runs the rendered `run`
 * command in the work directory (`$TMPDIR` for scratch stages, else the task directory),
 * copies scratch back, and writes READY (or DONE.json for an aggregate) only after
 * everything is in place; a failure writes FAILED with the exit code instead. While it
 * runs the task directory holds RUNNING ("<host name> <wrapper pid>", written by rename),
 * removed once READY, DONE.json or FAILED is written; the marker listing checks the pid.
 */
import { quote } from '../transport/quote.js';

export interface TaskScript {
  runDir: string;
  runName: string;
  stage: string;
  step: number;
  task: number;
  seed: number;
  hash: string;
  /** The stage's `run`, already rendered (values quoted). */
  command: string;
  /** Task directory relative to runDir. */
  dir: string;
  scratch: boolean;
  aggregate: boolean;
  /** For an aggregate: unit directories (relative) and how many READY markers each must hold. */
  inputs: Array<{ dir: string; count: number; marker?: 'READY' | 'DONE.json' }>;
  jobIds: string[];
}

export function renderTaskScript(t: TaskScript): string {
  const lines = [
    'set -u',
    `cd ${quote(t.runDir)} || exit 70`,
    `dir=${quote(t.dir)}`,
    'rm -rf "$dir" && mkdir -p "$dir" || exit 70',
    'dir=$(cd "$dir" && pwd)',
    `printf '%s %s\\n' "$(uname -n)" "$$" > "$dir/.RUNNING.tmp" && mv "$dir/.RUNNING.tmp" "$dir/RUNNING" || exit 70`,
    `export BERTH_RUN=${quote(t.runName)} BERTH_RUN_DIR=${quote(t.runDir)} BERTH_STAGE=${quote(t.stage)}`,
    `export BERTH_STEP=${quote(String(t.step))} BERTH_TASK_ID=${quote(String(t.task))} BERTH_TASK_SEED=${quote(String(t.seed))}`,
    'export BERTH_TASK_DIR="$dir"',
    `fail() { printf '%s %s\\n' ${quote(t.hash)} "$1" > "$dir/FAILED"; rm -f "$dir/RUNNING"; exit "$1"; }`,
    'start=$(date +%s)',
  ];
  for (const input of t.inputs) {
    lines.push(
      `n=$(find ${quote(input.dir)} -mindepth 2 -maxdepth 2 -name ${input.marker ?? 'READY'} | wc -l)`,
      `[ "$n" -eq ${input.count} ] || { echo "berth: ${input.dir} has $n of ${input.count} ${input.marker ?? 'READY'} markers" > "$dir/berth.log"; fail 65; }`,
    );
  }
  if (t.scratch) {
    lines.push(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
      'work=$(mktemp -d "${TMPDIR:-/tmp}/berth-task.XXXXXX") || fail 70',
      'trap \'rm -rf "$work"\' EXIT',
    );
  } else lines.push('work="$dir"');
  lines.push(
    'cd "$work" || fail 70',
    `( ${t.command}\n) > "$dir/berth.log" 2>&1`,
    'rc=$?',
    '[ "$rc" -eq 0 ] || fail "$rc"',
  );
  if (t.scratch) {
    lines.push('cp -R "$work/." "$dir/" || fail 74');
  }
  const marker = t.aggregate ? 'DONE.json' : 'READY';
  if (t.aggregate) {
    const ids = JSON.stringify(t.jobIds);
    lines.push(
      `printf '{"stage":%s,"step":%s,"tasks":%s,"jobIds":%s,"start":%s,"end":%s,"hash":%s}\\n' ${quote(JSON.stringify(t.stage))} ${t.step} ${t.inputs.reduce((n, i) => n + i.count, 0)} ${quote(ids)} "$start" "$(date +%s)" ${quote(JSON.stringify(t.hash))} > "$dir/.${marker}.tmp" || fail 74`,
    );
  } else {
    lines.push(`printf '%s\\n' ${quote(t.hash)} > "$dir/.${marker}.tmp" || fail 74`);
  }
  lines.push(`mv "$dir/.${marker}.tmp" "$dir/${marker}" || fail 74`, 'rm -f "$dir/RUNNING"');
  return `${lines.join('\n')}\n`;
}
