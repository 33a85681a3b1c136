/**
 * berth's few error classes. Each carries a stable `code`, a `hint` that tells the user
 * what to do, and the process exit code the CLI uses (see docs/exit-codes.md).
 */

export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  notFound: 3,
  remote: 4,
  unreachable: 5,
  timeout: 6,
  conflict: 7,
  interrupted: 130,
} as const;

export interface ErrorOptions {
  hint?: string;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class BerthError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, exitCode: number, message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      error: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** Bad flags, bad names, bad configuration or spec files: the user can fix the input. */
export class UsageError extends BerthError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'E_USAGE', EXIT.usage, message, opts);
  }
}

/** A configuration or spec file is wrong; message starts with `file:line:col:`. */
export class ConfigError extends BerthError {
  constructor(message: string, opts: ErrorOptions = {}) {
    super('E_CONFIG', EXIT.usage, message, opts);
  }
}

/** A named thing (host, job, lease, session, run) does not exist. */
export class NotFoundError extends BerthError {
  constructor(message: string, opts: ErrorOptions = {}) {
    super('E_NOT_FOUND', EXIT.notFound, message, opts);
  }
}

/** A command on a host, or the scheduler, answered with a failure. */
export class RemoteError extends BerthError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'E_REMOTE', EXIT.remote, message, opts);
  }
}

/** The host could not be reached at all (ssh failed to connect or authenticate). */
export class UnreachableError extends BerthError {
  constructor(message: string, opts: ErrorOptions = {}) {
    super('E_UNREACHABLE', EXIT.unreachable, message, opts);
  }
}

/** Something took longer than its allowed time. */
export class TimeoutError extends BerthError {
  constructor(message: string, opts: ErrorOptions = {}) {
    super('E_TIMEOUT', EXIT.timeout, message, opts);
  }
}

/** The request clashes with existing state (a live lease of the same name, ...). */
export class ConflictError extends BerthError {
  constructor(message: string, opts: ErrorOptions = {}) {
    super('E_CONFLICT', EXIT.conflict, message, opts);
  }
}

export function isBerthError(e: unknown): e is BerthError {
  return e instanceof BerthError;
}
