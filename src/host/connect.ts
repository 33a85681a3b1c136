import { getHost, type HostProfile, type ResolvedConfig } from '../config/index.js';
import { createRunner } from '../transport/index.js';
import type { Runner } from '../transport/runner.js';

/** A runner for a configured host name (throws NotFoundError for an unknown host). */
export function runnerFor(
  config: ResolvedConfig,
  hostName: string,
): { runner: Runner; profile: HostProfile } {
  const profile = getHost(config, hostName);
  const runner = createRunner(
    { name: hostName, ssh: profile.ssh, sshConfig: profile.sshConfig },
    { stateDir: config.stateDir, connectTimeoutS: config.ssh.connectTimeoutS },
  );
  return { runner, profile };
}
