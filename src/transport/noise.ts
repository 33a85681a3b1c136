/**
 * Login-shell noise: MOTDs, Lmod/module messages, conda or pyenv chatter from rc files and
 * `.bash_logout` output end up in stdout around what a command prints. These pure helpers
 * let a parser find the real output anyway.
 *
 *   const m = newSentinel();
 *   const r = await runner.sh(wrapWithSentinels('squeue -h -o %i', m));
 *   const text = extractBetweenSentinels(r.stdout, m); // exactly what squeue printed
 */
import { randomBytes } from 'node:crypto';
import { quote } from './quote.js';

/** A marker no rc file will print by accident. */
export function newSentinel(): string {
  return `__berth_${randomBytes(6).toString('hex')}__`;
}

/**
 * Shell text that prints `<m>:begin` on its own line, then runs the script in a subshell,
 * then prints a newline and `<m>:end`, and exits with the script's status. The extra newline
 * means the end marker is always on its own line; extraction removes it again.
 */
export function wrapWithSentinels(script: string, marker: string): string {
  const m = quote(marker);
  return [
    `printf '%s:begin\\n' ${m}`,
    `(\n${script}\n)`,
    '__berth_rc=$?',
    `printf '\\n%s:end\\n' ${m}`,
    'exit "$__berth_rc"',
  ].join('\n');
}

/** The exact output between the markers; undefined when either marker is missing. */
export function extractBetweenSentinels(stdout: string, marker: string): string | undefined {
  const begin = `${marker}:begin\n`;
  const end = `\n${marker}:end`;
  const b = stdout.indexOf(begin);
  if (b === -1) return undefined;
  const from = b + begin.length;
  const e = stdout.lastIndexOf(end);
  if (e < from) return undefined;
  return stdout.slice(from, e);
}

/** The last line with something other than white space in it (trimmed), or undefined. */
export function lastNonEmptyLine(text: string): string | undefined {
  const lines = text.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (line) return line;
  }
  return undefined;
}

/** The lines (without '\r' or '\n') that match `re`, in order. */
export function pickLines(text: string, re: RegExp): string[] {
  const test = new RegExp(re.source, re.flags.replace(/[gy]/g, ''));
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => test.test(l));
}
