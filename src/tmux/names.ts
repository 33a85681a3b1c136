// biome-ignore-all lint/suspicious/noTemplateCurlyInString: shell text uses ${…} parameter expansions
/**
 * Session names as tmux keeps them: the one place where berth maps a name (a session's, a
 * lease tenant's) to its tmux session name, in TypeScript and in the shell scripts that
 * run on hosts and nodes. tmux rewrites '.' and ':' to '_' (they separate window and pane
 * in targets), so a session `exp.v2` lives in tmux as `exp_v2`; berth names it so up front
 * and always targets (`=name`) the name tmux kept. berth names have no other character
 * tmux would change (core/names.ts), so the result matches TMUX_NAME_PATTERN.
 */

/** The tmux session name of a berth name. */
export function tmuxSessionName(name: string): string {
  return name.replace(/[.:]/g, '_');
}

/** Shell text (a double-quoted word): the tmux session name of the name in bash variable `v`. */
export function tmuxNameShell(v: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) throw new Error(`not a shell variable name: ${v}`);
  return `"\${${v}//[.:]/_}"`;
}

/** Session names berth creates: what tmux keeps exactly as given. */
export const TMUX_NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
