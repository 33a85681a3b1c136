import { UsageError } from './errors.js';

/** Names of hosts, leases, sessions and pipelines: safe in paths, shell text and job names. */
export const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;

export type NameKind = 'host' | 'lease' | 'session' | 'pipeline' | 'run' | 'job name' | 'token';

/** Validate a user-supplied name at the edge; returns it unchanged or throws UsageError. */
export function validateName(kind: NameKind, value: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new UsageError(`${kind} name is empty`, {
      hint: `give a ${kind} name made of letters, digits, '.', '_' or '-'`,
    });
  }
  if (value.length > 128 || !NAME_PATTERN.test(value) || value === '.' || value === '..') {
    throw new UsageError(`invalid ${kind} name ${JSON.stringify(value)}`, {
      hint: `${kind} names may contain only letters, digits, '.', '_' and '-' (at most 128 characters)`,
    });
  }
  return value;
}
