/**
 * Pure pieces of `berth sync` and `berth job fetch`: the argv for the system `rsync`, and
 * parsers for what it prints (itemized changes, `--stats`, `--info=progress2`).
 *
 * Over ssh, rsync's `-e` is the same ssh the host's SshRunner uses (its `-F` config file,
 * its ControlPath, `ControlMaster=no`, `BatchMode=yes`), so a transfer rides the already
 * open multiplexed master and never authenticates again. Remote paths travel with `-s`
 * (`--secluded-args`, formerly `--protect-args`): they go over rsync's protocol, never
 * through the remote shell, so hostile names are copied, not run.
 */
import { isAbsolute } from 'node:path';
import { UsageError } from '../core/errors.js';

/** How rsync reaches the other side: the same machine, or ssh (argv without the destination). */
export type RsyncConnection =
  | { kind: 'local' }
  | {
      kind: 'ssh';
      /** `user@host` or an ssh alias. */
      destination: string;
      /** The ssh argv (program first) rsync runs as its remote shell. */
      ssh: readonly string[];
    };

export interface RsyncArgsInput {
  /** push: local → remote; pull: remote → local. */
  direction: 'push' | 'pull';
  /** Local directory (absolute; its contents are synced). */
  localPath: string;
  /** Directory on the host (absolute, or relative to the remote home). */
  remotePath: string;
  connection: RsyncConnection;
  /** rsync `--exclude` patterns. */
  excludes?: readonly string[];
  /** Delete files on the receiving side that the sender does not have. */
  delete?: boolean;
  /** `-n`: change nothing, list what would change. */
  dryRun?: boolean;
  /** `--info=progress2` (one whole-transfer progress line). */
  progress?: boolean;
  /**
   * `-c`: compare files by checksum instead of size and modification time, so a file
   * edited within the same second to the same size is still sent (reads every file).
   */
  checksum?: boolean;
  /** The rsync program (default `rsync`). */
  rsync?: string;
}

/** The out-format: itemized change, size, name (`-i` semantics, parsed by parseRsyncOutput). */
export const OUT_FORMAT = '%i %l %n';

/** A word for rsync's `-e` string: rsync splits on spaces and undoes '…' and "…" quoting ('' is a literal '). */
export function rsyncShellWord(value: string): string {
  if (/[\0\n\r\t]/.test(value)) {
    throw new UsageError(`an ssh argument contains a control character: ${JSON.stringify(value)}`);
  }
  if (value !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", "''")}'`;
}

/** `-e <ssh command>` for an ssh connection (nothing for a local one). */
export function remoteShellArgs(connection: RsyncConnection): string[] {
  return connection.kind === 'ssh' ? ['-e', connection.ssh.map(rsyncShellWord).join(' ')] : [];
}

/** `host:path` for an ssh connection, the path itself for a local one. */
export function remoteArgument(connection: RsyncConnection, path: string): string {
  return connection.kind === 'ssh' ? remoteSpec(connection.destination, path) : path;
}

/** Paths rsync gets: no NUL or newline; a remote `~/x` is taken relative to the home directory. */
export function normalizeRemotePath(path: string): string {
  checkPath(path);
  if (path === '~' || path === '~/') return '.';
  if (path.startsWith('~/')) return path.slice(2) || '.';
  if (path.startsWith('~')) {
    throw new UsageError(`remote path ${JSON.stringify(path)}: ~user is not supported`, {
      hint: 'give an absolute path, or one relative to the remote home directory',
    });
  }
  return path;
}

function checkPath(path: string): void {
  if (path === '') throw new UsageError('an empty path');
  if (path.includes('\0') || path.includes('\n') || path.includes('\r')) {
    throw new UsageError(`invalid path ${JSON.stringify(path)}`, {
      hint: 'paths cannot contain NUL or line breaks',
    });
  }
}

const withSlash = (p: string) => (p.endsWith('/') ? p : `${p}/`);

/** `host:path` with an IPv6 literal host put in brackets. */
function remoteSpec(destination: string, path: string): string {
  const at = destination.lastIndexOf('@');
  const user = at >= 0 ? destination.slice(0, at + 1) : '';
  const host = destination.slice(at + 1);
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${user}${h}:${path}`;
}

/** The rsync argv (program first) for one sync; throws UsageError for unusable paths. */
export function renderRsyncArgs(input: RsyncArgsInput): string[] {
  checkPath(input.localPath);
  if (!isAbsolute(input.localPath)) {
    // A relative local path with a ':' would be read as host:path by rsync.
    throw new UsageError(`local path must be absolute: ${JSON.stringify(input.localPath)}`);
  }
  const remote = normalizeRemotePath(input.remotePath);
  const argv = [
    input.rsync ?? 'rsync',
    '-a',
    '-s',
    '-8',
    '-i',
    `--out-format=${OUT_FORMAT}`,
    '--stats',
  ];
  if (input.dryRun) argv.push('-n');
  if (input.delete) argv.push('--delete');
  if (input.checksum) argv.push('-c');
  if (input.progress) argv.push('--info=progress2');
  for (const p of input.excludes ?? []) {
    if (p === '' || /[\0\n\r]/.test(p)) {
      throw new UsageError(`invalid exclude pattern ${JSON.stringify(p)}`);
    }
    argv.push(`--exclude=${p}`);
  }
  let remoteArg: string;
  if (input.connection.kind === 'ssh') {
    argv.push(...remoteShellArgs(input.connection));
    remoteArg = remoteSpec(input.connection.destination, withSlash(remote));
  } else {
    if (!isAbsolute(remote)) {
      throw new UsageError(`path on a local host must be absolute: ${JSON.stringify(remote)}`);
    }
    remoteArg = withSlash(remote);
  }
  const local = withSlash(input.localPath);
  argv.push('--');
  if (input.direction === 'push') argv.push(local, remoteArg);
  else argv.push(remoteArg, local);
  return argv;
}

/** One itemized line: `YXcstpoguax SIZE NAME` (or `*deleting SIZE NAME`). */
export interface RsyncChange {
  /** The 11-character item code (`>f+++++++++`, `cd+++++++++`, `*deleting`). */
  item: string;
  /** sent (`<`), received (`>`), local change/creation (`c`), attributes only (`.`), hard link (`h`), deleted (`*`). */
  action: 'send' | 'receive' | 'create' | 'attrs' | 'hardlink' | 'delete' | 'message';
  /** f file, d directory, L symlink, D device, S special; undefined for a deletion. */
  type?: 'file' | 'dir' | 'symlink' | 'device' | 'special';
  /** New on the receiving side (`+++++++++`). */
  created: boolean;
  size: number;
  path: string;
}

export interface RsyncStats {
  files?: number;
  createdFiles?: number;
  deletedFiles?: number;
  regularFilesTransferred?: number;
  totalFileSize?: number;
  transferredFileSize?: number;
  bytesSent?: number;
  bytesReceived?: number;
}

export interface RsyncOutput {
  changes: RsyncChange[];
  stats: RsyncStats;
  /** Lines that were neither itemized changes, progress nor stats. */
  other: string[];
}

/** rsync prints unprintable bytes as `\#ooo` (octal). */
export function decodeRsyncEscapes(s: string): string {
  if (!s.includes('\\#')) return s;
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && raw[i + 1] === 0x23 && i + 4 < raw.length) {
      const oct = raw.subarray(i + 2, i + 5).toString('latin1');
      if (/^[0-7]{3}$/.test(oct)) {
        bytes.push(Number.parseInt(oct, 8));
        i += 4;
        continue;
      }
    }
    bytes.push(raw[i] as number);
  }
  return Buffer.from(bytes).toString('utf8');
}

const ACTIONS: Record<string, RsyncChange['action']> = {
  '<': 'send',
  '>': 'receive',
  c: 'create',
  '.': 'attrs',
  h: 'hardlink',
  '*': 'delete',
};
const TYPES: Record<string, NonNullable<RsyncChange['type']>> = {
  f: 'file',
  d: 'dir',
  L: 'symlink',
  D: 'device',
  S: 'special',
};

const ITEM_LINE = /^([<>ch.*][fdLDS][.+?a-zA-Z ]{9}|\*deleting {2}) (\d+) (.*)$/;

/** One line of `--out-format='%i %l %n'` output, or undefined. */
export function parseItemLine(line: string): RsyncChange | undefined {
  const m = ITEM_LINE.exec(line);
  if (!m) return undefined;
  const item = (m[1] as string).trimEnd();
  const action = ACTIONS[item[0] as string] ?? 'message';
  const type = action === 'delete' ? undefined : TYPES[item[1] as string];
  return {
    item,
    action,
    ...(type ? { type } : {}),
    created: item.slice(2) === '+++++++++',
    size: Number(m[2]),
    path: decodeRsyncEscapes(m[3] as string),
  };
}

const num = (s: string) => Number(s.replaceAll(',', ''));

const STAT_KEYS: Array<[RegExp, keyof RsyncStats]> = [
  [/^Number of files: ([\d,]+)/, 'files'],
  [/^Number of created files: ([\d,]+)/, 'createdFiles'],
  [/^Number of deleted files: ([\d,]+)/, 'deletedFiles'],
  [/^Number of regular files transferred: ([\d,]+)/, 'regularFilesTransferred'],
  [/^Total file size: ([\d,]+) bytes/, 'totalFileSize'],
  [/^Total transferred file size: ([\d,]+) bytes/, 'transferredFileSize'],
  [/^Total bytes sent: ([\d,]+)/, 'bytesSent'],
  [/^Total bytes received: ([\d,]+)/, 'bytesReceived'],
];

/** rsync's stdout (itemized lines, progress, `--stats`) → changes and stats. */
export function parseRsyncOutput(stdout: string): RsyncOutput {
  const out: RsyncOutput = { changes: [], stats: {}, other: [] };
  for (const line of stdout.split(/\r?\n|\r/)) {
    if (line.trim() === '') continue;
    const change = parseItemLine(line);
    if (change) {
      out.changes.push(change);
      continue;
    }
    if (parseProgress(line)) continue;
    const stat = STAT_KEYS.find(([re]) => re.test(line));
    if (stat) {
      out.stats[stat[1]] = num((stat[0].exec(line) as RegExpExecArray)[1] as string);
      continue;
    }
    if (/^(File list |Literal data|Matched data|sent [\d,]+ bytes|total size is )/.test(line))
      continue;
    out.other.push(line);
  }
  return out;
}

/** One `--info=progress2` update. */
export interface RsyncProgress {
  bytes: number;
  percent: number;
  /** As rsync prints it, e.g. `95.37MB/s`. */
  rate: string;
  /** `h:mm:ss` remaining (or elapsed, on the final line). */
  eta: string;
  /** Files transferred so far (`xfr#N`). */
  transferred?: number;
  /** Files left to check of the total (`to-chk=R/T`, or `ir-chk` while the list still grows). */
  toCheck?: number;
  total?: number;
  /** true for `ir-chk`: the total is still growing. */
  incremental?: boolean;
}

const PROGRESS =
  /^\s*([\d,]+)\s+(\d+)%\s+(\S+\/s)\s+(\d+:\d\d:\d\d)(?:\s+\(xfr#(\d+), (to|ir)-chk=(\d+)\/(\d+)\))?\s*$/;

/** A progress2 line (one `\r`-separated piece), or undefined. */
export function parseProgress(line: string): RsyncProgress | undefined {
  const m = PROGRESS.exec(line);
  if (!m) return undefined;
  const p: RsyncProgress = {
    bytes: num(m[1] as string),
    percent: Number(m[2]),
    rate: m[3] as string,
    eta: m[4] as string,
  };
  if (m[5] !== undefined) {
    p.transferred = Number(m[5]);
    p.toCheck = Number(m[7]);
    p.total = Number(m[8]);
    p.incremental = m[6] === 'ir';
  }
  return p;
}

/** Splits a stream into lines on `\n` and `\r`; feed chunks, get complete pieces. */
export class LineSplitter {
  private rest = '';
  push(chunk: string): string[] {
    const parts = (this.rest + chunk).split(/\r\n|\r|\n/);
    this.rest = parts.pop() ?? '';
    return parts;
  }
  end(): string[] {
    const r = this.rest;
    this.rest = '';
    return r ? [r] : [];
  }
}

/** The progress line berth shows on a terminal. */
export function formatProgress(p: RsyncProgress): string {
  const files =
    p.transferred === undefined
      ? ''
      : `  ${p.transferred} files  ${p.total !== undefined && p.toCheck !== undefined ? `${p.total - p.toCheck}/${p.total}${p.incremental ? '+' : ''} checked` : ''}`;
  return `${String(p.percent).padStart(3)}%  ${humanBytes(p.bytes)}  ${p.rate}  ${p.eta}${files}`;
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}
