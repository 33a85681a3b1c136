/**
 * A persistent login shell (DESIGN rule 1): `bash -l` is started once, and then runs
 * each command sent to it in a subshell, so rc files (Lmod, conda or pyenv init) are paid
 * once per connection instead of once per command.
 *
 * Protocol: the session reads requests `__berth_run <quoted script>` on stdin. Each request
 * runs as `( eval script ) </dev/null` in its own process group, and the session writes
 * `<nonce>:pid=<pgid>` / `<nonce>:sig=<NAME>` / `<nonce>:end=1` to stderr and
 * `<nonce>:rc=<status>` to stdout; MarkerFilter cuts the streams at those records.
 * Requests run one at a time; runners send a request elsewhere when the session is busy.
 * Differences from `bash -lc`: no stdin (requests with stdin do not use the session), `$$`
 * is the session shell's pid, and output a background job writes after its command ended
 * lands in the next command's output.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { collector } from './collect.js';
import type { Outcome } from './execute.js';
import { MarkerFilter, type MarkerRecord } from './markers.js';
import { quote } from './quote.js';
import { newNonce } from './remote.js';
import type { RunOptions } from './runner.js';

export interface SessionSpec {
  file: string;
  args: readonly string[];
  /** Local sessions: own process group, so jobs can be signalled with kill(-pgid). */
  detached?: boolean;
  /** Signal a job's process group (locally, or over ssh for a remote session). */
  killGroup: (pgid: number, signal: 'TERM' | 'KILL') => Promise<void>;
  killGraceMs: number;
  /** How long start-up (the rc files) may take. */
  startTimeoutMs?: number;
}

/** Shell text sent once after start; no user values in it. */
function prelude(nonce: string): string {
  return [
    'exec 3>&2 2>/dev/null', // job notices and the session's own errors go nowhere
    '__berth_st=',
    'set -m',
    `trap '[ -n "$__berth_st" ]||__berth_st=$(jobs -l)' CHLD`,
    '__berth_run() {',
    '__berth_st=',
    '( __berth_s=$1; set --; eval "$__berth_s" ) </dev/null 2>&3 3>&- &',
    'local __p=$! __r __t',
    `printf '%s:pid=%s\\n' ${quote(nonce)} "$__p" >&3`,
    'wait "$__p"; __r=$?',
    'if [ "$__r" -gt 128 ]; then',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    '__t=${__berth_st#*" $__p "}',
    'case $__t in *[!0-9]"$__r "*|*[!0-9]"$__r");;',
    `*) printf '%s:sig=%s\\n' ${quote(nonce)} "$(kill -l "$__r")" >&3;; esac`,
    'fi',
    `printf '%s:rc=%s\\n' ${quote(nonce)} "$__r"`,
    `printf '%s:end=1\\n' ${quote(nonce)} >&3`,
    '}',
    `printf '%s:ready=1\\n' ${quote(nonce)}`,
    '',
  ].join('\n');
}

interface Pending {
  onStdout(b: Buffer): void;
  onStderr(b: Buffer): void;
  record(r: MarkerRecord): void;
  died(code: number | null, signal: string | null): void;
}

/** Start-up failed (bash -l broken, ssh down): the caller uses its ordinary path instead. */
export class SessionStartError extends Error {}

/**
 * The runner's handle on its persistent shell: hands out the session when it is free and
 * the request fits (no stdin, no terminal), replaces a session that died, and gives up
 * after three start-up failures in a row.
 */
export class SessionSlot {
  private current: ShellSession | undefined;
  private failures = 0;

  constructor(private readonly make: () => ShellSession) {}

  /** The outcome, or undefined when the request should take the ordinary path. */
  async run(script: string, opts: RunOptions): Promise<Outcome | undefined> {
    if (opts.stdin !== undefined || opts.interactive || this.failures >= 3) return undefined;
    if (!this.current?.usable) this.current = this.make();
    if (this.current.busy) return undefined;
    try {
      const outcome = await this.current.run(script, opts);
      this.failures = 0;
      return outcome;
    } catch (e) {
      if (!(e instanceof SessionStartError)) throw e;
      this.failures++;
      return undefined;
    }
  }

  close(): void {
    this.current?.close();
    this.current = undefined;
  }
}

export class ShellSession {
  private child: ChildProcess | undefined;
  private readonly nonce = newNonce();
  private pending: Pending | undefined;
  private ready: Promise<void> | undefined;
  private dead = false;
  private reserved = false;

  constructor(private readonly spec: SessionSpec) {}

  /** True while a command runs (the runner then uses its ordinary path). */
  get busy(): boolean {
    return this.reserved;
  }

  get usable(): boolean {
    return !this.dead;
  }

  /** Start the shell and wait until its rc files have run (once). */
  start(): Promise<void> {
    this.ready ??= this.spawn();
    return this.ready;
  }

  /** Run one script; resolves with the same Outcome as execute(). */
  async run(script: string, opts: RunOptions): Promise<Outcome> {
    if (this.reserved) throw new Error('shell session is busy');
    this.reserved = true; // before any await: two callers must never share the session
    try {
      await this.start().catch((e: Error) => {
        throw new SessionStartError(e.message);
      });
      if (this.dead) throw new SessionStartError('shell session ended');
      return await this.exec(script, opts);
    } finally {
      this.reserved = false;
    }
  }

  private exec(script: string, opts: RunOptions): Promise<Outcome> {
    const child = this.child!;
    const started = performance.now();
    return new Promise<Outcome>((resolve, reject) => {
      const out = collector(opts.onStdoutLine);
      const err = collector(opts.onStderrLine);
      const state = { rc: undefined as number | undefined, end: false, pgid: 0, sig: '' };
      const flags = { timedOut: false, aborted: false };
      let settled = false;
      const finish = (exitCode: number | null, signal: string | null) => {
        if (settled) return;
        settled = true;
        this.hold(false);
        this.pending = undefined;
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        const outcome: Outcome = {
          exitCode,
          signal,
          stdout: out.end(),
          stderr: err.end(),
          durationMs: performance.now() - started,
          ...flags,
        };
        const callbackError = out.error ?? err.error;
        if (callbackError) reject(callbackError);
        else resolve(outcome);
      };
      const maybeDone = () => {
        if (state.rc === undefined || !state.end) return;
        if (state.sig) finish(null, state.sig);
        else finish(state.rc, null);
      };
      this.pending = {
        onStdout: (b) => out.push(b),
        onStderr: (b) => err.push(b),
        record: (r) => {
          if (r.key === 'pid') state.pgid = Number(r.value);
          else if (r.key === 'sig') state.sig = `SIG${r.value}`;
          else if (r.key === 'rc') state.rc = Number(r.value);
          else if (r.key === 'end') state.end = true;
          maybeDone();
        },
        died: (code, signal) => finish(code, signal),
      };
      const stop = (why: 'timeout' | 'abort') => {
        if (settled || flags.timedOut || flags.aborted) return;
        flags[why === 'timeout' ? 'timedOut' : 'aborted'] = true;
        void this.stopJob(state, () => settled);
      };
      const timer =
        opts.timeoutMs === undefined
          ? undefined
          : setTimeout(() => stop('timeout'), opts.timeoutMs);
      const onAbort = () => stop('abort');
      if (opts.signal?.aborted) queueMicrotask(onAbort);
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.hold(true);
      child.stdin!.write(`__berth_run ${quote(script)}\n`);
    });
  }

  /** End the shell (and with it any job still running in it). */
  close(): void {
    this.dead = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end();
    if (this.spec.detached && child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // gone already
      }
    } else child.kill('SIGTERM');
  }

  /**
   * An idle session must not keep node running (a CLI that forgot close() still exits; the
   * shell then sees EOF and ends); while a command or the start-up runs, it must.
   */
  private hold(on: boolean): void {
    const child = this.child;
    if (!child) return;
    for (const h of [child, child.stdin, child.stdout, child.stderr] as const) {
      const handle = h as { ref?: () => void; unref?: () => void } | null;
      if (on) handle?.ref?.();
      else handle?.unref?.();
    }
  }

  /** TERM the job's group, KILL it after the grace; a wedged session is thrown away. */
  private async stopJob(state: { pgid: number }, settled: () => boolean): Promise<void> {
    const wait = async (ms: number) => {
      for (let t = 0; t < ms && !settled(); t += 25) await new Promise((r) => setTimeout(r, 25));
    };
    if (state.pgid) await this.spec.killGroup(state.pgid, 'TERM');
    await wait(this.spec.killGraceMs);
    if (settled()) return;
    if (state.pgid) await this.spec.killGroup(state.pgid, 'KILL');
    await wait(1000);
    if (settled()) return;
    this.close();
    this.pending?.died(null, 'SIGKILL');
  }

  private spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.spec.file, [...this.spec.args], {
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: this.spec.detached ?? false,
      });
      this.child = child;
      let isReady = false;
      const fail = (why: string) => {
        this.dead = true;
        if (!isReady) reject(new Error(`shell session did not start: ${why}`));
      };
      const startTimer = setTimeout(() => {
        fail('timed out');
        this.close();
      }, this.spec.startTimeoutMs ?? 30_000);
      const onRecord = (r: MarkerRecord) => {
        if (r.key === 'ready' && !isReady) {
          isReady = true;
          this.hold(false);
          clearTimeout(startTimer);
          resolve();
        } else this.pending?.record(r);
      };
      const outFilter = new MarkerFilter(this.nonce, onRecord);
      const errFilter = new MarkerFilter(this.nonce, onRecord);
      // Until ready, output is login noise (MOTD, rc chatter): dropped.
      child.stdout!.on('data', (c: Buffer) =>
        outFilter.pushInOrder(c, (b) => isReady && this.pending?.onStdout(b)),
      );
      child.stderr!.on('data', (c: Buffer) =>
        errFilter.pushInOrder(c, (b) => isReady && this.pending?.onStderr(b)),
      );
      child.stdin!.on('error', () => {});
      child.on('error', (e) => fail(e.message));
      child.on('exit', (code, signal) => {
        clearTimeout(startTimer);
        fail(`exited (${signal ?? code})`);
        // Streams may still hold the last bytes: report the death after they drain.
        setImmediate(() => this.pending?.died(code, signal));
      });
      child.stdin!.write(prelude(this.nonce));
    });
  }
}
