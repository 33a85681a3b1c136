import type { Runner, RunResult } from '../../src/transport/runner.js';

/**
 * A runner for parser and logic tests: every sh() gets the next of `replies` (defaults:
 * exit 0, no output), and the scripts it was given are kept in order. run() is refused.
 */
export function scriptedRunner(
  replies: Array<Partial<RunResult>>,
  host = 'hpc',
): Runner & { scripts: string[] } {
  const scripts: string[] = [];
  return {
    host,
    kind: 'ssh',
    scripts,
    run: () => Promise.reject(new Error('run() is not used')),
    sh: (script) => {
      scripts.push(script);
      const r = replies.shift() ?? {};
      return Promise.resolve({
        command: script,
        host,
        exitCode: 0,
        signal: null,
        stdout: '',
        stderr: '',
        durationMs: 1,
        timedOut: false,
        ...r,
      });
    },
    close: () => Promise.resolve(),
  };
}
