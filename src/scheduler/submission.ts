/**
 * The submit bookkeeping both schedulers share: send the one submit script with the job's
 * script on stdin, read the job dir and scheduler ids from its reply, and turn them into a
 * Submission (arrays: task count and the logical offset of each chunk's tasks). Only how
 * the reply is parsed and how a failure is worded differ per scheduler.
 */
import type { Runner, RunResult } from '../transport/runner.js';
import type { Submission } from './contract.js';

/** What a submit script printed: the job dir and the scheduler ids (the first names the job). */
export interface SubmitReply {
  dir: string;
  ids: string[];
}

export interface SubmitRound {
  runner: Runner;
  /** The submit script (quote()d values only). */
  text: string;
  /** The job's script, sent on stdin. */
  script: string;
  timeoutMs: number;
  /** When the submission started (the caller also writes it into spec.json). */
  submittedAt: number;
  parse: (stdout: string) => SubmitReply | undefined;
  /** The error for a failed submit (non-zero exit, or no reply). */
  fail: (r: RunResult) => Error;
  /** Array chunks in submit order, each `count` tasks from logical `offset` (ids[i] is chunk i). */
  chunks?: ReadonlyArray<{ offset: number; count: number }>;
}

export async function submitRound(o: SubmitRound): Promise<Submission> {
  const r = await o.runner.sh(o.text, { stdin: o.script, timeoutMs: o.timeoutMs });
  const reply = o.parse(r.stdout);
  if (r.exitCode !== 0 || !reply || reply.ids.length === 0) throw o.fail(r);
  const submission: Submission = {
    jobId: reply.ids[0]!,
    schedulerIds: reply.ids,
    workDir: reply.dir,
    submittedAt: o.submittedAt,
  };
  if (o.chunks) {
    submission.taskCount = o.chunks.reduce((n, c) => n + c.count, 0);
    submission.chunks = o.chunks.map((c, i) => ({
      schedulerId: reply.ids[i] ?? reply.ids[0]!,
      offset: c.offset,
      count: c.count,
    }));
  }
  return submission;
}
