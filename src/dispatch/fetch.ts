/**
 * fetchJob: copy a job's files back with rsync (run on this machine, reusing the host's
 * ssh ControlMaster). Without paths: the whole job dir (script, logs, records). Paths are
 * relative to the job's working directory (its spec's workdir, else the job dir); absolute
 * ones are taken as they are. Remote paths go through `--protect-args`, so the remote
 * shell never reads them.
 */
import { mkdirSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { RemoteError, UsageError } from '../core/errors.js';
import { remoteArgument, remoteShellArgs } from '../sync/rsync.js';
import { connectionFor } from '../sync/ssh.js';
import { LocalRunner } from '../transport/local.js';
import { extraOf, resolveRef } from './jobs.js';
import type { Dispatch } from './session.js';

export interface FetchOptions {
  host?: string;
  /** Paths on the host (default: the job dir). */
  paths?: readonly string[];
  /** Local directory to copy into (default: `./<jobId>` under cwd). */
  to?: string;
  cwd?: string;
}

export interface FetchResult {
  host: string;
  jobId: string;
  to: string;
  sources: string[];
  durationMs: number;
}

export async function fetchJob(
  d: Dispatch,
  id: string,
  opts: FetchOptions = {},
): Promise<FetchResult> {
  const ref = await resolveRef(d, id, opts.host);
  const x = extraOf(ref.record);
  const jobDir =
    x.workDir ?? (await ref.host.scheduler.logPaths(ref.jobId)).stdout.replace(/\/stdout$/, '');
  const base = x.spec?.workdir ?? jobDir;
  const sources = opts.paths?.length
    ? opts.paths.map((p) => (isAbsolute(p) ? p : `${base.replace(/\/$/, '')}/${p}`))
    : [`${jobDir}/`];
  for (const s of sources) {
    if (s.includes('\0') || s.includes('\n'))
      throw new UsageError(`invalid path ${JSON.stringify(s)}`);
  }
  const to = resolve(opts.cwd ?? process.cwd(), opts.to ?? ref.jobId);
  mkdirSync(to, { recursive: true });
  const connection = await connectionFor(
    ref.host.runner,
    ref.host.profile,
    d.config.ssh.connectTimeoutS,
  );
  const argv = ['rsync', '-a', '--protect-args', ...remoteShellArgs(connection)];
  argv.push('--', ...sources.map((s) => remoteArgument(connection, s)), `${to}/`);
  const t0 = Date.now();
  const r = await new LocalRunner().run(argv, { timeoutMs: 3_600_000 });
  if (r.exitCode !== 0) {
    throw new RemoteError(
      `rsync from ${ref.host.name} failed (exit ${r.exitCode}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`,
      {
        code: 'E_FETCH',
        hint: 'check that the paths exist on the host (berth job status shows the job dir) and that rsync is installed on both ends',
        details: { stderr: r.stderr.slice(0, 2000) },
      },
    );
  }
  return { host: ref.host.name, jobId: ref.jobId, to, sources, durationMs: Date.now() - t0 };
}
