/**
 * transport/: how berth runs commands on a machine. See runner.ts for the contract and
 * docs/transport.md for local vs ssh, the ControlMaster layout and how results are reported.
 */
import { LocalRunner } from './local.js';
import type { Runner } from './runner.js';
import { SshRunner } from './ssh.js';

export { LocalRunner, type LocalRunnerOptions } from './local.js';
export {
  extractBetweenSentinels,
  lastNonEmptyLine,
  newSentinel,
  pickLines,
  wrapWithSentinels,
} from './noise.js';
export { quote, quoteArgs } from './quote.js';
export type { Runner, RunOptions, RunResult } from './runner.js';
export { SshRunner, type SshRunnerOptions } from './ssh.js';
export type { MasterStatus } from './ssh-master.js';

/** The part of a host profile the factory needs (the full type lives in config/). */
export interface RunnerProfile {
  name: string;
  /** ssh alias or `user@host[:port]`; absent for the local machine. */
  ssh?: string;
  /** ssh_config file passed as `-F`. */
  sshConfig?: string;
}

export interface RunnerFactoryOptions {
  stateDir: string;
  connectTimeoutS?: number;
  /** Run login-shell commands in one persistent `bash -l` per runner (default false). */
  persistentShell?: boolean;
}

/** `local` when the profile has no ssh target, else an SshRunner. */
export function createRunner(profile: RunnerProfile, opts: RunnerFactoryOptions): Runner {
  const persistentShell = opts.persistentShell ?? false;
  if (!profile.ssh) return new LocalRunner({ host: profile.name, persistentShell });
  return new SshRunner({
    host: profile.name,
    target: profile.ssh,
    stateDir: opts.stateDir,
    persistentShell,
    ...(profile.sshConfig ? { configFile: profile.sshConfig } : {}),
    ...(opts.connectTimeoutS === undefined ? {} : { connectTimeoutS: opts.connectTimeoutS }),
  });
}
