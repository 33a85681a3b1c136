import { homedir } from 'node:os';
import { join } from 'node:path';

type Env = Record<string, string | undefined>;

/** berth's state directory: BERTH_STATE_DIR, else $XDG_STATE_HOME/berth, else ~/.local/state/berth. */
export function stateDir(env: Env = process.env): string {
  if (env.BERTH_STATE_DIR) return env.BERTH_STATE_DIR;
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'berth');
}

/** User configuration file: $XDG_CONFIG_HOME/berth/config.yaml, else ~/.config/berth/config.yaml. */
export function userConfigFile(env: Env = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'berth', 'config.yaml');
}

/** The default SQLite database file. */
export function defaultDbFile(env: Env = process.env): string {
  return join(stateDir(env), 'berth.db');
}
