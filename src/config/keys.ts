/** Key paths into a configuration object: printing them, reading and writing by path. */

export type KeyPath = readonly PropertyKey[];

/**
 * Keys whose values are secrets: never printed (config show, error messages). Here, not in
 * schema.ts, so that the CLI can use it without loading zod at start-up.
 */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['token', 'secret']);

/** `hosts.mycluster.slurm.partition`; a segment that isn't a plain word is quoted (`hosts["a.b"].ssh`), list indexes are `[n]`. */
export function keyPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    const s = String(seg);
    if (typeof seg === 'number') out += `[${s}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function getIn(value: unknown, path: KeyPath): unknown {
  let cur = value;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** Set a value by path, creating plain objects on the way. */
export function setIn(
  target: Record<string, unknown>,
  path: readonly string[],
  value: unknown,
): void {
  let cur = target;
  path.forEach((seg, i) => {
    if (i === path.length - 1) {
      cur[seg] = value;
      return;
    }
    const next = cur[seg];
    if (isPlainObject(next)) cur = next;
    else {
      const created: Record<string, unknown> = {};
      cur[seg] = created;
      cur = created;
    }
  });
}

/** What a value is, in YAML words: string "x", number 3, list, mapping, nothing. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (empty value)';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}
