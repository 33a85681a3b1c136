/** Host profiles: looking one up by name, and deciding which scheduler it uses. */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { NotFoundError } from '../core/errors.js';
import { validateName } from '../core/names.js';
import type { BerthConfig, HostConfig, HostProfile } from './schema.js';

type Env = Record<string, string | undefined>;

/** The profile of a configured host (default: `config.defaultHost`), poll settings merged. */
export function getHost(config: BerthConfig, name: string = config.defaultHost): HostProfile {
  validateName('host', name);
  const host = Object.hasOwn(config.hosts, name) ? config.hosts[name] : undefined;
  if (!host) {
    const known = Object.keys(config.hosts).sort().join(', ');
    throw new NotFoundError(`unknown host ${JSON.stringify(name)}; known hosts are ${known}`, {
      hint: `add it to berth.yaml, e.g. "hosts: { ${name}: { ssh: user@login.example.org, scheduler: slurm } }" (see docs/configuration.md)`,
      details: { host: name, known: Object.keys(config.hosts) },
    });
  }
  return { ...host, name, slurm: { ...host.slurm }, poll: { ...config.poll, ...host.poll } };
}

/** `auto` means slurm when `sbatch` is found on the host, else none (run directly). */
export function resolveScheduler(
  profile: Pick<HostConfig, 'scheduler'>,
  hasSbatch: boolean,
): 'slurm' | 'none' {
  if (profile.scheduler === 'auto') return hasSbatch ? 'slurm' : 'none';
  return profile.scheduler;
}

/** The first executable `command` in the directories of PATH (no subprocess). */
export function findOnPath(command: string, env: Env = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    // An empty or relative PATH entry means "the current directory": not trusted here.
    if (!dir || !isAbsolute(dir)) continue;
    const file = join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here; try the next directory
    }
  }
  return undefined;
}

/** Whether SLURM's `sbatch` is on this machine's PATH (decides `scheduler: auto` for local). */
export function hasSbatchOnPath(env: Env = process.env): boolean {
  return findOnPath('sbatch', env) !== undefined;
}
