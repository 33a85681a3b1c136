import type { Command } from '@commander-js/extra-typings';
import type { RunOutcome } from '../monitor/run.js';
import type { Sink } from '../monitor/sinks/sink.js';
import { act, type CliContext } from './context.js';

const AFTER = `
Put -- before the command so that its own options are not read as berth's:
  berth run --job-key train-1 -- python train.py --epochs 10

Exit status: the command's own (death by signal n gives 128+n).
Events go to the outbox first (docs/monitor.md), then to the database (unless --no-db),
the API (api.url and api.token in berth.yaml, or BERTH_API_URL, BERTH_API_TOKEN) and
webhooks (webhooks.<name> in berth.yaml, or BERTH_WEBHOOK_URL; docs/webhooks.md).`;

export async function register(program: Command, ctx: CliContext): Promise<void> {
  program
    .command('run')
    .description(
      'run a command under the monitor: lifecycle events, forwarded signals, exact exit code',
    )
    .usage('[options] -- <command...>')
    .argument('<command...>', 'the command and its arguments')
    .option(
      '--job-key <key>',
      'key the events are recorded under (default: <host>:<SLURM job id>, or a new local id)',
    )
    .option('--no-db', 'do not write events to the database (they still go to the outbox)')
    .option(
      '--grace <seconds>',
      'seconds between SIGTERM and SIGKILL (default 30; 25 inside SLURM)',
    )
    .option('--heartbeat <seconds>', 'record a HEARTBEAT event every so many seconds')
    .option(
      '--outbox <file>',
      'outbox file (default: $BERTH_OUTBOX_DIR, the job dir, or the state dir)',
    )
    .addHelpText('after', AFTER)
    .action(
      act(ctx, async (flags, command, opts) => {
        const { parseSeconds } = await import('./args.js');
        const grace = opts.grace === undefined ? undefined : parseSeconds('--grace', opts.grace);
        const heartbeat =
          opts.heartbeat === undefined ? undefined : parseSeconds('--heartbeat', opts.heartbeat);
        const { validateJobKey } = await import('../monitor/events.js');
        if (opts.jobKey !== undefined) validateJobKey(opts.jobKey);
        const warn = (text: string) => ctx.io.err(`berth run: ${text}`);
        const { stateDir, sinks } = await monitorSetup(ctx, { db: opts.db, warn });
        const { runMonitored } = await import('../monitor/run.js');
        const result = await runMonitored({
          argv: command,
          env: ctx.env,
          cwd: ctx.cwd,
          stateDir,
          sinks,
          onWarning: warn,
          stopSelfOnTstp: process.stdin.isTTY === true,
          ...(opts.jobKey ? { jobKey: opts.jobKey } : {}),
          ...(opts.outbox ? { outbox: opts.outbox } : {}),
          ...(grace === undefined ? {} : { graceSeconds: grace }),
          ...(heartbeat === undefined ? {} : { heartbeatSeconds: heartbeat }),
        });
        report(ctx, flags.json === true, result);
        return result.exitCode;
      }),
    );
}

function report(ctx: CliContext, json: boolean, r: RunOutcome): void {
  const waiting = r.delivery.filter((d) => d.pending > 0);
  if (json) {
    const { events, ...rest } = r;
    ctx.io.out(JSON.stringify({ ...rest, events: events.length }, null, 2));
    return;
  }
  if (waiting.length > 0) {
    const list = waiting.map((d) => `${d.sink} (${d.pending})`).join(', ');
    ctx.io.err(
      `berth run: events wait in ${r.outbox} for ${list}; deliver them later with: berth events flush`,
    );
  }
}

/**
 * The state dir and the sinks for a run or a flush, from the configuration (berth.yaml, the
 * user file, BERTH_* variables). For a run, a broken configuration or sink setting is a
 * warning, never a reason not to run the command: it falls back to the environment alone.
 */
export async function monitorSetup(
  ctx: CliContext,
  o: { db: boolean; warn: (t: string) => void; strict?: boolean },
): Promise<{ stateDir: string; sinks: Sink[] }> {
  const { stateDir: envStateDir } = await import('../config/paths.js');
  const sinkConfig = await import('../monitor/sinks/config.js');
  let stateDir = envStateDir(ctx.env);
  let dbUrl = ctx.env.BERTH_DB_URL || undefined;
  let remote: ReturnType<typeof sinkConfig.sinkSettingsFromEnv> | undefined;
  let config: import('../config/index.js').ResolvedConfig | undefined;
  try {
    const { loadConfig } = await import('../config/index.js');
    config = loadConfig({ cwd: ctx.cwd, env: ctx.env });
    stateDir = config.stateDir;
    dbUrl = config.dbUrl || undefined;
  } catch (e) {
    if (o.strict) throw e;
    o.warn(`configuration not read (${(e as Error).message}); using the environment only`);
  }
  try {
    remote = config
      ? sinkConfig.sinkSettingsFromConfig(config, config.sources)
      : sinkConfig.sinkSettingsFromEnv(ctx.env);
  } catch (e) {
    if (o.strict) throw e;
    o.warn(`${(e as Error).message}; the API and webhook sinks are off for this run`);
    remote = { api: null, webhooks: [] };
  }
  const store = o.db
    ? { env: ctx.env, stateDir, cwd: ctx.cwd, ...(dbUrl ? { url: dbUrl } : {}) }
    : null;
  return { stateDir, sinks: sinkConfig.createSinks({ store, ...remote }) };
}
