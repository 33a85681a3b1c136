/**
 * What berth sends to the remote side over ssh. sshd runs it with the user's login shell
 * (`$SHELL -c`), so the text must be POSIX shell; every user value goes through quote().
 *
 * Non-interactive commands run under a small bash wrapper that:
 * - starts the command as a job in its own process group (`set -m`), stdin passed through;
 * - writes `<nonce>:pid=<pgid>` to stderr, so a timeout can kill the remote process group;
 * - reports a death by signal as `<nonce>:sig=<NAME>`: OpenSSH sends "exit-signal" to the
 *   client, but the client drops it and exits 255, so without the wrapper `kill -9 $$` and a
 *   lost connection look the same. bash's `$?` is 128+N for both a signal and `exit 128+N`;
 *   the job status (`jobs -l`: "Killed" vs "Exit 137") tells them apart.
 * The records are stripped from stderr by MarkerFilter (markers.ts).
 */
import { randomBytes } from 'node:crypto';
import { quote } from './quote.js';

/** The wrapper (no user values in it; they arrive as "$@"). */
export const WRAPPER = [
  '__berth_n=$1;shift;__berth_s=',
  'exec 3>&2 2>/dev/null',
  'set -m',
  `trap '[ -n "$__berth_s" ]||__berth_s=$(jobs -l)' CHLD`,
  '"$@" 0<&0 2>&3 3>&- &',
  '__berth_p=$!',
  `printf '%s:pid=%s\\n' "$__berth_n" "$__berth_p" >&3`,
  'wait "$__berth_p";__berth_r=$?',
  'if [ "$__berth_r" -gt 128 ];then',
  // Drop "[1]+ <pid> " so only the status word and the command text remain.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
  '__berth_t=${__berth_s#*" $__berth_p "}',
  'case $__berth_t in *[!0-9]"$__berth_r "*|*[!0-9]"$__berth_r");;',
  `*)printf '%s:sig=%s\\n' "$__berth_n" "$(kill -l "$__berth_r")" >&3;;esac`,
  'fi',
  'exit "$__berth_r"',
].join('\n');

/** A fresh marker prefix for one call. */
export function newNonce(): string {
  return `@@berth-${randomBytes(8).toString('hex')}`;
}

/** The script with env exports and the working directory in front (values quoted). */
export function withEnvAndCwd(script: string, env: Record<string, string>, cwd?: string): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(env)) lines.push(`export ${name}=${quote(value)}`);
  if (cwd !== undefined) lines.push(`cd -- ${quote(cwd)} || exit 1`);
  return lines.length === 0 ? script : `${lines.join('\n')}\n${script}`;
}

/** The command line for sshd: the wrapper around `bash -c`/`bash -lc` running the script. */
export function wrappedCommand(script: string, login: boolean, nonce: string): string {
  return `exec bash -c ${quote(WRAPPER)} berth ${quote(nonce)} bash ${login ? '-lc' : '-c'} ${quote(script)}`;
}

/** Interactive commands run directly under the pty (signals then come from the terminal). */
export function plainCommand(script: string, login: boolean): string {
  return `exec bash ${login ? '-lc' : '-c'} ${quote(script)}`;
}

/** Signal a remote process group (the pgid the wrapper reported). */
export function killCommand(pgid: number, signal: 'TERM' | 'KILL'): string {
  return `kill -${signal} -- -${Math.trunc(pgid)} 2>/dev/null; true`;
}
