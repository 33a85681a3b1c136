/**
 * tmux over a Runner, on one berth-owned socket (`tmux -L berth-…`). Every call is one
 * `tmux` command with exact arguments; targets are exact (`=name`), so `-t train` never
 * matches a session called `training`. There is deliberately no kill-server here: berth
 * ends sessions, and a server ends by itself when its last session is gone.
 */
import { RemoteError, UsageError } from '../core/errors.js';
import { extractBetweenSentinels, newSentinel, wrapWithSentinels } from '../transport/noise.js';
import { quoteArgs } from '../transport/quote.js';
import type { Runner, RunResult } from '../transport/runner.js';
import {
  isNoServer,
  isNoSession,
  PANE_FORMAT,
  parsePanes,
  parseSessions,
  SESSION_FORMAT,
  type TmuxPane,
  type TmuxSession,
} from './formats.js';
import { TMUX_NAME_PATTERN } from './names.js';
import { checkSocket } from './socket.js';

export { TMUX_NAME_PATTERN, tmuxSessionName } from './names.js';

export interface NewSessionOptions {
  name: string;
  /** Shell text run by tmux (a string), or a program with exact arguments (a list). */
  command?: string | readonly string[];
  cwd?: string;
  /** Session environment (`new-session -e`, tmux >= 3.2). */
  env?: Record<string, string>;
  width?: number;
  height?: number;
  /** Keep the pane after its process ends, so its exit status can be read. */
  remainOnExit?: boolean;
}

export interface CaptureOptions {
  /** Also this many lines of scroll-back above the visible screen. */
  history?: number;
  /** Keep colours and attributes as escape sequences. */
  escapes?: boolean;
}

/**
 * tmux splits its command line at every argument that ends in ';' (a command separator);
 * a trailing '\\;' stands for a literal ';'. So an argument ending in ';' gets that escape
 * and reaches the command unchanged ('a;' stays 'a;', 'a\\;' stays 'a\\;').
 */
export function tmuxArg(arg: string): string {
  return arg.endsWith(';') ? `${arg.slice(0, -1)}\\;` : arg;
}

/** The target of a session's active pane: exact session name, current window. */
export function paneTarget(name: string): string {
  return `=${name}:`;
}

export class Tmux {
  readonly socket: string;

  constructor(
    readonly runner: Runner,
    socket: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.socket = checkSocket(socket);
  }

  /** The argv of tmux commands on this socket (several run as one list, in order). */
  argv(...commands: string[][]): string[] {
    const out = ['tmux', '-L', this.socket];
    commands.forEach((args, i) => {
      if (i > 0) out.push(';');
      out.push(...args.map(tmuxArg));
    });
    return out;
  }

  async newSession(o: NewSessionOptions): Promise<void> {
    if (!TMUX_NAME_PATTERN.test(o.name)) {
      throw new UsageError(`refusing tmux session name ${JSON.stringify(o.name)}`, {
        hint: "tmux would rewrite it; use letters, digits, '_' and '-' (tmuxSessionName maps a berth name)",
      });
    }
    const args = ['new-session', '-d', '-s', o.name];
    if (o.cwd !== undefined) args.push('-c', o.cwd);
    for (const [k, v] of Object.entries(o.env ?? {})) args.push('-e', `${k}=${v}`);
    if (o.width !== undefined) args.push('-x', String(o.width));
    if (o.height !== undefined) args.push('-y', String(o.height));
    if (typeof o.command === 'string') args.push(o.command);
    else if (o.command) args.push('--', ...o.command);
    // In the same tmux command list, so the option is set before the server can see the
    // command exit (a quick command would otherwise take its pane with it).
    const remain = ['set-window-option', '-t', paneTarget(o.name), 'remain-on-exit', 'on'];
    await this.must(o.remainOnExit ? [args, remain] : [args], `start tmux session ${o.name}`);
  }

  async hasSession(name: string): Promise<boolean> {
    const r = await this.exec(['has-session', '-t', `=${name}`]);
    return r.result.exitCode === 0;
  }

  /** Every session on this socket; empty when no server runs there. */
  async listSessions(): Promise<TmuxSession[]> {
    const r = await this.exec(['list-sessions', '-F', SESSION_FORMAT]);
    if (r.result.exitCode !== 0 && isNoServer(r.result.stderr)) return [];
    this.check(r, 'list tmux sessions');
    return parseSessions(r.stdout);
  }

  /** The panes of a session; empty when it does not exist. */
  async listPanes(name: string): Promise<TmuxPane[]> {
    const r = await this.exec(['list-panes', '-s', '-t', `=${name}`, '-F', PANE_FORMAT]);
    if (r.result.exitCode !== 0 && isNoSession(r.result.stderr)) return [];
    this.check(r, `list the panes of tmux session ${name}`);
    return parsePanes(r.stdout);
  }

  /** The active pane's pid, dead flag and exit status; undefined when there is no session. */
  async paneStatus(name: string): Promise<TmuxPane | undefined> {
    const r = await this.exec(['display-message', '-p', '-t', paneTarget(name), PANE_FORMAT]);
    if (r.result.exitCode !== 0 && isNoSession(r.result.stderr)) return undefined;
    this.check(r, `read the pane of tmux session ${name}`);
    return parsePanes(r.stdout)[0];
  }

  /** Type keys into the session: key names (`Enter`, `C-c`), or text with `literal`. */
  async sendKeys(name: string, keys: readonly string[], opts: { literal?: boolean } = {}) {
    const flags = opts.literal ? ['-l'] : [];
    await this.must(
      ['send-keys', '-t', paneTarget(name), ...flags, '--', ...keys],
      `send keys to ${name}`,
    );
  }

  /** The text on the session's screen (and `history` lines above it). */
  async capturePane(name: string, opts: CaptureOptions = {}): Promise<string> {
    const args = ['capture-pane', '-p', '-J', '-t', paneTarget(name)];
    if (opts.escapes) args.push('-e');
    if (opts.history) args.push('-S', String(-Math.abs(Math.trunc(opts.history))));
    const r = await this.must(args, `capture the screen of ${name}`);
    return r.stdout;
  }

  /**
   * Send everything the pane prints to a shell command (tmux runs it with /bin/sh), or stop
   * piping with `null`. Build the command with quote(); see pipeToFile.
   */
  async pipePane(name: string, shellCommand: string | null): Promise<void> {
    const args = ['pipe-pane', '-t', paneTarget(name)];
    if (shellCommand !== null) args.push('-o', shellCommand);
    await this.must(args, `pipe the output of ${name}`);
  }

  /** Append the pane's output to a file (an absolute path on the host). */
  pipeToFile(name: string, file: string): Promise<void> {
    return this.pipePane(name, `exec cat >> ${quoteArgs([file])}`);
  }

  async setWindowOption(name: string, option: string, value: string): Promise<void> {
    await this.must(
      ['set-window-option', '-t', paneTarget(name), option, value],
      `set ${option} on ${name}`,
    );
  }

  /** End one session (its processes get SIGHUP); false when it did not exist. */
  async killSession(name: string): Promise<boolean> {
    const r = await this.exec(['kill-session', '-t', `=${name}`]);
    if (r.result.exitCode === 0) return true;
    if (isNoSession(r.result.stderr)) return false;
    this.check(r, `end tmux session ${name}`);
    return false;
  }

  /** Attach the terminal to the session (through the runner; `ssh -t` for a remote host). */
  async attach(name: string, opts: { readOnly?: boolean } = {}): Promise<number> {
    const args = this.argv(['attach-session', ...(opts.readOnly ? ['-r'] : []), '-t', `=${name}`]);
    // TMUX is cleared so that attaching from inside another tmux works.
    const r = await this.runner.run(args, { interactive: true, env: { TMUX: '' } });
    return r.exitCode ?? 128;
  }

  private async exec(args: string[] | string[][]): Promise<Exec> {
    const marker = newSentinel();
    const list = typeof args[0] === 'string' ? [args as string[]] : (args as string[][]);
    const command = quoteArgs(this.argv(...list));
    const result = await this.runner.sh(wrapWithSentinels(command, marker), {
      timeoutMs: this.timeoutMs,
    });
    return { command, result, stdout: extractBetweenSentinels(result.stdout, marker) ?? '' };
  }

  private async must(args: string[] | string[][], what: string) {
    const r = await this.exec(args);
    this.check(r, what);
    return r;
  }

  private check(r: Exec, what: string): void {
    if (r.result.exitCode === 0) return;
    const said = r.result.timedOut
      ? `no answer within ${this.timeoutMs} ms`
      : r.result.stderr.trim().split('\n').slice(-3).join('; ') || `exit ${r.result.exitCode}`;
    throw new RemoteError(`cannot ${what} on ${this.runner.host}: ${said}`, {
      hint:
        r.result.exitCode === 127
          ? 'install tmux on the host (berth host check shows whether it is there)'
          : `the command was: ${r.command}`,
    });
  }
}

interface Exec {
  command: string;
  result: RunResult;
  stdout: string;
}
