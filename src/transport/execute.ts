/**
 * The one place that runs a local child process and collects what it does: both runners
 * (local, and ssh which runs the local `ssh` client) go through `execute()`.
 * Output is collected as Buffer chunks and concatenated once; lines are reported as they
 * arrive; timeouts and aborts call the runner's own `terminate` (a process group for local,
 * the remote command and then the ssh client for ssh).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { collector } from './collect.js';
import type { RunOptions } from './runner.js';

export interface ExecSpec {
  file: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Own process group (so a timeout can kill the whole tree with kill(-pid)). */
  detached?: boolean;
  /** Rewrites stderr bytes before they are collected or split into lines (ssh markers). */
  stderrFilter?: ByteFilter;
  /** Stop the command (timeout or abort); called once. */
  terminate: (child: ChildProcess, why: 'timeout' | 'abort') => void;
}

export interface ByteFilter {
  push(chunk: Buffer): Buffer;
  end(): Buffer;
}

export interface Outcome {
  exitCode: number | null;
  signal: string | null;
  stdout: Buffer;
  stderr: Buffer;
  durationMs: number;
  timedOut: boolean;
  aborted: boolean;
  /** Set when the program could not be started at all (ENOENT, EACCES...). */
  spawnError?: NodeJS.ErrnoException;
}

/** After terminate(), how long to wait for the pipes to close before giving up on them. */
const CLOSE_DEADLINE_MS = 10_000;

export function execute(spec: ExecSpec, opts: RunOptions): Promise<Outcome> {
  return opts.interactive ? executeInteractive(spec, opts) : executeCaptured(spec, opts);
}

function executeCaptured(spec: ExecSpec, opts: RunOptions): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(spec.file, [...spec.args], {
      env: spec.env,
      cwd: spec.cwd,
      detached: spec.detached ?? false,
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out = collector(opts.onStdoutLine);
    const err = collector(opts.onStderrLine, spec.stderrFilter);
    const stop = stopper(child, spec, opts);
    let spawnError: NodeJS.ErrnoException | undefined;

    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (child.pid === undefined) spawnError = e;
    });
    if (child.stdin && opts.stdin !== undefined) {
      child.stdin.on('error', () => {}); // EPIPE when the command does not read its input
      child.stdin.end(opts.stdin);
    }
    child.on('close', (code, signal) => {
      stop.done();
      const outcome: Outcome = {
        exitCode: code,
        signal,
        stdout: out.end(),
        stderr: err.end(),
        durationMs: performance.now() - started,
        timedOut: stop.state.timedOut,
        aborted: stop.state.aborted,
      };
      if (spawnError) outcome.spawnError = spawnError;
      const callbackError = out.error ?? err.error;
      if (callbackError) reject(callbackError);
      else resolve(outcome);
    });
  });
}

function executeInteractive(spec: ExecSpec, opts: RunOptions): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(spec.file, [...spec.args], {
      env: spec.env,
      cwd: spec.cwd,
      stdio: 'inherit',
    });
    const stop = stopper(child, { ...spec, detached: false }, opts);
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (child.pid === undefined) spawnError = e;
    });
    child.on('close', (code, signal) => {
      stop.done();
      const outcome: Outcome = {
        exitCode: code,
        signal,
        stdout: Buffer.alloc(0),
        stderr: Buffer.alloc(0),
        durationMs: performance.now() - started,
        timedOut: stop.state.timedOut,
        aborted: stop.state.aborted,
      };
      if (spawnError) outcome.spawnError = spawnError;
      resolve(outcome);
    });
  });
}

/** Timeout and abort wiring; `done()` clears every timer and listener. */
function stopper(child: ChildProcess, spec: ExecSpec, opts: RunOptions) {
  const state = { timedOut: false, aborted: false, fired: false };
  let deadline: NodeJS.Timeout | undefined;
  const fire = (why: 'timeout' | 'abort') => {
    // Fires even after the direct child exited: a background grandchild may still hold the pipes.
    if (state.fired) return;
    state.fired = true;
    if (why === 'timeout') state.timedOut = true;
    else state.aborted = true;
    spec.terminate(child, why);
    // A grandchild outside the killed group may keep the pipes open: stop waiting for it.
    deadline = setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    }, CLOSE_DEADLINE_MS);
    deadline.unref();
  };
  const timer =
    opts.timeoutMs !== undefined ? setTimeout(() => fire('timeout'), opts.timeoutMs) : undefined;
  const onAbort = () => fire('abort');
  if (opts.signal?.aborted) queueMicrotask(onAbort);
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    state,
    done() {
      if (timer) clearTimeout(timer);
      if (deadline) clearTimeout(deadline);
      opts.signal?.removeEventListener('abort', onAbort);
    },
  };
}
