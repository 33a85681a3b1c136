/**
 * submitRound (src/scheduler/submission.ts): the submit bookkeeping of both schedulers,
 * with a real shell through the LocalRunner. The "submit script" here stands in for
 * sbatch's: it saves stdin and prints a reply line.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RemoteError } from '../../src/core/errors.js';
import { submitRound } from '../../src/scheduler/submission.js';
import { LocalRunner } from '../../src/transport/local.js';
import { quote } from '../../src/transport/quote.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-submission-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const runner = new LocalRunner();

const parse = (stdout: string) => {
  const m = /^reply (\S+) (.+)$/m.exec(stdout);
  return m ? { dir: m[1]!, ids: m[2]!.split(' ') } : undefined;
};
const fail = (r: { exitCode: number | null; stderr: string }) =>
  new RemoteError(`submit failed (${r.exitCode}): ${r.stderr.trim()}`, { code: 'E_TEST' });

describe('submitRound', () => {
  it('sends the script on stdin and builds the Submission from the reply', async () => {
    const saved = join(dir, 'job.sh');
    const s = await submitRound({
      runner,
      text: `cat > ${quote(saved)} && echo 'reply /jobs/41 41'`,
      script: '#!/bin/bash\necho hi\n',
      timeoutMs: 30_000,
      submittedAt: 1234,
      parse,
      fail,
    });
    expect(s).toEqual({
      jobId: '41',
      schedulerIds: ['41'],
      workDir: '/jobs/41',
      submittedAt: 1234,
    });
    expect(readFileSync(saved, 'utf8')).toBe('#!/bin/bash\necho hi\n');
  });

  it('an array: task count and each chunk under its own scheduler id', async () => {
    const s = await submitRound({
      runner,
      text: "cat > /dev/null; echo 'reply /jobs/50 50 51 52'",
      script: 'x',
      timeoutMs: 30_000,
      submittedAt: 1,
      parse,
      fail,
      chunks: [
        { offset: 0, count: 1001 },
        { offset: 1001, count: 1001 },
        { offset: 2002, count: 498 },
      ],
    });
    expect(s.taskCount).toBe(2500);
    expect(s.chunks).toEqual([
      { schedulerId: '50', offset: 0, count: 1001 },
      { schedulerId: '51', offset: 1001, count: 1001 },
      { schedulerId: '52', offset: 2002, count: 498 },
    ]);
  });

  it('a non-zero exit, or no reply, is the scheduler’s own error', async () => {
    const round = (text: string) =>
      submitRound({ runner, text, script: '', timeoutMs: 30_000, submittedAt: 1, parse, fail });
    await expect(round("cat >/dev/null; echo 'no room' >&2; exit 3")).rejects.toThrow(
      'submit failed (3): no room',
    );
    await expect(round('cat >/dev/null; echo nothing useful')).rejects.toThrow(
      'submit failed (0): ',
    );
    await expect(round("cat >/dev/null; echo 'reply /jobs/9 9'; exit 1")).rejects.toMatchObject({
      code: 'E_TEST',
    });
  });
});
