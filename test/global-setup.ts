/**
 * Runs once before the suite: builds dist/ (end-to-end tests run bin/berth.js) and makes sure
 * the throwaway test cluster (scripts/dev-cluster) is up, starting it when we are root.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

export default function setup(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const dir = process.env.BERTH_CLUSTER_DIR ?? '/tmp/berth-cluster';
  const status = spawnSync('bash', [join(root, 'scripts/dev-cluster'), 'status'], {
    encoding: 'utf8',
  });
  if (status.status === 0 && existsSync(join(dir, 'cluster.json'))) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `the test cluster is not up (${status.stdout}${status.stderr}); run: sudo scripts/dev-cluster up --nodes 3`,
    );
  }
  execFileSync('bash', [join(root, 'scripts/dev-cluster'), 'up', '--nodes', '3'], {
    stdio: 'inherit',
  });
}
