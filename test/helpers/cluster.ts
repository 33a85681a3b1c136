import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What scripts/dev-cluster writes to $BERTH_CLUSTER_DIR/cluster.json. */
export interface ClusterInfo {
  sshAlias: string;
  sshConfig: string;
  sshPort: number;
  sshUser: string;
  sshKey: string;
  knownHosts: string;
  sshdLog: string;
  downAlias: string;
  clusterName: string;
  partition: string;
  nodes: string[];
  maxArraySize: number;
  accounting: boolean;
  slurmVersion: string;
  workRoot: string;
}

export function clusterDir(): string {
  return process.env.BERTH_CLUSTER_DIR ?? '/tmp/berth-cluster';
}

/** The running test cluster; throws (the test fails) when it is not up. */
export function cluster(): ClusterInfo {
  return JSON.parse(readFileSync(join(clusterDir(), 'cluster.json'), 'utf8')) as ClusterInfo;
}
