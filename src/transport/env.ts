import { UsageError } from '../core/errors.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Validate the names in RunOptions.env (they become `export NAME=...` over ssh). */
export function checkEnv(env: Record<string, string> | undefined): Record<string, string> {
  if (!env) return {};
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) {
      throw new UsageError(`invalid environment variable name ${JSON.stringify(name)}`, {
        hint: 'names must match ^[A-Za-z_][A-Za-z0-9_]*$',
      });
    }
    if (typeof value !== 'string') {
      throw new UsageError(`environment variable ${name} must be a string`);
    }
  }
  return env;
}

/** Refuse an empty argv (there is no program to run). */
export function checkArgv(argv: readonly string[]): void {
  if (argv.length === 0 || argv[0] === '') {
    throw new UsageError('no command given', { hint: 'argv[0] must be the program to run' });
  }
}
