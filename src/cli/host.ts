import type { Command } from '@commander-js/extra-typings';
import type { HostCheck } from '../host/check.js';
import { act, type CliContext } from './context.js';
import { emit } from './output.js';
import { renderTable } from './table.js';

export async function register(program: Command, ctx: CliContext): Promise<void> {
  const host = program.command('host').description('configured hosts: list them, check one');

  host
    .command('list')
    .description('list configured hosts (no connection is made)')
    .action(
      act(ctx, async (flags) => {
        const { loadConfig } = await import('../config/index.js');
        const config = loadConfig({ cwd: ctx.cwd, env: ctx.env });
        const rows = Object.entries(config.hosts).map(([name, p]) => ({
          name,
          transport: p.ssh ? 'ssh' : 'local',
          target: p.ssh ?? null,
          scheduler: p.scheduler,
          root: p.root ?? null,
        }));
        emit(ctx.io, flags, rows, (r) =>
          renderTable(
            ['NAME', 'TRANSPORT', 'TARGET', 'SCHEDULER', 'ROOT'],
            r.map((h) => [h.name, h.transport, h.target ?? '-', h.scheduler, h.root ?? '-']),
          ),
        );
      }),
    );

  host
    .command('check')
    .description('connect to a host and report scheduler, accounting, tmux, rsync and latency')
    .argument('[name]', 'host name from the configuration', 'local')
    .option('--timeout <seconds>', 'give up after this many seconds', '30')
    .action(
      act(ctx, async (flags, name, opts) => {
        const { loadConfig } = await import('../config/index.js');
        const { runnerFor } = await import('../host/connect.js');
        const { checkHost } = await import('../host/check.js');
        const { parseSeconds } = await import('./args.js');
        const config = loadConfig({ cwd: ctx.cwd, env: ctx.env });
        const { runner, profile } = runnerFor(config, name);
        try {
          const report = await checkHost(runner, {
            target: profile.ssh ?? null,
            scheduler: profile.scheduler,
            timeoutMs: parseSeconds('--timeout', opts.timeout) * 1000,
          });
          emit(ctx.io, flags, report, renderCheck);
          return 0;
        } finally {
          await runner.close();
        }
      }),
    );
}

export function renderCheck(c: HostCheck): string {
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const rows: Array<[string, string]> = [
    ['host', c.target ? `${c.host} (ssh ${c.target})` : `${c.host} (local)`],
    ['round trip', `${c.rttMs} ms (first call ${c.probeMs} ms)`],
    ['scheduler', `${c.scheduler} (${c.schedulerSource})`],
  ];
  if (c.slurm.present) {
    rows.push(['slurm version', c.slurm.version ?? 'unknown']);
    rows.push(['cluster', c.slurm.clusterName ?? 'unknown']);
    rows.push(['MaxArraySize', String(c.slurm.maxArraySize ?? 'unknown')]);
    rows.push(['accounting', `${yes(c.accounting.available)} (${c.accounting.detail})`]);
  }
  rows.push(['tmux', c.tmux.present ? `yes (${c.tmux.version})` : 'no']);
  rows.push(['rsync', c.rsync.present ? `yes (${c.rsync.version})` : 'no']);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  for (const p of c.problems) lines.push(`warning: ${p}`);
  return lines.join('\n');
}
