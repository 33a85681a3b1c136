/**
 * SshRunner: commands on another machine through the system OpenSSH client, so
 * ~/.ssh/config, ProxyJump, Kerberos and 2FA work as they do for the user.
 *
 * Every call reuses one multiplexed master per target (ssh-master.ts); only opening the
 * master may prompt. Commands run as `bash -lc <script>` by default (login: false gives
 * `bash -c`) inside a wrapper (remote.ts) that reports the remote process group and a death
 * by signal, so results have the same shape as LocalRunner's. A non-zero exit is returned;
 * "ssh could not connect or authenticate" is thrown as UnreachableError.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnreachableError } from '../core/errors.js';
import { checkArgv, checkEnv } from './env.js';
import { execute, type Outcome } from './execute.js';
import { Limiter } from './limit.js';
import { MarkerFilter } from './markers.js';
import { quoteArgs } from './quote.js';
import { killCommand, newNonce, plainCommand, withEnvAndCwd, wrappedCommand } from './remote.js';
import { toResult } from './result.js';
import type { Runner, RunOptions, RunResult } from './runner.js';
import { SessionSlot, ShellSession } from './shell-session.js';
import {
  checkExtraOptions,
  commandArgs,
  controlPathFor,
  parseTarget,
  type SshEndpoint,
} from './ssh-args.js';
import { nothingStarted, sshFailureOrGeneric } from './ssh-failure.js';
import { type MasterStatus, SshMaster } from './ssh-master.js';

export interface SshRunnerOptions {
  /** Host profile name. */
  host: string;
  /** An ssh alias or `user@host[:port]`. */
  target: string;
  /** An ssh_config file, passed as `-F`. */
  configFile?: string;
  /** berth's state directory; sockets go to `<stateDir>/cm/`. */
  stateDir: string;
  /** `-o ConnectTimeout=N` (default 10 s): a host that is down fails in bounded time. */
  connectTimeoutS?: number;
  /** More ssh options, e.g. ['-o', 'ProxyJump=gw'] (host-key checking cannot be turned off). */
  extraOptions?: string[];
  /** ControlPersist of the master (default '10m'). */
  controlPersist?: string;
  /** Commands in flight at once over the master (sshd's MaxSessions is 10 by default). */
  maxSessions?: number;
  /** Between SIGTERM and SIGKILL of the remote process group on timeout (default 1000 ms). */
  killGraceMs?: number;
  /**
   * Run login-shell commands in one persistent remote `bash -l` (shell-session.ts), so the
   * site's rc files (Lmod, conda, pyenv) run once per connection. Default false.
   */
  persistentShell?: boolean;
}

/** Tries of a command that the server refused before it started (see refusedBeforeStart). */
const COMMAND_ATTEMPTS = 3;

/**
 * ssh exited 255 and said the server refused the session or shed the connection before
 * authentication: the command never started, so running it again is safe.
 */
function refusedBeforeStart(o: Outcome): boolean {
  if (o.exitCode !== 255 || o.timedOut || o.aborted || o.spawnError) return false;
  return nothingStarted(o.stderr.toString('utf8'));
}

interface CallState {
  pgid?: number;
  signal?: string;
}

export class SshRunner implements Runner {
  readonly kind = 'ssh' as const;
  readonly host: string;
  readonly target: string;
  /** The master's socket (deterministic per target, config file and options). */
  readonly controlPath: string;
  private readonly endpoint: SshEndpoint;
  private readonly master: SshMaster;
  private readonly limiter: Limiter;
  private readonly killGraceMs: number;
  private readonly session: SessionSlot | undefined;

  constructor(opts: SshRunnerOptions) {
    this.host = opts.host;
    this.target = opts.target;
    const extraOptions = checkExtraOptions(opts.extraOptions ?? []);
    this.controlPath = controlPathFor(opts.stateDir, opts.target, opts.configFile, extraOptions);
    this.endpoint = {
      ...parseTarget(opts.target),
      ...(opts.configFile ? { configFile: opts.configFile } : {}),
      controlPath: this.controlPath,
      connectTimeoutS: opts.connectTimeoutS ?? 10,
      extraOptions,
    };
    const persist = opts.controlPersist ?? '10m';
    this.master = new SshMaster(this.endpoint, { host: this.host, target: this.target, persist });
    this.limiter = new Limiter(opts.maxSessions ?? 8);
    this.killGraceMs = opts.killGraceMs ?? 1000;
    if (opts.persistentShell) {
      this.session = new SessionSlot(
        () =>
          new ShellSession({
            file: 'ssh',
            args: commandArgs(this.endpoint, 'exec bash -l'),
            killGroup: (pgid, sig) => this.remoteKill(pgid, sig),
            killGraceMs: this.killGraceMs,
            startTimeoutMs: this.endpoint.connectTimeoutS * 1000 + 30_000,
          }),
      );
    }
  }

  run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    checkArgv(argv);
    const command = quoteArgs(argv);
    return this.exec(command, command, opts);
  }

  sh(script: string, opts: RunOptions = {}): Promise<RunResult> {
    return this.exec(script, script, opts);
  }

  /** Open (or repair) the master now; throws UnreachableError. Calls do this themselves. */
  connect(): Promise<void> {
    return this.master.ensure();
  }

  /** `ssh -O check` on this runner's ControlPath. */
  masterStatus(): Promise<MasterStatus> {
    return this.master.check();
  }

  /**
   * Ends the persistent shell, if any. With `{ master: true }` the master is stopped too
   * (`ssh -O exit`); else it stays for reuse until ControlPersist runs out.
   */
  async close(opts: { master?: boolean } = {}): Promise<void> {
    this.session?.close();
    if (opts.master) await this.master.exit();
  }

  private async exec(script: string, command: string, opts: RunOptions): Promise<RunResult> {
    const full = withEnvAndCwd(script, checkEnv(opts.env), opts.cwd);
    const login = opts.login !== false;
    await this.master.ensure();
    if (login && this.session) {
      // undefined: busy, unsuitable (stdin, terminal) or cannot start: take the ordinary path.
      const outcome = await this.session.run(full, opts);
      if (outcome) return toResult(command, this.host, outcome, opts);
    }
    return this.limiter.run(() =>
      opts.interactive
        ? this.interactive(full, command, login, opts)
        : this.captured(full, command, login, opts),
    );
  }

  private async captured(script: string, command: string, login: boolean, opts: RunOptions) {
    for (let attempt = 1; ; attempt++) {
      const nonce = newNonce();
      const call: CallState = {};
      const stderrFilter = new MarkerFilter(nonce, (r) => {
        if (r.key === 'pid' && /^[0-9]+$/.test(r.value)) call.pgid = Number(r.value);
        if (r.key === 'sig' && /^[A-Z0-9+]+$/.test(r.value)) call.signal = `SIG${r.value}`;
      });
      const outcome = await execute(
        {
          file: 'ssh',
          args: commandArgs(this.endpoint, wrappedCommand(script, login, nonce)),
          stderrFilter,
          terminate: (child) => void this.terminate(child, call),
        },
        opts,
      );
      const silent = call.pgid === undefined;
      if (attempt < COMMAND_ATTEMPTS && silent && refusedBeforeStart(outcome)) {
        await sleep(500 * attempt);
        await this.master.ensure();
        continue;
      }
      this.checkSsh(outcome, silent);
      const shaped = call.signal ? { ...outcome, exitCode: null, signal: call.signal } : outcome;
      return toResult(command, this.host, shaped, opts);
    }
  }

  private async interactive(script: string, command: string, login: boolean, opts: RunOptions) {
    const outcome = await execute(
      {
        file: 'ssh',
        // -t only with a terminal to hand over (else ssh warns and allocates none anyway)
        args: commandArgs(this.endpoint, plainCommand(script, login), Boolean(process.stdin.isTTY)),
        terminate: (child) => child.kill('SIGTERM'),
      },
      opts,
    );
    this.checkSsh(outcome, false);
    return toResult(command, this.host, outcome, opts);
  }

  /**
   * Exit 255 before the wrapper announced itself means ssh failed, not the command.
   * (After the announcement a 255 is the command's own.)
   */
  private checkSsh(outcome: Outcome, wrapperSilent: boolean): void {
    if (outcome.spawnError) {
      throw new UnreachableError(
        `cannot run ssh for host ${this.host}: ${outcome.spawnError.message}`,
        {
          hint: 'install the OpenSSH client (the ssh command) and make sure it is on PATH',
        },
      );
    }
    if (wrapperSilent && outcome.exitCode === 255 && !outcome.timedOut && !outcome.aborted) {
      throw sshFailureOrGeneric(outcome.stderr.toString('utf8'), this.host, this.target);
    }
  }

  /**
   * Timeout or abort: TERM the remote process group (over the master), give it the grace
   * period to exit (the wrapper then reports the signal), then KILL it and stop the client.
   * Without a known process group (the wrapper had not started yet) only the local ssh
   * client is stopped; the remote side may then linger until it writes to the closed channel.
   */
  private async terminate(child: ChildProcess, call: CallState): Promise<void> {
    const running = () => child.exitCode === null && child.signalCode === null;
    if (call.pgid !== undefined) {
      await this.remoteKill(call.pgid, 'TERM');
      for (let waited = 0; waited < this.killGraceMs && running(); waited += 50) await sleep(50);
      if (!running()) return;
      await this.remoteKill(call.pgid, 'KILL');
      for (let waited = 0; waited < 500 && running(); waited += 50) await sleep(50);
    }
    if (!running()) return;
    child.kill('SIGTERM');
    await sleep(1000);
    if (running()) child.kill('SIGKILL');
  }

  private remoteKill(pgid: number, signal: 'TERM' | 'KILL'): Promise<void> {
    return new Promise((resolve) => {
      const args = commandArgs(this.endpoint, killCommand(pgid, signal));
      const child = spawn('ssh', args, { stdio: 'ignore' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      child.on('error', done);
      child.on('exit', done);
    });
  }
}
