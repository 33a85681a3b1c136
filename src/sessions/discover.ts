/**
 * Where session specs are found: files named on the command line, then by name in each
 * directory of BERTH_SESSION_DIRS (':'-separated, in order) and in
 * `$XDG_CONFIG_HOME/berth/sessions` (default `~/.config/berth/sessions`). In a directory,
 * the spec of session `train` is `train.yaml`, `train.yml`, or `train/train.yaml` (`.yml`).
 * The first directory that has one wins.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, NotFoundError } from '../core/errors.js';
import { validateName } from '../core/names.js';
import type { SessionSpec } from './spec.js';
import { loadSpecFile } from './spec-file.js';

export interface DiscoverOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** The directories searched, in order (they need not exist). */
export function specDirs(o: DiscoverOptions): string[] {
  const dirs = (o.env.BERTH_SESSION_DIRS ?? '')
    .split(':')
    .filter((d) => d !== '')
    .map((d) => resolve(o.cwd, d));
  const home = o.env.HOME || homedir();
  const config = o.env.XDG_CONFIG_HOME || join(home, '.config');
  dirs.push(join(config, 'berth', 'sessions'));
  return [...new Set(dirs)];
}

/** An argument is a file when it has a '/' or ends in .yaml/.yml; otherwise a name. */
export function isSpecPath(arg: string): boolean {
  return arg.includes('/') || /\.ya?ml$/i.test(arg);
}

function candidates(dir: string, name: string): string[] {
  return ['yaml', 'yml'].flatMap((ext) => [
    join(dir, `${name}.${ext}`),
    join(dir, name, `${name}.${ext}`),
  ]);
}

/** The spec file of a session name, or undefined. */
export function findSpecFile(name: string, o: DiscoverOptions): string | undefined {
  validateName('session', name);
  for (const dir of specDirs(o)) {
    const found = candidates(dir, name).find((f) => isFile(f));
    if (found) return found;
  }
  return undefined;
}

/** Load the spec of a session name; the file's metadata.name must be that name. */
export function loadSpecByName(name: string, o: DiscoverOptions): SessionSpec | undefined {
  const file = findSpecFile(name, o);
  if (!file) return undefined;
  const spec = loadSpecFile(file);
  if (spec.name !== name) {
    throw new ConfigError(
      `${file}:1:1: this file is the spec of session ${JSON.stringify(name)} by its name, but metadata.name is ${JSON.stringify(spec.name)}`,
      { hint: 'rename the file or change metadata.name so that they agree' },
    );
  }
  return spec;
}

/** Every spec in the search directories (the first file of each name). */
export function discoverAll(o: DiscoverOptions): SessionSpec[] {
  const seen = new Map<string, SessionSpec>();
  for (const dir of specDirs(o)) {
    for (const name of namesIn(dir)) {
      if (seen.has(name)) continue;
      const spec = loadSpecByName(name, { ...o, env: { ...o.env, BERTH_SESSION_DIRS: dir } });
      if (spec) seen.set(name, spec);
    }
  }
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function namesIn(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const names = new Set<string>();
  for (const entry of entries.sort()) {
    const m = /^(.+)\.ya?ml$/i.exec(entry);
    const name = m ? m[1]! : entry;
    if (!/^[A-Za-z0-9._-]+$/.test(name)) continue;
    if (m ? isFile(join(dir, entry)) : candidates(dir, name).some(isFile)) names.add(name);
  }
  return [...names];
}

/** A spec from a command-line argument: a file path, or a name to discover. */
export function loadSpecArg(arg: string, o: DiscoverOptions): SessionSpec {
  if (isSpecPath(arg)) {
    const file = resolve(o.cwd, arg);
    if (!existsSync(file)) {
      throw new NotFoundError(`no session spec file ${arg}`, { hint: 'check the path' });
    }
    return loadSpecFile(file);
  }
  const spec = loadSpecByName(arg, o);
  if (!spec) {
    throw new NotFoundError(`no spec for session ${JSON.stringify(arg)}`, {
      hint: `put it in ${join(specDirs(o).at(-1)!, arg, `${arg}.yaml`)} or a directory of BERTH_SESSION_DIRS, or name the file`,
    });
  }
  return spec;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
