/**
 * Parsers for what `sbatch`, `squeue` and `sacct` print, and the exact commands whose
 * output they expect. Pure; robust to login-shell noise (banners, module messages) before
 * and after the output: a line that does not have the expected shape is skipped.
 *
 * squeue: `--format=SQUEUE_FORMAT` starts every line with the marker `@berth|` so noise
 * cannot pass for a job, and puts the job name last, so a `|` inside a name stays in it.
 * sacct: `--parsable2` separates with `|`; JobName is last for the same reason, and a
 * line counts only when its JobID parses and its State is a state.
 */
import { RemoteError } from '../../core/errors.js';
import { type ArraySpec, type JobId, parseArraySpec, parseJobId } from '../../core/jobid.js';
import { type ExitCode, fromSlurmState, type JobState, parseExitCode } from '../../core/states.js';
import {
  expandHostlist,
  parseCount,
  parseSlurmDuration,
  parseSlurmTime,
  type TimeOptions,
} from './parse-fields.js';

export { SLURM_TIME_ENV, type TimeOptions } from './parse-fields.js';

export interface SbatchReply {
  jobId: number;
  cluster?: string;
}

/** `123`, `123;cluster` (`--parsable`) or `Submitted batch job 123[ on cluster c]`. */
export function parseSbatchReply(text: string): SbatchReply {
  let found: SbatchReply | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m =
      /^(\d+)(?:;(\S+))?$/.exec(line) ??
      /^Submitted batch job (\d+)(?: on cluster (\S+))?$/.exec(line);
    // The reply comes after start-up banners: the last match is sbatch's.
    if (m) found = m[2] ? { jobId: Number(m[1]), cluster: m[2] } : { jobId: Number(m[1]) };
  }
  if (!found) {
    throw new RemoteError('sbatch did not print a job id', {
      code: 'E_SBATCH_REPLY',
      hint: 'check the output below for the scheduler error',
      details: { output: text.slice(0, 2000) },
    });
  }
  return found;
}

const SQUEUE_MARK = '@berth';
const SQUEUE_CODES = [
  '%i',
  '%A',
  '%F',
  '%K',
  '%T',
  '%r',
  '%N',
  '%D',
  '%C',
  '%S',
  '%V',
  '%e',
  '%M',
  '%l',
  '%P',
  '%u',
  '%j',
];

/**
 * squeue `--format`: marker, job id as shown (`123_7`, `123_[2-4%2]`, `123+1`), job id of
 * the element, array job id, array task id, state, reason, nodes, node count, CPUs, start,
 * submit and end time, time used, time limit, partition, user, name (last).
 */
export const SQUEUE_FORMAT = [SQUEUE_MARK, ...SQUEUE_CODES].join('|');

export interface SqueueOptions {
  jobs?: readonly string[];
  /** Include finished jobs still in slurmctld's memory (`--states=all`, for MinJobAge). */
  allStates?: boolean;
  /** One line per array task (`--array`) instead of `123_[2-4%2]` for pending tasks. */
  expandArrays?: boolean;
}

/** argv for squeue; run it with `SLURM_TIME_ENV`. */
export function squeueArgs(opts: SqueueOptions = {}): string[] {
  return [
    'squeue',
    '--noheader',
    `--format=${SQUEUE_FORMAT}`,
    ...(opts.allStates ? ['--states=all'] : []),
    ...(opts.expandArrays ? ['--array'] : []),
    ...(opts.jobs?.length ? [`--jobs=${opts.jobs.join(',')}`] : []),
  ];
}

export interface SqueueRow {
  id: JobId;
  /** The id as printed: `123`, `123_7`, `123_[2-4%2]`, `123+1`. */
  idText: string;
  /** SLURM's own id of this element (`%A`): each array task and het component has one. */
  elementId: number;
  arrayJobId: number | null;
  arrayTask: number | ArraySpec | null;
  slurmState: string;
  state: JobState;
  reason: string | null;
  nodes: string[];
  nodeCount: number | null;
  cpus: number | null;
  submittedAt: number | null;
  startedAt: number | null;
  endsAt: number | null;
  elapsedS: number | null;
  timeLimitS: number | null;
  partition: string;
  user: string;
  name: string;
}

/** The rows `row` makes of the lines of `text` (CR of CRLF dropped); other lines are skipped. */
function rowsOf<T>(text: string, row: (line: string) => T | undefined): T[] {
  const rows: T[] = [];
  for (const line of text.split('\n')) {
    const r = row(line.replace(/\r$/, ''));
    if (r) rows.push(r);
  }
  return rows;
}

/** Rows of `squeue --noheader --format=SQUEUE_FORMAT` output; other lines are skipped. */
export function parseSqueue(text: string, opts: TimeOptions = {}): SqueueRow[] {
  return rowsOf(text, (line) => squeueRow(line, opts));
}

function squeueRow(line: string, opts: TimeOptions): SqueueRow | undefined {
  const f = splitFields(line, SQUEUE_CODES.length + 1);
  if (!f || f[0] !== SQUEUE_MARK) return undefined;
  const [, idText, element, arrayJob, task, slurmState, reasonText, nodeText] = f as string[] as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const id = tryJobId(idText);
  if (!id || !/^\d+$/.test(element) || !/^[A-Z_]+$/.test(slurmState)) return undefined;
  const nodes = expandHostlist(nodeText);
  const reason = noneToNull(reasonText);
  const startedAt = parseSlurmTime(f[10]!, opts);
  return {
    id,
    idText,
    elementId: Number(element),
    arrayJobId: id.kind === 'array_task' || id.kind === 'array_range' ? parseCount(arrayJob) : null,
    arrayTask: arrayTaskOf(task),
    slurmState,
    state: fromSlurmState(slurmState, { reason, nodes, startedAt }),
    reason,
    nodes,
    nodeCount: parseCount(f[8]!),
    cpus: parseCount(f[9]!),
    startedAt,
    submittedAt: parseSlurmTime(f[11]!, opts),
    endsAt: parseSlurmTime(f[12]!, opts),
    elapsedS: parseSlurmDuration(f[13]!),
    timeLimitS: parseSlurmDuration(f[14]!),
    partition: f[15]!,
    user: f[16]!,
    name: f[17]!,
  };
}

function arrayTaskOf(text: string): number | ArraySpec | null {
  if (/^\d+$/.test(text)) return Number(text);
  try {
    return parseArraySpec(text);
  } catch {
    return null;
  }
}

/** The sacct fields berth reads, JobName last (a name may contain `|`). */
export const SACCT_FIELDS = [
  'JobID',
  'JobIDRaw',
  'State',
  'ExitCode',
  'DerivedExitCode',
  'Reason',
  'Submit',
  'Start',
  'End',
  'Elapsed',
  'Timelimit',
  'NodeList',
  'NNodes',
  'AllocCPUS',
  'Partition',
  'User',
  'JobName',
] as const;

export interface SacctOptions {
  jobs: readonly string[];
  /** Only the allocations, not their steps (`--allocations`, `-X`). */
  allocationsOnly?: boolean;
}

/** argv for sacct (`-n -P [-X] -o …`); run it with `SLURM_TIME_ENV`. */
export function sacctArgs(opts: SacctOptions): string[] {
  return [
    'sacct',
    '--noheader',
    '--parsable2',
    ...(opts.allocationsOnly ? ['--allocations'] : []),
    `--format=${SACCT_FIELDS.join(',')}`,
    `--jobs=${opts.jobs.join(',')}`,
  ];
}

export interface SacctRow {
  id: JobId;
  idText: string;
  /** JobIDRaw: SLURM's own id of this element, `124` or `124.batch`. */
  rawId: string;
  slurmState: string;
  state: JobState;
  exitCode: ExitCode | null;
  derivedExitCode: ExitCode | null;
  reason: string | null;
  submittedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  elapsedS: number | null;
  timeLimitS: number | null;
  nodes: string[];
  nodeCount: number | null;
  cpus: number | null;
  partition: string;
  user: string;
  name: string;
}

/** Rows of `sacct --noheader --parsable2 --format=SACCT_FIELDS` output; other lines are skipped. */
export function parseSacct(text: string, opts: TimeOptions = {}): SacctRow[] {
  return rowsOf(text, (line) => sacctRow(line, opts));
}

function sacctRow(line: string, opts: TimeOptions): SacctRow | undefined {
  const f = splitFields(line, SACCT_FIELDS.length);
  if (!f) return undefined;
  const [idText, rawId, slurmState, exitText, derivedText, reasonText] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const id = tryJobId(idText);
  if (!id || !/^\d+/.test(rawId) || !/^[A-Z_]+(\+| by \S+)?$/.test(slurmState)) return undefined;
  const nodes = expandHostlist(f[11]!);
  const reason = noneToNull(reasonText);
  const exitCode = parseExitCode(exitText);
  const startedAt = parseSlurmTime(f[7]!, opts);
  const endedAt = parseSlurmTime(f[8]!, opts);
  return {
    id,
    idText,
    rawId,
    slurmState,
    state: fromSlurmState(slurmState, { reason, nodes, startedAt, endedAt, exitCode }),
    exitCode,
    derivedExitCode: parseExitCode(derivedText),
    reason,
    submittedAt: parseSlurmTime(f[6]!, opts),
    startedAt,
    endedAt,
    elapsedS: parseSlurmDuration(f[9]!),
    timeLimitS: parseSlurmDuration(f[10]!),
    nodes,
    nodeCount: parseCount(f[12]!),
    cpus: parseCount(f[13]!),
    partition: f[14]!,
    user: f[15]!,
    name: f[16]!,
  };
}

/** Split on `|` into exactly `count` fields, the last keeping any further `|`. */
function splitFields(line: string, count: number): string[] | undefined {
  const parts = line.split('|');
  if (parts.length < count) return undefined;
  return [...parts.slice(0, count - 1), parts.slice(count - 1).join('|')];
}

function tryJobId(text: string): JobId | undefined {
  try {
    return parseJobId(text);
  } catch {
    return undefined;
  }
}

function noneToNull(text: string): string | null {
  const t = text.trim();
  return /^(none|\(null\)|n\/a|)$/i.test(t) ? null : t;
}
