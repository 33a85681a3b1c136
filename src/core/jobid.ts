/**
 * SLURM job ids as `squeue`, `sacct` and `sbatch` print them, and array index specs.
 *
 *   123             a job                     123+1          component 1 of a het job
 *   123_7           task 7 of array job 123   123_[2-4%25]   pending tasks 2..4, throttle 25
 *   123.4 123.batch 123.extern 123_7.0 123+1.0 123.0+1     job steps
 */
import { UsageError } from './errors.js';

/** A step of a job: numbered (`.4`, `.0+1` for a het step component) or a special one. */
export type StepId =
  | { kind: 'numbered'; id: number; hetComponent?: number }
  | { kind: 'batch' }
  | { kind: 'extern' }
  | { kind: 'interactive' };

/** Sorted unique array indices and an optional `%` throttle (max tasks running at once). */
export interface ArraySpec {
  indices: number[];
  throttle?: number;
}

export type JobId =
  | { kind: 'job'; jobId: number; step?: StepId }
  | { kind: 'array_task'; jobId: number; taskId: number; step?: StepId }
  | { kind: 'array_range'; jobId: number; tasks: ArraySpec }
  | { kind: 'het'; jobId: number; hetOffset: number; step?: StepId };

/** Guard against `0-99999999` turning into a hundred million numbers. */
export const MAX_ARRAY_INDICES = 10_000_000;

const JOB_ID =
  /^(\d+)(?:_(\d+)|_\[([^\]]+)\]|\+(\d+))?(?:\.(\d+)(?:\+(\d+))?|\.(batch|extern|interactive))?$/;

/** Parse a job, array task, pending array range, het component or step id. */
export function parseJobId(text: string): JobId {
  const m = JOB_ID.exec(text.trim());
  if (!m) throw badJobId(text);
  const jobId = Number(m[1]);
  const step = stepOf(m);
  if (m[3] !== undefined) {
    if (step) throw badJobId(text);
    return { kind: 'array_range', jobId, tasks: parseArraySpec(m[3]) };
  }
  const withStep = <T extends object>(o: T) => (step ? { ...o, step } : o);
  if (m[2] !== undefined) return withStep({ kind: 'array_task', jobId, taskId: Number(m[2]) });
  if (m[4] !== undefined) return withStep({ kind: 'het', jobId, hetOffset: Number(m[4]) });
  return withStep({ kind: 'job', jobId });
}

function stepOf(m: RegExpExecArray): StepId | undefined {
  if (m[5] !== undefined) {
    const id = Number(m[5]);
    return m[6] === undefined
      ? { kind: 'numbered', id }
      : { kind: 'numbered', id, hetComponent: Number(m[6]) };
  }
  if (m[7] !== undefined) return { kind: m[7] as 'batch' | 'extern' | 'interactive' };
  return undefined;
}

function badJobId(text: string): UsageError {
  return new UsageError(`invalid SLURM job id ${JSON.stringify(text)}`, {
    hint: 'job ids look like 123, 123_7, 123_[2-4%2], 123+1, 123.0 or 123.batch',
  });
}

/** The text SLURM uses for a job id (the inverse of `parseJobId`). */
export function formatJobId(id: JobId): string {
  switch (id.kind) {
    case 'job':
      return `${id.jobId}${formatStep(id.step)}`;
    case 'array_task':
      return `${id.jobId}_${id.taskId}${formatStep(id.step)}`;
    case 'array_range':
      return `${id.jobId}_[${formatArraySpec(id.tasks.indices, id.tasks.throttle)}]`;
    case 'het':
      return `${id.jobId}+${id.hetOffset}${formatStep(id.step)}`;
  }
}

function formatStep(step: StepId | undefined): string {
  if (!step) return '';
  if (step.kind !== 'numbered') return `.${step.kind}`;
  return step.hetComponent === undefined ? `.${step.id}` : `.${step.id}+${step.hetComponent}`;
}

const ARRAY_PART = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/;

/** `0-99%10`, `1,3,5-7`, `0-15:4` → sorted unique indices and the throttle. */
export function parseArraySpec(text: string): ArraySpec {
  const [list = '', throttleText, ...rest] = text.trim().split('%');
  if (rest.length > 0 || list === '') throw badArraySpec(text);
  const seen = new Set<number>();
  for (const part of list.split(',')) {
    const m = ARRAY_PART.exec(part.trim());
    if (!m) throw badArraySpec(text);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    if (end < start || step < 1) throw badArraySpec(text);
    if (seen.size + Math.floor((end - start) / step) + 1 > MAX_ARRAY_INDICES) {
      throw new UsageError(`array ${JSON.stringify(text)} has too many tasks`, {
        hint: `berth handles at most ${MAX_ARRAY_INDICES} tasks in one array`,
      });
    }
    for (let i = start; i <= end; i += step) seen.add(i);
  }
  const indices = [...seen].sort((a, b) => a - b);
  if (throttleText === undefined) return { indices };
  if (!/^\d+$/.test(throttleText) || Number(throttleText) < 1) throw badArraySpec(text);
  return { indices, throttle: Number(throttleText) };
}

function badArraySpec(text: string): UsageError {
  return new UsageError(`invalid array spec ${JSON.stringify(text)}`, {
    hint: 'write indices and ranges like 0-99, 1,3,5-7 or 0-15:4, optionally with %N to run at most N at once',
  });
}

/** Compress indices into SLURM's `--array` text: `3,7,12-15`, plus `%N` when throttled. */
export function formatArraySpec(indices: readonly number[], throttle?: number): string {
  const ranges = toRanges(indices);
  if (ranges.length === 0) {
    throw new UsageError('an array needs at least one index', {
      hint: 'give at least one array index',
    });
  }
  const text = ranges.map(formatRange).join(',');
  return throttle === undefined ? text : `${text}%${throttle}`;
}

/** Sorted unique indices as inclusive `[start, end]` runs of consecutive numbers. */
export function toRanges(indices: readonly number[]): Array<[number, number]> {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const ranges: Array<[number, number]> = [];
  for (const i of sorted) {
    if (!Number.isInteger(i) || i < 0) {
      throw new UsageError(`invalid array index ${i}`, {
        hint: 'array indices are whole numbers from 0',
      });
    }
    const last = ranges.at(-1);
    if (last && last[1] === i - 1) last[1] = i;
    else ranges.push([i, i]);
  }
  return ranges;
}

export function formatRange([start, end]: readonly [number, number]): string {
  return start === end ? String(start) : `${start}-${end}`;
}
