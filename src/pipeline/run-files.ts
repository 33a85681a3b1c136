/**
 * A run's own files (run.json, submissions.jsonl) live in the run directory on the host
 * that runs it, so every read and write goes through the host's Runner: the same code for
 * this machine and a cluster over ssh. Each function is one round trip.
 */
import { NotFoundError, RemoteError } from '../core/errors.js';
import { quote } from '../transport/quote.js';
import type { Runner } from '../transport/runner.js';
import { RUN_FILE, SUBMISSIONS_FILE } from './layout.js';

export interface RunRecord {
  name: string;
  specFile: string;
  specText: string;
  sets: string[];
  host: string;
  created: string;
  /** What `{{specdir}}` is for the tasks (the staged copy on a remote host). */
  specDir?: string;
}

const BEGIN = '@@berth-file';
const NONE = '@@berth-nofile';

/** The text of a file on the host, undefined when it does not exist. */
export async function readHostFile(runner: Runner, path: string): Promise<string | undefined> {
  const r = await runner.sh(
    `if [ -f ${quote(path)} ]; then echo ${BEGIN}; cat -- ${quote(path)}; else echo ${NONE}; fi`,
  );
  const at = r.stdout.indexOf(`${BEGIN}\n`);
  if (r.exitCode === 0 && at >= 0) return r.stdout.slice(at + BEGIN.length + 1);
  if (r.exitCode === 0 && r.stdout.includes(NONE)) return undefined;
  throw hostError(runner, `reading ${path}`, r.stderr);
}

/** Write (or, with append, add to) a file on the host, creating its directory. */
export async function writeHostFile(
  runner: Runner,
  path: string,
  text: string,
  opts: { append?: boolean } = {},
): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  const script = opts.append
    ? `mkdir -p -- ${quote(dir)} && cat >> ${quote(path)}`
    : `mkdir -p -- ${quote(dir)} && cat > ${quote(`${path}.tmp`)} && mv -- ${quote(`${path}.tmp`)} ${quote(path)}`;
  const r = await runner.sh(script, { stdin: text });
  if (r.exitCode !== 0) throw hostError(runner, `writing ${path}`, r.stderr);
}

export async function readRecordAt(
  runner: Runner,
  runDir: string,
  name: string,
): Promise<RunRecord> {
  const text = await readHostFile(runner, `${runDir}/${RUN_FILE}`);
  if (text !== undefined) {
    try {
      return JSON.parse(text) as RunRecord;
    } catch {
      // a damaged run.json reads as no run
    }
  }
  throw new NotFoundError(
    `no pipeline run ${JSON.stringify(name)} in ${runDir} on ${runner.host}`,
    {
      hint: `berth pipeline list${runner.kind === 'ssh' ? ` --host ${runner.host}` : ''} shows the runs`,
    },
  );
}

/** Every run.json under the root, in one round trip. */
export async function readAllRecords(runner: Runner, root: string): Promise<RunRecord[]> {
  const r = await runner.sh(
    [
      `cd ${quote(root)} 2>/dev/null || exit 0`,
      `for f in */${RUN_FILE}; do [ -f "$f" ] || continue; echo ${BEGIN}; cat -- "$f"; echo; done`,
    ].join('\n'),
  );
  if (r.exitCode !== 0) throw hostError(runner, `listing the runs under ${root}`, r.stderr);
  const out: RunRecord[] = [];
  for (const part of r.stdout.split(`${BEGIN}\n`).slice(1)) {
    try {
      out.push(JSON.parse(part) as RunRecord);
    } catch {
      // not a run directory
    }
  }
  return out;
}

/** One line of submissions.jsonl: a unit submitted to SLURM. */
export interface SubmittedUnit {
  unit: string;
  stage: string;
  step: number;
  /** The logical task list submitted (`--array` text before chunking). */
  array: string;
  /** One SLURM array per chunk: its job id, `--array` value and offset. */
  jobs: Array<{ jobId: string; array: string; offset: number }>;
  /** Job ids this unit waits for (afterok). */
  after: string[];
  submittedAt: string;
}

export async function appendSubmissions(
  runner: Runner,
  runDir: string,
  units: readonly SubmittedUnit[],
): Promise<void> {
  if (units.length === 0) return;
  const text = units.map((u) => `${JSON.stringify(u)}\n`).join('');
  await writeHostFile(runner, `${runDir}/${SUBMISSIONS_FILE}`, text, { append: true });
}

export async function readSubmissions(runner: Runner, runDir: string): Promise<SubmittedUnit[]> {
  const text = (await readHostFile(runner, `${runDir}/${SUBMISSIONS_FILE}`)) ?? '';
  const out: SubmittedUnit[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as SubmittedUnit);
    } catch {
      // a torn last line (the writer died): skip it
    }
  }
  return out;
}

function hostError(runner: Runner, what: string, stderr: string): RemoteError {
  return new RemoteError(`${what} on ${runner.host} failed: ${stderr.trim() || '(no output)'}`, {
    hint: 'check that the host is reachable and the run directory writable',
  });
}
