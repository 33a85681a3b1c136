/**
 * `berth sync push|pull`: mirror a directory to or from a host with the system rsync,
 * over the host runner's ssh master (see rsync.ts and ssh.ts).
 *
 * Defaults: the local side is the project directory (where berth.yaml is, else cwd); the
 * remote side is `<host root>/<project name>` (root defaults to the remote home). Excluded
 * always (unless `defaultExcludes: false`): `.git/`, `node_modules/`, `__pycache__/`, plus
 * the patterns in the local directory's `.berthignore` (one rsync pattern a line, `#`
 * comments), for push and pull alike.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { findProjectFile, type HostProfile, type ResolvedConfig } from '../config/index.js';
import { RemoteError, UsageError } from '../core/errors.js';
import type { Dispatch } from '../dispatch/session.js';
import { runnerFor } from '../host/connect.js';
import type { Runner } from '../transport/runner.js';
import {
  LineSplitter,
  normalizeRemotePath,
  parseProgress,
  parseRsyncOutput,
  type RsyncChange,
  type RsyncConnection,
  type RsyncProgress,
  type RsyncStats,
  renderRsyncArgs,
} from './rsync.js';
import { connectionFor } from './ssh.js';

export * from './rsync.js';
export { connectionFor, sshConnection } from './ssh.js';

export const DEFAULT_EXCLUDES: readonly string[] = ['.git/', 'node_modules/', '__pycache__/'];
export const IGNORE_FILE = '.berthignore';

export interface SyncOptions {
  /** Host name (default: the configured default host). */
  host?: string;
  /** The local directory (push: source; pull: destination). Default: the project directory. */
  local?: string;
  /** The directory on the host. Default: `<root>/<project name>`. */
  remote?: string;
  /** More `--exclude` patterns. */
  excludes?: readonly string[];
  /** Apply DEFAULT_EXCLUDES and `.berthignore` (default true). */
  defaultExcludes?: boolean;
  delete?: boolean;
  dryRun?: boolean;
  /** Compare by checksum, not size and time (rsync `-c`): see RsyncArgsInput.checksum. */
  checksum?: boolean;
  /** Resolves relative local paths and finds berth.yaml (default process.cwd()). */
  cwd?: string;
  /** Called for every `--info=progress2` update (turns progress on). */
  onProgress?: (p: RsyncProgress) => void;
  /** Kill rsync after this long (default 24 h). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The rsync program (default `rsync`). */
  rsync?: string;
}

export interface SyncResult {
  direction: 'push' | 'pull';
  host: string;
  local: string;
  remote: string;
  dryRun: boolean;
  delete: boolean;
  excludes: string[];
  /** Regular files sent (or, with dryRun, that would be). */
  filesTransferred: number;
  /** Size of those files. */
  bytesTransferred: number;
  /** Bytes on the wire. */
  bytesSent: number;
  bytesReceived: number;
  durationMs: number;
  /** Itemized changes (`-i`), deletions included. */
  changes: RsyncChange[];
  /** Paths deleted on the receiving side (or that would be). */
  deleted: string[];
  stats: RsyncStats;
  /** rsync's exit 24 (source files vanished during the transfer) and similar. */
  warnings: string[];
  argv: string[];
}

type Source = ResolvedConfig | Dispatch;

export function syncPush(source: Source, opts: SyncOptions = {}): Promise<SyncResult> {
  return sync(source, 'push', opts);
}

export function syncPull(source: Source, opts: SyncOptions = {}): Promise<SyncResult> {
  return sync(source, 'pull', opts);
}

/** The project directory: where the nearest berth.yaml is, else cwd. */
export function projectDir(cwd: string): string {
  const file = findProjectFile(cwd);
  return file ? dirname(file) : resolve(cwd);
}

/** `<root>/<project>`; root defaults to the remote home (`~`). */
export function defaultRemote(profile: Pick<HostProfile, 'root'>, project: string): string {
  const root = (profile.root ?? '~').replace(/\/+$/, '') || '/';
  return `${root === '/' ? '' : root}/${project}`;
}

/** Patterns of a `.berthignore`: one a line; blank lines and `#` comments skipped. */
export function parseIgnoreFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

export function excludesFor(localDir: string, extra: readonly string[] = [], defaults = true) {
  const out = defaults ? [...DEFAULT_EXCLUDES] : [];
  const file = resolve(localDir, IGNORE_FILE);
  if (defaults && existsSync(file)) out.push(...parseIgnoreFile(readFileSync(file, 'utf8')));
  out.push(...extra);
  return [...new Set(out)];
}

async function hostOf(source: Source, name: string | undefined) {
  if ('host' in source && typeof source.host === 'function') {
    const h = await source.host(name);
    return {
      name: h.name,
      runner: h.runner,
      profile: h.profile,
      connectTimeoutS: source.config.ssh.connectTimeoutS,
      release: async () => {},
    };
  }
  const config = source as ResolvedConfig;
  const hostName = name ?? config.defaultHost;
  const { runner, profile } = runnerFor(config, hostName);
  return {
    name: hostName,
    runner,
    profile,
    connectTimeoutS: config.ssh.connectTimeoutS,
    release: () => runner.close(),
  };
}

async function sync(
  source: Source,
  direction: 'push' | 'pull',
  opts: SyncOptions,
): Promise<SyncResult> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const project = projectDir(cwd);
  const local = opts.local === undefined ? project : resolve(cwd, opts.local);
  if (direction === 'push') {
    if (!existsSync(local) || !statSync(local).isDirectory()) {
      throw new UsageError(`not a directory: ${local}`, {
        hint: 'berth sync push copies the contents of a local directory',
      });
    }
  } else if (existsSync(local) && !statSync(local).isDirectory()) {
    throw new UsageError(`not a directory: ${local}`);
  }
  const h = await hostOf(source, opts.host);
  try {
    const remote = normalizeRemotePath(
      opts.remote ?? defaultRemote(h.profile, basename(project) || 'project'),
    );
    // The local side's .berthignore, in both directions.
    const excludes = excludesFor(local, opts.excludes, opts.defaultExcludes !== false);
    const connection = await connectionFor(h.runner, h.profile, h.connectTimeoutS);
    if (connection.kind === 'local' && !isAbsolute(remote)) {
      throw new UsageError(`path on local host ${h.name} must be absolute: ${remote}`);
    }
    if (!opts.dryRun) {
      if (direction === 'push') await mkdirRemote(h.runner, h.name, remote);
      else mkdirSync(local, { recursive: true });
    }
    const argv = renderRsyncArgs({
      direction,
      localPath: local,
      remotePath: remote,
      connection,
      excludes,
      delete: opts.delete === true,
      dryRun: opts.dryRun === true,
      checksum: opts.checksum === true,
      progress: opts.onProgress !== undefined,
      ...(opts.rsync ? { rsync: opts.rsync } : {}),
    });
    const t0 = Date.now();
    const run = await runRsync(argv, opts);
    const durationMs = Date.now() - t0;
    const warnings: string[] = [];
    if (run.spawnError) {
      throw new UsageError(`cannot run rsync: ${run.spawnError.message}`, {
        hint: 'install rsync on this machine (and on the host)',
      });
    }
    if (run.timedOut) {
      throw new RemoteError(`rsync ${direction} with ${h.name} timed out`, { code: 'E_SYNC' });
    }
    if (run.code === 24) warnings.push('some source files vanished during the transfer');
    else if (run.code !== 0) throw rsyncError(direction, h.name, remote, connection, run);
    const parsed = parseRsyncOutput(run.stdout);
    const s = parsed.stats;
    return {
      direction,
      host: h.name,
      local,
      remote,
      dryRun: opts.dryRun === true,
      delete: opts.delete === true,
      excludes,
      filesTransferred: s.regularFilesTransferred ?? 0,
      bytesTransferred: s.transferredFileSize ?? 0,
      bytesSent: s.bytesSent ?? 0,
      bytesReceived: s.bytesReceived ?? 0,
      durationMs,
      changes: parsed.changes,
      deleted: parsed.changes.filter((c) => c.action === 'delete').map((c) => c.path),
      stats: s,
      warnings,
      argv,
    };
  } finally {
    await h.release();
  }
}

async function mkdirRemote(runner: Runner, host: string, remote: string): Promise<void> {
  const r = await runner.run(['mkdir', '-p', '--', remote], { login: false, timeoutMs: 60_000 });
  if (r.exitCode !== 0) {
    throw new RemoteError(`cannot create ${remote} on ${host}: ${r.stderr.trim()}`, {
      code: 'E_SYNC',
      hint: "check the host profile's root and your permissions there",
    });
  }
}

function rsyncError(
  direction: string,
  host: string,
  remote: string,
  connection: RsyncConnection,
  run: RsyncRun,
): RemoteError {
  const last = run.stderr.trim().split('\n').filter(Boolean);
  const reason = last.find((l) => !l.startsWith('rsync error:')) ?? last.at(-1) ?? '';
  return new RemoteError(`rsync ${direction} with ${host} failed (exit ${run.code}): ${reason}`, {
    code: 'E_SYNC',
    hint:
      direction === 'pull'
        ? `check that ${remote} exists on ${host} and that rsync is installed on both ends`
        : `check that rsync is installed on ${connection.kind === 'ssh' ? host : 'this machine'} and that ${remote} is writable`,
    details: { exitCode: run.code, stderr: run.stderr.slice(0, 4000) },
  });
}

interface RsyncRun {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  spawnError?: Error;
}

/** Runs rsync (no shell), collecting stdout and reporting progress lines as they come. */
export function runRsync(
  argv: readonly string[],
  opts: Pick<SyncOptions, 'onProgress' | 'timeoutMs' | 'signal'> = {},
): Promise<RsyncRun> {
  return new Promise((done) => {
    const child = spawn(argv[0] as string, argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const out: string[] = [];
    const err: string[] = [];
    const lines = new LineSplitter();
    let timedOut = false;
    let spawnError: Error | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, opts.timeoutMs ?? 86_400_000);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out.push(chunk);
      if (opts.onProgress) {
        for (const l of lines.push(chunk)) {
          const p = parseProgress(l);
          if (p) opts.onProgress(p);
        }
      }
    });
    child.stderr.on('data', (chunk: string) => err.push(chunk));
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      done({
        code,
        stdout: out.join(''),
        stderr: err.join(''),
        timedOut,
        ...(spawnError ? { spawnError } : {}),
      });
    });
  });
}
