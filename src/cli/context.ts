import type { Command } from '@commander-js/extra-typings';
import { EXIT } from '../core/errors.js';
import { type GlobalFlags, type Io, reportError } from './output.js';

/** What a command file gets: where to print, the environment, and how to run an action. */
export interface CliContext {
  io: Io;
  env: NodeJS.ProcessEnv;
  cwd: string;
  exitCode: number;
}

/** Global flags as seen from any (sub)command. */
export function globalsOf(cmd: Command<unknown[], Record<string, unknown>>): GlobalFlags {
  const o = cmd.optsWithGlobals() as Record<string, unknown>;
  return { json: o.json === true, debug: o.debug === true };
}

/**
 * Wrap an action: runs it, maps a thrown error to its exit code and message, and records
 * the exit code on the context (the action may also return its own exit code).
 */
export function act<A extends unknown[]>(
  ctx: CliContext,
  fn: (flags: GlobalFlags, ...args: A) => Promise<number | undefined> | number | undefined,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command<unknown[], Record<string, unknown>>;
    const flags = globalsOf(cmd);
    try {
      const code = await fn(flags, ...args);
      ctx.exitCode = code ?? EXIT.ok;
    } catch (e) {
      ctx.exitCode = reportError(ctx.io, flags, e);
    }
  };
}
