/**
 * LocalRunner: runs commands on this machine with node:child_process.
 * `run(argv)` starts the program directly (no shell); `sh(script)` runs `bash -c script`
 * (`bash -lc` with `login: true`). Each command gets its own process group, so a timeout
 * or an abort stops the whole tree: SIGTERM, then SIGKILL after a short grace.
 */
import type { ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { checkArgv, checkEnv } from './env.js';
import { execute } from './execute.js';
import { quoteArgs } from './quote.js';
import { withEnvAndCwd } from './remote.js';
import { spawnFailure, toResult } from './result.js';
import type { Runner, RunOptions, RunResult } from './runner.js';
import { SessionSlot, ShellSession } from './shell-session.js';

export interface LocalRunnerOptions {
  /** Host profile name (default 'local'). */
  host?: string;
  /** Time between SIGTERM and SIGKILL on timeout/abort (default 1000 ms). */
  killGraceMs?: number;
  /**
   * Run `login: true` commands in one persistent `bash -l` (shell-session.ts) so the rc
   * files run once, not per command. Default false.
   */
  persistentShell?: boolean;
}

export class LocalRunner implements Runner {
  readonly kind = 'local' as const;
  readonly host: string;
  private readonly killGraceMs: number;
  private readonly session: SessionSlot | undefined;

  constructor(opts: LocalRunnerOptions = {}) {
    this.host = opts.host ?? 'local';
    this.killGraceMs = opts.killGraceMs ?? 1000;
    if (opts.persistentShell) {
      this.session = new SessionSlot(
        () =>
          new ShellSession({
            file: 'bash',
            args: ['-l'],
            detached: true,
            killGroup: async (pgid, sig) => signal(-pgid, `SIG${sig}`),
            killGraceMs: this.killGraceMs,
          }),
      );
    }
  }

  run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    checkArgv(argv);
    const command = quoteArgs(argv);
    if (opts.login) return this.exec('bash', ['-lc', command], command, opts, command);
    return this.exec(argv[0]!, argv.slice(1), command, opts);
  }

  sh(script: string, opts: RunOptions = {}): Promise<RunResult> {
    const login = opts.login === true;
    return this.exec(
      'bash',
      [login ? '-lc' : '-c', script],
      script,
      opts,
      login ? script : undefined,
    );
  }

  /** Ends the persistent shell, if any; nothing else is held between commands. */
  async close(): Promise<void> {
    this.session?.close();
  }

  private async exec(
    file: string,
    args: readonly string[],
    command: string,
    opts: RunOptions,
    loginScript?: string,
  ): Promise<RunResult> {
    const extra = checkEnv(opts.env);
    const env = { ...process.env, ...extra };
    const missing = opts.cwd === undefined ? undefined : await missingDir(opts.cwd);
    if (missing) {
      return toResult(
        command,
        this.host,
        { ...emptyOutcome(), exitCode: 1, stderr: Buffer.from(missing) },
        opts,
      );
    }
    if (loginScript !== undefined && this.session) {
      // undefined: busy, unsuitable (stdin, terminal) or cannot start: take the ordinary path.
      const outcome = await this.session.run(withEnvAndCwd(loginScript, extra, opts.cwd), opts);
      if (outcome) return toResult(command, this.host, outcome, opts);
    }
    const outcome = await execute(
      {
        file,
        args,
        env,
        cwd: opts.cwd,
        detached: !opts.interactive,
        terminate: (child) => this.terminate(child, !opts.interactive),
      },
      opts,
    );
    if (outcome.spawnError) {
      return toResult(
        command,
        this.host,
        { ...outcome, ...spawnFailure(file, outcome.spawnError) },
        opts,
      );
    }
    return toResult(command, this.host, outcome, opts);
  }

  /** SIGTERM the process group, SIGKILL it after the grace period. */
  private terminate(child: ChildProcess, group: boolean): void {
    const pid = child.pid;
    if (pid === undefined) return;
    const target = group ? -pid : pid;
    signal(target, 'SIGTERM');
    const t = setTimeout(() => signal(target, 'SIGKILL'), this.killGraceMs);
    t.unref();
  }
}

function signal(target: number, sig: string): void {
  try {
    process.kill(target, sig as NodeJS.Signals);
  } catch {
    // already gone
  }
}

async function missingDir(dir: string): Promise<string | undefined> {
  try {
    if ((await stat(dir)).isDirectory()) return undefined;
    return `berth: cd: ${dir}: Not a directory\n`;
  } catch {
    return `berth: cd: ${dir}: No such file or directory\n`;
  }
}

function emptyOutcome() {
  return {
    exitCode: null,
    signal: null,
    stdout: Buffer.alloc(0),
    stderr: Buffer.alloc(0),
    durationMs: 0,
    timedOut: false,
  };
}
