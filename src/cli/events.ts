import type { Command } from '@commander-js/extra-typings';
import { UsageError } from '../core/errors.js';
import type { FlushReport } from '../monitor/flush.js';
import { act, type CliContext } from './context.js';
import type { ListFlags } from './job-list.js';
import { emit } from './output.js';
import { monitorSetup } from './run.js';
import { withStore } from './store.js';

type EventRow = {
  id: string;
  jobKey: string;
  type: string;
  at: number;
  data: Record<string, unknown>;
};

/** `--since`: an ISO date/time, epoch ms, or a duration back from now (`90s`, `2h`, `1d`). */
export async function parseSince(text: string, now = Date.now()): Promise<number> {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const at = Date.parse(text);
    if (!Number.isNaN(at)) return at;
  }
  if (/^\d{12,}$/.test(text)) return Number(text);
  const { parseDuration } = await import('../core/duration.js');
  return now - parseDuration(text) * 1000;
}

async function eventLine(e: EventRow): Promise<string> {
  const { formatTime, describeEvent } = await import('../monitor/timeline.js');
  return `${formatTime(e.at)}  ${e.jobKey}  ${e.type.padEnd(11)}  ${describeEvent(e)}`.trimEnd();
}

export async function register(program: Command, ctx: CliContext): Promise<void> {
  const events = program
    .command('events')
    .description('lifecycle events from the store; `events flush` delivers what waits in outboxes')
    .argument('[job]', 'only this job key')
    .option('--type <types>', 'only these event types (comma-separated)')
    .option('--since <when>', 'only events since a time (ISO) or for a duration back (2h, 1d)')
    .option('--limit <n>', 'at most this many events', '1000')
    .option('-f, --follow', 'keep printing new events (polls the store every second)')
    .action(
      act(ctx, async (flags, job, opts) => {
        const { parseEventTypes } = await import('../monitor/sinks/webhook.js');
        const types = opts.type ? parseEventTypes(opts.type, '--type') : undefined;
        const since = opts.since ? await parseSince(opts.since) : undefined;
        const limit = positiveInt('--limit', opts.limit);
        const { listEvents } = await import('../store/index.js');
        return withStore(ctx, async (store) => {
          const query = {
            ...(job ? { jobKey: job } : {}),
            ...(types ? { types } : {}),
            limit,
          };
          const first = await listEvents(store.db, { ...query, ...(since ? { since } : {}) });
          if (!opts.follow) {
            if (flags.json) ctx.io.out(JSON.stringify(first, null, 2));
            else for (const e of first) ctx.io.out(await eventLine(e));
            return 0;
          }
          return follow(ctx, flags.json === true, first, async (from) =>
            listEvents(store.db, { ...query, since: from }),
          );
        });
      }),
    );

  events
    .command('flush')
    .description('deliver every pending outbox event to its sinks (database, API, webhook)')
    .option('--dir <dir...>', 'also look for outboxes here (*.jsonl and */outbox.jsonl)')
    .option('--outbox <file...>', 'also flush these outbox files')
    .option('--no-db', 'leave the database out')
    .action(
      act(ctx, async (flags, opts) => {
        const { stateDir, sinks } = await monitorSetup(ctx, {
          db: opts.db,
          warn: (t) => ctx.io.err(`berth events flush: ${t}`),
          strict: true,
        });
        const { defaultOutboxDirs, findOutboxes, flushOutboxes } = await import(
          '../monitor/flush.js'
        );
        const dirs = [...defaultOutboxDirs(ctx.env, stateDir), ...(opts.dir ?? [])];
        const outboxes = findOutboxes(dirs, opts.outbox ?? []);
        try {
          const report = await flushOutboxes(outboxes, sinks);
          emit(ctx.io, flags, report, renderFlush);
          return report.sinks.some((s) => s.pending > 0) ? 4 : 0;
        } finally {
          await Promise.all(sinks.map((s) => s.close()));
        }
      }),
    );

  const { listCommand, listOptions, showCommand } = await import('./job-list.js');
  const jobs = listOptions(
    program
      .command('jobs')
      .description(
        'jobs berth knows (monitored runs and submitted jobs), most recently updated first; `jobs show KEY` for a timeline',
      ),
  ).action(act(ctx, (flags, opts) => listCommand(ctx, flags, opts as ListFlags, 'records')));

  jobs
    .command('show')
    .description("a job's timeline: its row and every event")
    .argument('<key>', 'job key')
    .action(act(ctx, (flags, key) => showCommand(ctx, flags, key)));
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new UsageError(`${flag} expects a positive whole number, got ${JSON.stringify(value)}`, {
      hint: `for example ${flag} 50`,
    });
  }
  return n;
}

async function follow(
  ctx: CliContext,
  json: boolean,
  first: EventRow[],
  fetch: (since: number) => Promise<EventRow[]>,
): Promise<number> {
  const seen = new Set<string>();
  let since = 0;
  const print = async (list: EventRow[]) => {
    for (const e of list) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      since = Math.max(since, e.at);
      ctx.io.out(json ? JSON.stringify(e) : await eventLine(e));
    }
  };
  await print(first);
  if (since === 0) since = Date.now() - 60_000;
  let stop = false;
  const onInt = () => {
    stop = true;
  };
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onInt);
  try {
    while (!stop) {
      await new Promise((r) => setTimeout(r, 1000));
      if (!stop) await print(await fetch(since));
    }
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onInt);
  }
  return 130;
}

function renderFlush(r: FlushReport): string {
  const lines = [
    `${r.outboxes} outbox(es), ${r.events} event(s)${r.skipped ? `, ${r.skipped} unreadable line(s)` : ''}`,
  ];
  for (const s of r.sinks) {
    lines.push(`${s.sink}: ${s.delivered} delivered, ${s.pending} pending`);
    for (const e of s.errors) lines.push(`  ${e}`);
  }
  if (r.sinks.length === 0)
    lines.push(
      'no sinks configured (database off, no api.url, no webhooks: docs/configuration.md)',
    );
  if (r.retired) lines.push(`${r.retired} finished outbox(es) fully delivered`);
  return lines.join('\n');
}
