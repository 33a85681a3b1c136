/** Which configuration files berth reads: the user file (XDG) and the nearest berth.yaml. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { userConfigFile } from './paths.js';

type Env = Record<string, string | undefined>;

export const PROJECT_FILE = 'berth.yaml';

export interface ConfigFileInfo {
  layer: 'user' | 'project';
  path: string;
  exists: boolean;
}

/** The nearest `berth.yaml` in `cwd` or one of its parents. */
export function findProjectFile(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, PROJECT_FILE);
    if (isFile(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The files the cascade reads, lowest precedence first. Without a project file, the
 * project entry is where one would go (`cwd/berth.yaml`) and has `exists: false`.
 */
export function configFiles(opts: { cwd?: string; env?: Env } = {}): ConfigFileInfo[] {
  const cwd = opts.cwd ?? process.cwd();
  const user = userConfigFile(opts.env ?? process.env);
  const project = findProjectFile(cwd);
  return [
    { layer: 'user', path: user, exists: existsSync(user) },
    {
      layer: 'project',
      path: project ?? join(resolve(cwd), PROJECT_FILE),
      exists: project !== undefined,
    },
  ];
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
