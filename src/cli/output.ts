import { BerthError, EXIT, isBerthError } from '../core/errors.js';

/** Global flags every command understands. */
export interface GlobalFlags {
  json?: boolean;
  debug?: boolean;
}

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/** Print a command's result: the object itself with --json, else the text renderer's output. */
export function emit<T>(io: Io, flags: GlobalFlags, value: T, render: (v: T) => string): void {
  if (flags.json) io.out(JSON.stringify(value, null, 2));
  else {
    const text = render(value);
    if (text) io.out(text);
  }
}

/** Report an error the way the CLI promises: message + hint, a stack only with --debug. */
export function reportError(io: Io, flags: GlobalFlags, e: unknown): number {
  const err = isBerthError(e) ? e : undefined;
  if (flags.json) {
    const body = err
      ? err.toJSON()
      : { error: 'E_INTERNAL', message: e instanceof Error ? e.message : String(e) };
    io.out(JSON.stringify(body, null, 2));
  } else if (err) {
    io.err(`berth: error: ${err.message}`);
    if (err.hint) io.err(`hint: ${err.hint}`);
  } else {
    io.err(`berth: internal error: ${e instanceof Error ? e.message : String(e)}`);
    io.err('hint: this is a bug in berth; run again with --debug and report the output');
  }
  if (flags.debug && e instanceof Error && e.stack) io.err(e.stack);
  return err ? err.exitCode : EXIT.internal;
}

export { BerthError };
