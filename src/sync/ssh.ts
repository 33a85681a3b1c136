/**
 * The ssh command rsync should use for a host: built from the SshRunner's public fields
 * (target, ControlPath) and the host profile's ssh config file, with the same options the
 * runner's own commands use (ssh-args.ts), so rsync rides the runner's multiplexed master.
 */
import type { HostProfile } from '../config/index.js';
import type { Runner } from '../transport/runner.js';
import { SshRunner } from '../transport/ssh.js';
import { parseTarget } from '../transport/ssh-args.js';
import type { RsyncConnection } from './rsync.js';

export interface SshCommandInput {
  /** The runner's target (alias or `user@host[:port]`). */
  target: string;
  controlPath: string;
  configFile?: string;
  connectTimeoutS?: number;
}

/** Pure: ssh argv (program first, no destination) and the destination for rsync. */
export function sshConnection(input: SshCommandInput): RsyncConnection {
  const { destination, port } = parseTarget(input.target);
  const ssh = [
    'ssh',
    ...(input.configFile ? ['-F', input.configFile] : []),
    // -S takes the path as is; '%' would be a token.
    '-S',
    input.controlPath.replaceAll('%', '%%'),
    '-o',
    `ConnectTimeout=${input.connectTimeoutS ?? 10}`,
    ...(port === undefined ? [] : ['-p', String(port)]),
    '-o',
    'ControlMaster=no',
    '-o',
    'BatchMode=yes',
  ];
  return { kind: 'ssh', destination, ssh };
}

/**
 * How rsync reaches a host: local for a LocalRunner; for an SshRunner the master is opened
 * (or repaired) first, so rsync's ssh only multiplexes over it. Throws UnreachableError.
 */
export async function connectionFor(
  runner: Runner,
  profile: Pick<HostProfile, 'sshConfig'>,
  connectTimeoutS?: number,
): Promise<RsyncConnection> {
  if (!(runner instanceof SshRunner)) return { kind: 'local' };
  await runner.connect();
  return sshConnection({
    target: runner.target,
    controlPath: runner.controlPath,
    ...(profile.sshConfig ? { configFile: profile.sshConfig } : {}),
    ...(connectTimeoutS === undefined ? {} : { connectTimeoutS }),
  });
}
