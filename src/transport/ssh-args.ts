/**
 * Pure builders for the `ssh` command lines berth runs. Three kinds of call:
 * - the master (`-o ControlMaster=yes -o ControlPersist=… -N -f`): the only call that may
 *   prompt (no BatchMode from berth; the user's config decides) and may use the terminal;
 * - commands (`-o ControlMaster=no -o BatchMode=yes`): never prompt, never become a master;
 * - control requests (`-O check`, `-O exit`).
 * Host-key checking is never relaxed here (see checkExtraOptions).
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseSshTarget, SSH_TARGET_HELP } from '../config/ssh-target.js';
import { UsageError } from '../core/errors.js';

export interface SshEndpoint {
  /** `user@host` or an alias, as ssh's destination argument. */
  destination: string;
  port?: number;
  configFile?: string;
  controlPath: string;
  connectTimeoutS: number;
  extraOptions: readonly string[];
}

/**
 * Unix socket paths are limited (104 bytes on macOS, 108 on Linux) and ssh first binds
 * `<ControlPath>.<16 random chars>`: keep ControlPath itself at most 86 bytes.
 */
export const MAX_CONTROL_PATH = 86;

/** `user@host:port` → destination and port; aliases pass through. */
export function parseTarget(target: string): { destination: string; port?: number } {
  const t = parseSshTarget(target);
  if (!t) {
    throw new UsageError(`invalid ssh target ${JSON.stringify(target)}`, {
      hint: `use ${SSH_TARGET_HELP}`,
    });
  }
  const host = t.host.startsWith('[') ? t.host.slice(1, -1) : t.host;
  const destination = t.user ? `${t.user}@${host}` : host;
  return t.port === undefined ? { destination } : { destination, port: t.port };
}

/** Deterministic, short socket path: `<stateDir>/cm/<12 hex of sha256(target, config, options)>`. */
export function controlPathFor(
  stateDir: string,
  target: string,
  configFile?: string,
  extraOptions: readonly string[] = [],
  uid: number = process.getuid?.() ?? 0,
): string {
  const key = [target, configFile ? resolve(configFile) : '', ...extraOptions].join('\0');
  const name = createHash('sha256').update(key).digest('hex').slice(0, 12);
  const preferred = join(resolve(stateDir), 'cm', name);
  if (Buffer.byteLength(preferred) <= MAX_CONTROL_PATH) return preferred;
  // A deep state directory: fall back to a short per-user directory (also mode 700).
  return join(tmpdir().length < 40 ? tmpdir() : '/tmp', `berth-${uid}`, 'cm', name);
}

/** Options berth refuses to pass: it never turns host-key checking off. */
export function checkExtraOptions(options: readonly string[]): readonly string[] {
  for (const o of options) {
    const text = o.replace(/\s+/g, '').toLowerCase();
    if (
      /stricthostkeychecking=(no|off)/.test(text) ||
      /userknownhostsfile=\/dev\/null/.test(text)
    ) {
      throw new UsageError(`berth does not disable host-key checking (got ${JSON.stringify(o)})`, {
        hint: 'verify the host key once (ssh-keyscan, compare the fingerprint, add it to known_hosts) instead',
      });
    }
  }
  return options;
}

function baseArgs(e: SshEndpoint): string[] {
  return [
    ...(e.configFile ? ['-F', e.configFile] : []),
    // -S takes the path as is (no config-line word splitting); '%' would be a token.
    '-S',
    e.controlPath.replaceAll('%', '%%'),
    '-o',
    `ConnectTimeout=${e.connectTimeoutS}`,
    ...(e.port === undefined ? [] : ['-p', String(e.port)]),
    ...e.extraOptions,
  ];
}

export function masterArgs(e: SshEndpoint, persist: string): string[] {
  return [
    ...baseArgs(e),
    '-o',
    'ControlMaster=yes',
    '-o',
    `ControlPersist=${persist}`,
    '-o',
    'ServerAliveInterval=30',
    '-o',
    'ServerAliveCountMax=3',
    '-N',
    '-f',
    '--',
    e.destination,
  ];
}

export function commandArgs(e: SshEndpoint, remoteCommand: string, tty = false): string[] {
  return [
    ...baseArgs(e),
    '-o',
    'ControlMaster=no',
    '-o',
    'BatchMode=yes',
    tty ? '-t' : '-T',
    '--',
    e.destination,
    remoteCommand,
  ];
}

export function controlArgs(e: SshEndpoint, op: 'check' | 'exit'): string[] {
  return [...baseArgs(e), '-o', 'BatchMode=yes', '-O', op, '--', e.destination];
}
