/**
 * What the SLURM executor sends, as pure functions: the one script that writes a unit's
 * task wrapper scripts into the run directory (quoted here-documents), and the job spec
 * of a unit: one SLURM array whose task `i` runs `<unit scripts>/<i>.sh` — the very
 * wrapper the local executor runs, so markers, outputs and seeds are the same.
 */
import type { JobSpecInput } from '../scheduler/spec.js';
import { quote } from '../transport/quote.js';
import { TASK_SCRIPTS_DIR } from './layout.js';
import type { PlannedUnit } from './plan.js';
import type { Resources } from './spec.js';

export interface FileText {
  path: string;
  text: string;
}

/** A shell script that writes each file (parent directories made) from a quoted here-doc. */
export function renderWriteFiles(files: readonly FileText[]): string {
  let n = 0;
  let delim = 'BERTH_EOF';
  while (files.some((f) => f.text.includes(delim))) delim = `BERTH_EOF_${++n}`;
  const dirs = [...new Set(files.map((f) => f.path.slice(0, f.path.lastIndexOf('/'))))];
  const lines = ['set -e'];
  if (dirs.length > 0) lines.push(`mkdir -p -- ${dirs.map(quote).join(' ')}`);
  for (const f of files) {
    const body = f.text.endsWith('\n') ? f.text : `${f.text}\n`;
    lines.push(`cat > ${quote(f.path)} <<'${delim}'`, `${body}${delim}`);
  }
  lines.push('echo @@berth-written');
  return `${lines.join('\n')}\n`;
}

/** The directory of a unit's task scripts. */
export function unitScriptsDir(runDir: string, unit: Pick<PlannedUnit, 'key'>): string {
  return `${runDir}/${TASK_SCRIPTS_DIR}/${unit.key}`;
}

export interface UnitJobInput {
  runName: string;
  runDir: string;
  unit: PlannedUnit;
  resources: Resources;
  /** SLURM job ids of the units this one waits for. */
  after: readonly string[];
  /** A command run after the task succeeded (`keep: aggregates` pruning). */
  epilogue?: string;
}

/**
 * The job spec (a layer over the host's slurm defaults) of one unit: an array over the
 * unit's tasks to run, afterok on its inputs' jobs, and `--kill-on-invalid-dep=yes` so a
 * failed input cancels it (and what waits on it) instead of leaving it pending forever.
 */
export function unitJobSpec(o: UnitJobInput): JobSpecInput {
  const dir = unitScriptsDir(o.runDir, o.unit);
  const script = [
    '#!/bin/bash',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    'task=$(( ${BERTH_ARRAY_OFFSET:-0} + SLURM_ARRAY_TASK_ID ))',
    ...(o.epilogue
      ? [`bash ${quote(dir)}/"$task".sh || exit`, o.epilogue]
      : [`exec bash ${quote(dir)}/"$task".sh`]),
    '',
  ].join('\n');
  const r = o.resources;
  const resources: Record<string, unknown> = { extraArgs: ['--kill-on-invalid-dep=yes'] };
  if (r.cpus !== undefined) resources.cpus = r.cpus;
  if (r.mem !== undefined) resources.mem = r.mem;
  if (r.time !== undefined) resources.time = r.time;
  if (r.partition !== undefined) resources.partition = r.partition;
  if (r.gpus !== undefined && r.gpus > 0) resources.gpus = r.gpus;
  return {
    name: `${o.runName}.${o.unit.stage}`.slice(0, 100),
    script,
    array: o.unit.arraySpec,
    resources: resources as JobSpecInput['resources'],
    ...(o.after.length > 0 ? { dependencies: { afterok: [...o.after] } } : {}),
  };
}
