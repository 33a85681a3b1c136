/**
 * One round trip to a session's host, as every runtime makes it: run a script with a
 * deadline (a timeout is an error that says where to look), look at sessions (the reply
 * must be complete), print a log as it comes. The scripts are pure renderers elsewhere
 * (scripts.ts, slurm-scripts.ts); their replies are read in replies.ts and observe.ts.
 */
import { RemoteError, TimeoutError } from '../core/errors.js';
import type { Runner, RunResult } from '../transport/runner.js';
import { type HostObservation, parseObserve } from './observe.js';
import { MARK } from './scripts.js';

/** Run `script` on the host; past `timeoutMs` a TimeoutError with `hint`. */
export async function runScript(
  runner: Runner,
  script: string,
  o: { what: string; timeoutMs: number; hint: string },
): Promise<RunResult> {
  const r = await runner.sh(script, { timeoutMs: o.timeoutMs });
  if (r.timedOut) {
    throw new TimeoutError(`${runner.host} did not ${o.what} within ${o.timeoutMs / 1000} s`, {
      hint: o.hint,
    });
  }
  return r;
}

/** The error of a script whose reply was missing or cut short: its last stderr lines. */
export function failed(runner: Runner, r: RunResult, what: string): RemoteError {
  const err = r.stderr.trim().split('\n').slice(-3).join('; ');
  return new RemoteError(`cannot ${what} on ${runner.host}: ${err || `exit ${r.exitCode}`}`, {
    hint: 'run berth host check on that host',
  });
}

/** What runtimes say they were doing when a look at the host fails. */
export const LOOK = 'look at its sessions';

/** An observe script's reply (`r`), parsed; one cut short is an error. */
export function observation(runner: Runner, r: RunResult): HostObservation {
  const o = parseObserve(r.stdout);
  if (!o.complete) throw failed(runner, r, LOOK);
  return o;
}

/**
 * Run a logs script: the lines after its `log` marker go to `onLine` as they come; false
 * when it said `nolog`. A reply with neither (and not aborted) is an error.
 */
export async function readLog(
  runner: Runner,
  script: string,
  onLine: (line: string) => void,
  signal?: AbortSignal,
): Promise<boolean> {
  const seen: { state: 'before' | 'log' | 'none' } = { state: 'before' };
  const r = await runner.sh(script, {
    ...(signal ? { signal } : {}),
    onStdoutLine: (raw) => {
      const line = raw.replace(/\r$/, '');
      if (seen.state === 'log') onLine(line);
      else if (line === `${MARK}:log`) seen.state = 'log';
      else if (line === `${MARK}:nolog`) seen.state = 'none';
    },
  });
  if (seen.state === 'before' && !signal?.aborted) throw failed(runner, r, 'read the log');
  return seen.state === 'log';
}
