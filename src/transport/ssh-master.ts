/**
 * One multiplexed OpenSSH master per target: check it, open it, repair it when stale, stop it.
 * The socket lives at a deterministic short ControlPath (ssh-args.ts). A master that was
 * killed leaves its socket file behind ("stale"): `-O check` fails while the file exists;
 * berth removes the file and opens a new master. Opening is serialised across processes
 * with a lock directory next to the socket, so two berth commands never race two masters.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { mkdir, rm, stat, unlink } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { controlArgs, masterArgs, type SshEndpoint } from './ssh-args.js';
import { droppedBeforeAuth, sshFailureOrGeneric } from './ssh-failure.js';

export interface MasterStatus {
  running: boolean;
  pid?: number;
  /** ssh's own words (e.g. "Master running (pid=123)" or the connect error). */
  detail: string;
}

export interface MasterOptions {
  host: string;
  target: string;
  /** ControlPersist for the master (default '10m'). */
  persist?: string;
  /** The ssh binary (default 'ssh'). */
  sshBinary?: string;
}

/** A lock older than this is left over from a crashed process (opening may wait for 2FA). */
const LOCK_STALE_MS = 5 * 60_000;
/** Tries to open a master when the server drops the connection before authentication. */
const OPEN_ATTEMPTS = 3;
const OPEN_RETRY_MS = 1000;
/** After ssh exits, how long to wait for the rest of its stderr (a forked master holds it). */
const STDERR_GRACE_MS = 2000;

export class SshMaster {
  private opening: Promise<void> | undefined;
  private known = false;

  constructor(
    private readonly endpoint: SshEndpoint,
    private readonly opts: MasterOptions,
  ) {}

  get controlPath(): string {
    return this.endpoint.controlPath;
  }

  /** Make sure a live master is listening; opens or repairs it. Throws UnreachableError. */
  async ensure(): Promise<void> {
    // Fast path once this process has seen the master: a connect() on the socket (< 1 ms).
    if (this.known && (await socketAccepts(this.controlPath))) return;
    this.known = false;
    this.opening ??= this.checkOrOpen().finally(() => {
      this.opening = undefined;
    });
    await this.opening;
  }

  /** `ssh -O check`: is a master running on the ControlPath? */
  async check(): Promise<MasterStatus> {
    const r = await runSsh(this.binary, controlArgs(this.endpoint, 'check'), 15_000);
    const detail = r.stderr.trim();
    // The exit status decides (0: a master answered on the socket); the pid is a detail.
    // Reading "running" from stderr would call a live master dead whenever its message is
    // late, and a dead-looking master gets its socket removed and a second one opened.
    if (r.code !== 0) return { running: false, detail };
    const pid = /Master running \(pid=(\d+)\)/.exec(detail)?.[1];
    return pid ? { running: true, pid: Number(pid), detail } : { running: true, detail };
  }

  /** `ssh -O exit`, then wait (briefly) until the socket is gone. */
  async exit(): Promise<void> {
    this.known = false;
    if (!(await exists(this.controlPath))) return;
    if (await socketAccepts(this.controlPath)) {
      await runSsh(this.binary, controlArgs(this.endpoint, 'exit'), 15_000);
      for (let i = 0; i < 40 && (await exists(this.controlPath)); i++) await sleep(50);
    } else {
      await unlink(this.controlPath).catch(() => {});
    }
  }

  private get binary(): string {
    return this.opts.sshBinary ?? 'ssh';
  }

  private async checkOrOpen(): Promise<void> {
    ensureDir(dirname(this.controlPath));
    if ((await exists(this.controlPath)) && (await this.check()).running) {
      this.known = true;
      return;
    }
    await withLock(`${this.controlPath}.lock`, async () => {
      // Someone else may have opened it while we waited for the lock.
      if (await exists(this.controlPath)) {
        if ((await this.check()).running) return;
        await unlink(this.controlPath).catch(() => {}); // stale socket of a dead master
      }
      await this.open();
    });
    this.known = true;
  }

  /**
   * Start the master. The only ssh call that may prompt (password, 2FA, host key): it keeps
   * the terminal when there is one, shows ssh's messages there, and has no deadline then.
   */
  private async open(): Promise<void> {
    const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
    const args = masterArgs(this.endpoint, this.opts.persist ?? '10m');
    const deadline = interactive ? undefined : this.endpoint.connectTimeoutS * 2000 + 15_000;
    for (let attempt = 1; ; attempt++) {
      const r = await runSsh(this.binary, args, deadline, interactive, true);
      if (r.code === 0 && (await socketAccepts(this.controlPath))) return;
      // A server that dropped the connection before authentication (a busy sshd sheds new
      // connections: MaxStartups) is asked once more; nothing ran on it yet.
      if (attempt < OPEN_ATTEMPTS && !interactive && droppedBeforeAuth(r.stderr)) {
        await sleep(OPEN_RETRY_MS * attempt);
        continue;
      }
      const why = r.timedOut ? `${r.stderr}\nConnection timed out (berth gave up)` : r.stderr;
      throw sshFailureOrGeneric(why, this.opts.host, this.opts.target);
    }
  }
}

interface SshCall {
  code: number | null;
  stderr: string;
  timedOut: boolean;
}

/**
 * Run a short ssh call (open, check, exit) and collect its stderr. With
 * resolveOnSuccessfulExit (opening a master) a successful exit resolves at once.
 */
function runSsh(
  binary: string,
  args: string[],
  timeoutMs: number | undefined,
  interactive = false,
  resolveOnSuccessfulExit = interactive,
): Promise<SshCall> {
  return new Promise((resolve) => {
    const child = spawn(binary, args, {
      stdio: [interactive ? 'inherit' : 'ignore', 'ignore', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let timedOut = false;
    child.stderr?.on('data', (c: Buffer) => {
      chunks.push(c);
      if (interactive) process.stderr.write(c);
    });
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, timeoutMs);
    let settled = false;
    let grace: NodeJS.Timeout | undefined;
    const settle = (code: number | null) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (grace) clearTimeout(grace);
      child.stderr?.destroy();
      resolve({ code, stderr: Buffer.concat(chunks).toString('utf8'), timedOut });
    };
    // 'close' comes once stderr is drained. A master that forked into the background may
    // keep a copy of stderr open: after a successful exit its words do not matter; after a
    // failure wait (boundedly) for all of them, they say why.
    child.on('error', (e) => {
      chunks.push(Buffer.from(`${binary}: ${e.message}\n`));
      settle(255);
    });
    child.on('close', (code) => settle(code));
    child.on('exit', (code) => {
      if (code === 0 && resolveOnSuccessfulExit) settle(code);
      else grace = setTimeout(() => settle(code), STDERR_GRACE_MS);
    });
  });
}

/** Whether something accepts connections on a unix socket (a live master does). */
export function socketAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Other users must not reach our sockets (mkdir's mode is filtered by the umask).
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A mkdir lock (atomic on every filesystem); waits for the holder, breaks a stale one. */
async function withLock(path: string, fn: () => Promise<void>): Promise<void> {
  for (;;) {
    try {
      await mkdir(path, { mode: 0o700 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const age = await stat(path).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > LOCK_STALE_MS) await rm(path, { recursive: true, force: true });
      else await sleep(100);
    }
  }
  try {
    await fn();
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}
