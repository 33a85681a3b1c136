/**
 * Which tmux servers berth talks to. berth only ever uses servers on its own sockets
 * (`tmux -L berth-…`), never the user's default server, so nothing a user started by hand
 * can be reached through this module.
 */
import { createHash } from 'node:crypto';
import { UsageError } from '../core/errors.js';

/** `berth-` then letters, digits, '.', '_' or '-': safe as a file name and a shell word. */
export const SOCKET_PATTERN = /^berth-[A-Za-z0-9._-]{1,80}$/;

/** Refuse any socket name that is not berth's own (throws UsageError). */
export function checkSocket(socket: string): string {
  if (!SOCKET_PATTERN.test(socket)) {
    throw new UsageError(`refusing tmux socket ${JSON.stringify(socket)}`, {
      hint: "berth only uses its own tmux sockets, named 'berth-' followed by letters, digits, '.', '_' or '-'",
    });
  }
  return socket;
}

/**
 * A socket name for one berth session: `berth-<ns>-<name>`, where `ns` is a short hash of
 * something that tells berth installations apart (the state dir), so two users of one
 * account, or two test runs, never share a server. Long names are shortened with a hash
 * (a unix socket path has at most 107 bytes).
 */
export function sessionSocket(namespace: string, name: string): string {
  const ns = shortHash(namespace, 6);
  const part = name.length <= 40 ? name : `${name.slice(0, 28)}-${shortHash(name, 8)}`;
  return checkSocket(`berth-${ns}-${part}`);
}

function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}
