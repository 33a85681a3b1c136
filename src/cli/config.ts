import { statSync } from 'node:fs';
import type { Command } from '@commander-js/extra-typings';
import type { ConfigFileInfo, ResolvedConfig } from '../config/index.js';
import { keyPath, SECRET_KEYS } from '../config/keys.js';
import { act, type CliContext } from './context.js';
import { emit } from './output.js';
import { renderTable } from './table.js';

/** What `berth config show --json` prints (dbUrl with its password masked). */
export interface ConfigShow {
  config: Omit<ResolvedConfig, 'sources' | 'files' | 'ignoredEnv'>;
  sources: Record<string, string>;
  files: ConfigFileInfo[];
  ignoredEnv: string[];
}

export async function register(program: Command, ctx: CliContext): Promise<void> {
  const config = program
    .command('config')
    .description(
      'the configuration cascade: flags > BERTH_* env > berth.yaml > user file > defaults',
    );

  config
    .command('show')
    .description('print the resolved configuration and where each value came from')
    .option('--state-dir <dir>', 'as other commands would get it (flag layer)')
    .option('--db-url <url>', 'as other commands would get it (flag layer)')
    .option('--host <name>', 'default host, as other commands would get it (flag layer)')
    .option('--log-level <level>', 'as other commands would get it (flag layer)')
    .option('--ssh-connect-timeout <seconds>', 'as other commands would get it (flag layer)')
    .action(
      act(ctx, async (flags, opts) => {
        const { loadConfig, plainConfig, redactConfig } = await import('../config/index.js');
        const resolved = loadConfig({ cwd: ctx.cwd, env: ctx.env, flags: opts });
        const shown: ConfigShow = {
          config: redactConfig(plainConfig(resolved)),
          sources: resolved.sources,
          files: resolved.files,
          ignoredEnv: resolved.ignoredEnv,
        };
        emit(ctx.io, flags, shown, renderShow);
        if (!flags.json) {
          for (const name of shown.ignoredEnv) {
            ctx.io.err(
              `note: ${name} is not a configuration variable; the configuration ignores it`,
            );
          }
        }
        for (const note of readableSecrets(resolved.sources)) ctx.io.err(`note: ${note}`);
        return 0;
      }),
    );

  config
    .command('path')
    .description('list the configuration files berth reads, and whether each exists')
    .action(
      act(ctx, async (flags) => {
        const { configFiles } = await import('../config/index.js');
        const files = configFiles({ cwd: ctx.cwd, env: ctx.env });
        emit(ctx.io, flags, { files }, (v) =>
          renderTable(
            ['LAYER', 'PATH', 'EXISTS'],
            v.files.map((f) => [f.layer, f.path, f.exists ? 'yes' : 'no']),
          ),
        );
        return 0;
      }),
    );
}

/** Aligned `key  value  source` rows, one per leaf key. Pure. */
export function renderShow(shown: ConfigShow): string {
  const rows: string[][] = [];
  for (const [path, value] of leaves(shown.config, [])) {
    const key = keyPath(path);
    rows.push([key, valueText(value), shown.sources[key] ?? '']);
  }
  return renderTable(['KEY', 'VALUE', 'SOURCE'], rows);
}

function* leaves(value: unknown, path: string[]): Generator<[string[], unknown]> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) yield* leaves(v, [...path, k]);
  } else yield [path, value];
}

function valueText(value: unknown): string {
  if (typeof value === 'string') return value === '' ? '""' : value;
  if (Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}

/**
 * Secrets (`api.token`, `webhooks.*.secret`) that come from a file other users can read:
 * one note each (on stderr, also with --json), so a shared project berth.yaml does not
 * quietly carry a token.
 */
export function readableSecrets(sources: Record<string, string>): string[] {
  const notes: string[] = [];
  for (const [key, source] of Object.entries(sources)) {
    if (!SECRET_KEYS.has(key.split('.').at(-1) ?? '')) continue;
    const m = /^(user|project):(.*)$/s.exec(source);
    if (!m) continue;
    let mode: number;
    try {
      mode = statSync(m[2]!).mode & 0o777;
    } catch {
      continue;
    }
    if ((mode & 0o077) === 0) continue;
    notes.push(
      `${key} comes from ${m[2]}, which other users can read (mode ${mode.toString(8)}); keep secrets in a mode-600 user file or the environment`,
    );
  }
  return notes;
}
