import type { Outcome } from './execute.js';
import type { RunOptions, RunResult } from './runner.js';

/** Build the RunResult from an execution outcome (one shape for success and failure). */
export function toResult(
  command: string,
  host: string,
  o: Pick<Outcome, 'exitCode' | 'signal' | 'stdout' | 'stderr' | 'durationMs' | 'timedOut'>,
  opts: RunOptions,
): RunResult {
  const result: RunResult = {
    command,
    host,
    exitCode: o.exitCode,
    signal: o.signal,
    stdout: o.stdout.toString('utf8'),
    stderr: o.stderr.toString('utf8'),
    durationMs: Math.round(o.durationMs * 10) / 10,
    timedOut: o.timedOut,
  };
  if (opts.binary) {
    result.stdoutBytes = o.stdout;
    result.stderrBytes = o.stderr;
  }
  return result;
}

/** What a program that could not be started looks like: the shell's 127 / 126 convention. */
export function spawnFailure(
  program: string,
  error: NodeJS.ErrnoException,
): Pick<Outcome, 'exitCode' | 'stderr'> {
  if (error.code === 'ENOENT') {
    return { exitCode: 127, stderr: Buffer.from(`berth: ${program}: command not found\n`) };
  }
  if (error.code === 'EACCES') {
    return { exitCode: 126, stderr: Buffer.from(`berth: ${program}: permission denied\n`) };
  }
  return {
    exitCode: 126,
    stderr: Buffer.from(`berth: ${program}: cannot run (${error.code ?? error.message})\n`),
  };
}
