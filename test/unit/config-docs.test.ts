import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig, OVERRIDES } from '../../src/config/index.js';
import { keyPath } from '../../src/config/keys.js';

const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'configuration.md'), 'utf8');

/** Rows of the markdown table whose header starts with `first`. */
function table(first: string): string[][] {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^\\|\\s*${first}\\s*\\|`).test(l));
  if (start === -1) throw new Error(`no table starting with "${first}" in docs/configuration.md`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim().replace(/^`|`$/g, '')),
    );
  }
  return rows;
}

describe('docs/configuration.md matches the code', () => {
  it('every scalar default is in the keys table with its value', () => {
    const d = defaultConfig({ HOME: '/h' });
    const documented = new Map(table('key').map(([k, v]) => [k, v]));
    const scalars: Array<[string, unknown]> = [
      ['dbUrl', '""'],
      ['defaultHost', d.defaultHost],
      ['logLevel', d.logLevel],
      ...Object.entries(d.ssh).map(([k, v]) => [`ssh.${k}`, v] as [string, unknown]),
      ...Object.entries(d.poll).map(([k, v]) => [`poll.${k}`, v] as [string, unknown]),
      ['api.url', '""'],
      ['api.token', '""'],
      ...Object.entries(d.serve).map(([k, v]) => [`serve.${k}`, v] as [string, unknown]),
    ];
    expect(d.dbUrl).toBe('');
    expect(d.api).toEqual({ url: '', token: '' });
    expect(d.webhooks).toEqual({});
    for (const [key, value] of scalars) expect(documented.get(key), key).toBe(String(value));
    expect([...documented.keys()].sort()).toEqual(
      ['stateDir', 'hosts', 'webhooks', ...scalars.map(([k]) => k)].sort(),
    );
  });

  it('the env table is the allow-list', () => {
    const rows = table('variable').map(([v, k, f]) => [v, k, f || undefined]);
    expect(rows).toEqual(OVERRIDES.map((o) => [o.env, keyPath(o.key), o.flag]));
  });
});
