import type { Command } from '@commander-js/extra-typings';
import { act, type CliContext } from './context.js';
import { emit } from './output.js';

const AFTER = `
The script file is read here and never changed. Its own #SBATCH lines apply; flags and the
host's defaults (hosts.<name>.slurm) are written after them, so they win. The script's body
runs under \`berth run\` (exec'd: SLURM's signals reach it), and SUBMITTED, RUNNING and the
end are recorded under <host>:<job id> (or --job-key):
  berth submit --host cluster --time 2h train.sh
  berth submit train.sh data/in.csv "two words" -- --epochs 10
    (the script's arguments, passed on exactly; put -- before the first one that starts with -)
  berth job show cluster:6190
berth on the host: $BERTH_REMOTE_BIN, else \`berth\` on the job's PATH (for the local host,
this very CLI). See docs/monitor.md.`;

interface Flags {
  jobKey?: string;
  dryRun?: boolean;
  db: boolean;
  grace?: string;
}

export async function register(program: Command, ctx: CliContext): Promise<void> {
  const { specOptions, submitOptions } = await import('./job.js');
  submitOptions(
    specOptions(
      program
        .command('submit')
        .description(
          'submit a batch script whose body runs under `berth run` (events from SUBMITTED to the end)',
        )
        .usage('[options] SCRIPT [ARGS...]')
        .argument('<script>', 'a local batch script (#SBATCH lines are kept)')
        .argument('[args...]', 'arguments for the script, passed on exactly (-- before any -x)'),
    ),
  )
    .option(
      '--job-key <key>',
      'key of the events (default: <host>:<job id>, as berth job stores it)',
    )
    .option('--grace <seconds>', "berth run's grace between SIGTERM and SIGKILL (default 25)")
    .option(
      '--no-db',
      'do not write the SUBMITTED event to the database here (it stays in the outbox)',
    )
    .option('--dry-run', 'print the wrapper batch script and the submit command; submit nothing')
    .addHelpText('after', AFTER)
    .action(
      act(ctx, async (flags, script, args, options) => {
        const job = await import('./job.js');
        const opts = options as unknown as import('./job.js').SpecFlags &
          import('./job.js').SubmitFlags &
          Flags;
        if (opts.jobKey !== undefined) {
          (await import('../monitor/events.js')).validateJobKey(opts.jobKey);
        }
        const runArgs: string[] = [];
        if (opts.grace !== undefined) {
          const { parseSeconds } = await import('./args.js');
          runArgs.push('--grace', String(parseSeconds('--grace', opts.grace)));
        }
        const d = await job.session(ctx, opts.host);
        try {
          const layer = await job.specLayer(ctx, opts, [script], false);
          Object.assign(layer, job.submitExtras(opts));
          const { script: text, ...spec } = layer;
          const { resolve } = await import('node:path');
          const host = await d.host(opts.host);
          const input = {
            host: host.name,
            script: String(text),
            scriptPath: resolve(ctx.cwd, script),
            spec,
            berth: await berthArgv(ctx, host.runner.kind),
            ...(opts.jobKey !== undefined ? { jobKey: opts.jobKey } : {}),
            ...(runArgs.length ? { runArgs } : {}),
            ...(args.length ? { args } : {}),
          };
          const lib = await import('../monitor/submit.js');
          if (opts.dryRun) {
            emit(ctx.io, flags, await lib.planScript(d, input), (p) =>
              [
                p.script.trimEnd(),
                '',
                ...p.submissions.map((s) => `# submit: ${s.argv.join(' ')}`),
              ].join('\n'),
            );
            return 0;
          }
          const { monitorSetup } = await import('./run.js');
          const warn = (t: string) => ctx.io.err(`berth submit: ${t}`);
          const { stateDir, sinks } = await monitorSetup(ctx, { db: opts.db, warn });
          try {
            const r = await lib.submitScript(d, input, {
              sinks,
              env: ctx.env,
              stateDir,
              cwd: ctx.cwd,
            });
            for (const s of r.delivery) {
              if (s.pending > 0)
                warn(`${s.sink}: ${s.error ?? 'not delivered'}; SUBMITTED waits in ${r.outbox}`);
            }
            emit(ctx.io, flags, r, (x) => x.jobKey);
            return 0;
          } finally {
            await Promise.all(sinks.map((s) => s.close()));
          }
        } finally {
          await d.close();
        }
      }),
    );
}

/**
 * How the job starts berth on the host: BERTH_REMOTE_BIN (one path), else for the local
 * host this CLI itself (node and its entry script: the compute nodes share the filesystem),
 * else `berth` on the job's PATH.
 */
async function berthArgv(ctx: CliContext, runnerKind: string): Promise<string[]> {
  const given = ctx.env.BERTH_REMOTE_BIN?.trim();
  if (given) return [given];
  const entry = process.argv[1];
  if (runnerKind === 'local' && entry) {
    const { realpathSync } = await import('node:fs');
    try {
      return [process.execPath, realpathSync(entry)];
    } catch {
      return ['berth'];
    }
  }
  return ['berth'];
}
