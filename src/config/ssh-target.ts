/**
 * SSH targets as written in a host profile: an alias from ~/.ssh/config (`mycluster`) or
 * `[user@]host[:port]` (`alice@login.example.org:2222`, `bob@[2001:db8::1]:22`).
 * A target never starts with '-', so it can't be read by ssh as an option.
 */

export interface SshTarget {
  user?: string;
  host: string;
  port?: number;
}

const USER = '[A-Za-z0-9_][A-Za-z0-9._-]*';
const HOST = '[A-Za-z0-9_][A-Za-z0-9._-]*|\\[[0-9A-Fa-f:.]+\\]';
const TARGET = new RegExp(`^(?:(${USER})@)?(${HOST})(?::([0-9]{1,5}))?$`);

/** Parse a target; undefined when it is not a valid alias or `[user@]host[:port]`. */
export function parseSshTarget(text: string): SshTarget | undefined {
  const m = TARGET.exec(text);
  if (!m || text.length > 255) return undefined;
  const [, user, host = '', port] = m;
  const target: SshTarget = { host };
  if (user !== undefined) target.user = user;
  if (port !== undefined) {
    const n = Number(port);
    if (n < 1 || n > 65535) return undefined;
    target.port = n;
  }
  return target;
}

export function isSshTarget(text: string): boolean {
  return parseSshTarget(text) !== undefined;
}

export const SSH_TARGET_HELP =
  'an ssh alias from ~/.ssh/config (e.g. mycluster) or user@host[:port] (e.g. alice@login.example.org:2222)';
