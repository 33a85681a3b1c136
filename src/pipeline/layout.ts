/**
 * Where a run keeps its files (all relative to the run directory):
 *
 *   run.json                      the run: name, spec text, --set values, created
 *   <stage>/step-<k>/<task>/      a foreach stage's task k (steps count from 1)
 *   <stage>/once/<task>/          a stage that runs once
 *     READY                       "<config hash>": the task finished and its outputs are complete
 *     FAILED                      "<config hash> <exit code>": the last attempt failed
 *     DONE.json                   an aggregate stage's marker (instead of READY)
 *     berth.log                   the task's stdout and stderr
 */
export const RUN_FILE = 'run.json';

export function stepKey(step: number): string {
  return step === 0 ? 'once' : `step-${step}`;
}

export function parseStepKey(text: string): number | undefined {
  if (text === 'once') return 0;
  const m = /^step-(\d+)$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

export function unitDir(stage: string, step: number): string {
  return `${stage}/${stepKey(step)}`;
}

export function taskDir(stage: string, step: number, task: number): string {
  return `${unitDir(stage, step)}/${task}`;
}

/** A unit is one stage at one step ("gen@3"; "setup@0" for a stage that runs once). */
export function unitKey(stage: string, step: number): string {
  return `${stage}@${step}`;
}

/** SLURM submissions of a run, one JSON line per submitted unit (job ids, array lists). */
export const SUBMISSIONS_FILE = 'submissions.jsonl';

/** Where the SLURM executor keeps each task's wrapper script: `<dir>/<stage>@<step>/<task>.sh`. */
export const TASK_SCRIPTS_DIR = '.berth/tasks';

/** Where a spec's directory is staged on a remote host (`{{specdir}}` there). */
export const SPEC_STAGE_DIR = 'spec';
