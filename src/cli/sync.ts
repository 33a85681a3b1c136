import type { Command } from '@commander-js/extra-typings';
import type { SyncOptions, SyncResult } from '../sync/index.js';
import { act, type CliContext } from './context.js';
import { emit, processIo } from './output.js';

const collect = (value: string, previous: string[]) => [...previous, value];

interface SyncFlags {
  host?: string;
  to?: string;
  exclude: string[];
  defaultExcludes: boolean;
  delete?: boolean;
  dryRun?: boolean;
  checksum?: boolean;
  progress: boolean;
}

const HELP = `
Defaults: the local side is the project directory (where berth.yaml is, else the current
directory); the remote side is <host root>/<project directory name>. Always excluded (unless
--no-default-excludes): .git/ node_modules/ __pycache__/ and the patterns in .berthignore.
Transfers use the host's ssh master (no new login); remote paths never pass through a shell.`;

export async function register(program: Command, ctx: CliContext): Promise<void> {
  const sync = program
    .command('sync')
    .description('mirror a directory to or from a host with rsync (push, pull)');

  for (const direction of ['push', 'pull'] as const) {
    sync
      .command(direction)
      .description(
        direction === 'push'
          ? 'copy a local directory to a host'
          : 'copy a directory from a host to this machine',
      )
      .argument(
        direction === 'push' ? '[local]' : '[remote]',
        direction === 'push'
          ? 'local directory (default: the project directory)'
          : 'directory on the host (default: <root>/<project>)',
      )
      .option('--host <name>', 'host (default: the configured default host)')
      .option(
        '--to <path>',
        direction === 'push'
          ? 'directory on the host (default: <root>/<project>)'
          : 'local directory (default: the project directory)',
      )
      .option('--exclude <pattern>', 'rsync exclude pattern (repeatable)', collect, [])
      .option(
        '--no-default-excludes',
        'do not exclude .git/ node_modules/ __pycache__/ .berthignore',
      )
      .option('--delete', 'delete files on the receiving side that the sending side lacks')
      .option('--dry-run', 'change nothing; list what would change')
      .option('--checksum', 'compare files by checksum, not size and time (reads every file)')
      .option('--no-progress', 'no progress line on stderr')
      .addHelpText('after', HELP)
      .action(
        act(ctx, async (flags, operand, options) => {
          const o = options as unknown as SyncFlags;
          if (o.host !== undefined) (await import('../core/names.js')).validateName('host', o.host);
          const { loadConfig } = await import('../config/index.js');
          const { syncPull, syncPush, formatProgress } = await import('../sync/index.js');
          const config = loadConfig({ cwd: ctx.cwd, env: ctx.env });
          const tty = ctx.io === processIo && Boolean(process.stderr.isTTY);
          const showProgress = o.progress && tty && !flags.json;
          let shown = false;
          const opts: SyncOptions = {
            cwd: ctx.cwd,
            excludes: o.exclude,
            defaultExcludes: o.defaultExcludes,
            delete: o.delete === true,
            dryRun: o.dryRun === true,
            checksum: o.checksum === true,
            ...(o.host ? { host: o.host } : {}),
            ...(showProgress
              ? {
                  onProgress: (p) => {
                    shown = true;
                    process.stderr.write(`\r\x1b[K${formatProgress(p)}`);
                  },
                }
              : {}),
          };
          if (direction === 'push') {
            if (operand !== undefined) opts.local = operand;
            if (o.to !== undefined) opts.remote = o.to;
          } else {
            if (operand !== undefined) opts.remote = operand;
            if (o.to !== undefined) opts.local = o.to;
          }
          let r: SyncResult;
          try {
            r = direction === 'push' ? await syncPush(config, opts) : await syncPull(config, opts);
          } finally {
            if (shown) process.stderr.write('\r\x1b[K');
          }
          emit(ctx.io, flags, r, render);
          return 0;
        }),
      );
  }
}

function render(r: SyncResult): string {
  const arrow =
    r.direction === 'push'
      ? `${r.local} -> ${r.host}:${r.remote}`
      : `${r.host}:${r.remote} -> ${r.local}`;
  const lines = r.changes
    .filter((c) => c.action !== 'attrs' || c.type !== 'dir')
    .map((c) => `${c.item.padEnd(11)} ${c.path}`);
  const verb = r.dryRun ? 'would transfer' : 'transferred';
  lines.push(
    `${r.dryRun ? '(dry run) ' : ''}${arrow}: ${verb} ${r.filesTransferred} file(s), ${r.bytesTransferred} bytes` +
      `${r.deleted.length ? `, ${r.dryRun ? 'would delete' : 'deleted'} ${r.deleted.length}` : ''} in ${(r.durationMs / 1000).toFixed(1)} s`,
  );
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
