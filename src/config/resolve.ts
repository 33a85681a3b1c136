/**
 * The configuration cascade, resolved in one place:
 * flags > env `BERTH_*` > project `berth.yaml` > user `~/.config/berth/config.yaml` > defaults.
 * Objects merge key by key (hosts merge per host name); lists and scalars replace.
 */
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { defaultConfig } from './defaults.js';
import { type ConfigFileInfo, configFiles } from './files.js';
import { isPlainObject, keyPath } from './keys.js';
import { loadConfigFile } from './load.js';
import { envOverlay, flagOverlay, ignoredEnv, type Overlay } from './overlay.js';
import type { BerthConfig, ConfigLayer, PollSettings } from './schema.js';

type Env = Record<string, string | undefined>;

/** Where a value came from: `default`, `user:<file>`, `project:<file>`, `env:BERTH_X`, `flag:--x`. */
export type Source = string;

export interface ResolvedConfig extends BerthConfig {
  /** For every leaf key (`ssh.connectTimeoutS`, `hosts.local.scheduler`), where it came from. */
  sources: Record<string, Source>;
  /** The files the cascade looked at, lowest precedence first. */
  files: ConfigFileInfo[];
  /** `BERTH_*` variables in the environment that set nothing (not in the allow-list). */
  ignoredEnv: string[];
}

export interface LoadOptions {
  cwd?: string;
  env?: Env;
  /** A command's parsed options; only the configuration flags (`--state-dir`, `--host`, …) count. */
  flags?: Record<string, unknown>;
}

export function loadConfig(opts: LoadOptions = {}): ResolvedConfig {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const env = opts.env ?? process.env;
  const home = env.HOME || homedir();
  const files = configFiles({ cwd, env });
  const config: Record<string, unknown> = {};
  const sources: Record<string, Source> = {};
  merge(config, { ...defaultConfig(env) }, () => 'default', sources, []);
  for (const file of files) {
    if (!file.exists) continue;
    const layer = loadConfigFile(file.path);
    if (!layer) continue;
    const fromFile = expandPaths(layer, dirname(file.path), home);
    merge(config, fromFile, () => `${file.layer}:${file.path}`, sources, []);
  }
  const inCwd = (p: string) => expandPath(p, cwd, home);
  const overlays: Overlay[] = [envOverlay(env, inCwd), flagOverlay(opts.flags ?? {}, inCwd)];
  for (const o of overlays)
    merge(config, o.layer, (key) => o.sources[key] ?? 'default', sources, []);
  const resolved = config as unknown as BerthConfig;
  for (const [name, host] of Object.entries(resolved.hosts)) {
    if (host.scheduler === undefined) {
      host.scheduler = 'auto';
      sources[keyPath(['hosts', name, 'scheduler'])] = 'default';
    }
  }
  checkPoll(resolved, sources);
  return { ...resolved, sources, files, ignoredEnv: ignoredEnv(env) };
}

/** The configuration alone, without sources and file list (what `config show --json` prints). */
export function plainConfig(config: ResolvedConfig): BerthConfig {
  const { sources: _s, files: _f, ignoredEnv: _i, ...rest } = config;
  return rest;
}

/** Deep-merge `layer` into `target`, recording the source of every leaf it sets. */
function merge(
  target: Record<string, unknown>,
  layer: Record<string, unknown>,
  source: (key: string) => Source,
  sources: Record<string, Source>,
  path: string[],
): void {
  for (const [k, v] of Object.entries(layer)) {
    if (v === undefined) continue;
    const p = [...path, k];
    if (isPlainObject(v)) {
      const cur = target[k];
      const next = isPlainObject(cur) ? cur : {};
      target[k] = next;
      merge(next, v, source, sources, p);
    } else {
      target[k] = Array.isArray(v) ? [...v] : v;
      sources[keyPath(p)] = source(keyPath(p));
    }
  }
}

/** `~/x` is under HOME; a relative path in a file is relative to that file's directory. */
function expandPath(p: string, base: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return join(home, p.slice(2));
  return isAbsolute(p) ? p : resolve(base, p);
}

function expandPaths(layer: ConfigLayer, base: string, home: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...layer };
  if (layer.stateDir !== undefined) out.stateDir = expandPath(layer.stateDir, base, home);
  if (layer.hosts) {
    const hosts: Record<string, unknown> = {};
    for (const [name, host] of Object.entries(layer.hosts)) {
      hosts[name] =
        host.sshConfig === undefined
          ? host
          : { ...host, sshConfig: expandPath(host.sshConfig, base, home) };
    }
    out.hosts = hosts;
  }
  return out;
}

/** The watcher needs min ≤ max, at the top level and for every host's merged settings. */
function checkPoll(config: BerthConfig, sources: Record<string, Source>): void {
  const check = (prefix: string[], poll: PollSettings) => {
    if (poll.minIntervalS <= poll.maxIntervalS) return;
    const from = (key: string) => {
      const own = keyPath([...prefix, key]);
      return sources[own] ? own : keyPath(['poll', key]);
    };
    const min = from('minIntervalS');
    const max = from('maxIntervalS');
    throw new UsageError(
      `${min} (${poll.minIntervalS}, from ${sources[min]}) is greater than ${max} (${poll.maxIntervalS}, from ${sources[max]})`,
      {
        hint: 'the site minimum interval must not exceed the backoff ceiling; raise maxIntervalS or lower minIntervalS',
      },
    );
  };
  check(['poll'], config.poll);
  for (const [name, host] of Object.entries(config.hosts)) {
    check(['hosts', name, 'poll'], { ...config.poll, ...host.poll });
  }
}
