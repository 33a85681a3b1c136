/**
 * The Runner contract: every command berth runs on any machine goes through a Runner.
 *
 * Covers: running a program with exact arguments (`run`) or a shell script built with
 * `quote()` (`sh`), stdin, env, cwd, timeouts, line streaming, and an interactive mode
 * that hands the terminal over. Success and failure have the same result shape; a
 * non-zero exit is *not* thrown — callers decide (see `check()`).
 * Leaves out: scheduling, retries, parsing. Connections belong to the runner: `close()`
 * releases what it holds (for ssh, the multiplexed master is left running for reuse
 * unless `close({ master: true })`).
 * Implementations: `local` (this machine) and `ssh` (system OpenSSH, ControlMaster).
 * Both pass one conformance suite (test/integration/runner.test.ts).
 */

export interface RunResult {
  /** The command as the user would type it (argv joined with quote()). */
  command: string;
  /** Host name (profile name) it ran on. */
  host: string;
  /** Exit code, or null when the process died by a signal. */
  exitCode: number | null;
  /** Signal name (e.g. 'SIGKILL') when the process died by a signal, else null. */
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Raw bytes, only when `binary: true` was requested. */
  stdoutBytes?: Buffer;
  stderrBytes?: Buffer;
  durationMs: number;
  timedOut: boolean;
}

export interface RunOptions {
  stdin?: string | Buffer;
  /** Extra environment for the command (merged over the host's). */
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the command after this many ms; the result has timedOut: true. */
  timeoutMs?: number;
  /** Called for each complete line of output (without the newline), as it arrives. */
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Hand the terminal over (stdio inherited, a tty allocated over ssh); output is not captured. */
  interactive?: boolean;
  /** Also return stdoutBytes/stderrBytes. */
  binary?: boolean;
  /** Run under a login shell (`bash -lc`) so the site's module system loads. Default: true for ssh, false for local. */
  login?: boolean;
  /** Abort the command. */
  signal?: AbortSignal;
}

export interface Runner {
  /** Host profile name ('local' or a configured host). */
  readonly host: string;
  readonly kind: 'local' | 'ssh';
  /** Run a program with exact arguments: argv[0] is the program. */
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Run shell text under bash (a login shell when opts.login). Build the text with quote(). */
  sh(script: string, opts?: RunOptions): Promise<RunResult>;
  /** Release held resources. */
  close(opts?: { master?: boolean }): Promise<void>;
}
