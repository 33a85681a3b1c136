import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'berth.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run the built CLI as a user would (global setup builds dist/ first). */
export function berth(
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; input?: string },
): CliResult {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: opts.cwd,
    env: opts.env,
    input: opts.input,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

/** Parse --json output, failing with the whole output when it is not JSON. */
export function json<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.status}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}
