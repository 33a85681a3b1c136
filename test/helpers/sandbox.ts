import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cluster } from './cluster.js';

/** An isolated berth environment: own HOME, XDG dirs, state dir and project dir. */
export interface Sandbox {
  dir: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  writeProject(yaml: string): string;
  cleanup(): void;
}

export function sandbox(prefix = 'berth-test-'): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const cwd = join(dir, 'project');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    HOME: join(dir, 'home'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_STATE_HOME: join(dir, 'state'),
    BERTH_STATE_DIR: join(dir, 'state', 'berth'),
  };
  for (const d of [cwd, env.HOME!, env.XDG_CONFIG_HOME!]) mkdirSync(d, { recursive: true });
  return {
    dir,
    cwd,
    env,
    writeProject(yaml: string) {
      const file = join(cwd, 'berth.yaml');
      writeFileSync(file, yaml);
      return file;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** berth.yaml text with the test cluster as host `cluster` and a dead host `down`. */
export function clusterProjectYaml(): string {
  const c = cluster();
  return [
    'hosts:',
    '  cluster:',
    `    ssh: ${c.sshAlias}`,
    `    sshConfig: ${c.sshConfig}`,
    '    scheduler: auto',
    `    root: ${c.workRoot}`,
    '  down:',
    `    ssh: ${c.downAlias}`,
    `    sshConfig: ${c.sshConfig}`,
    '    scheduler: slurm',
    '',
  ].join('\n');
}
