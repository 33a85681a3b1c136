import type { Command } from '@commander-js/extra-typings';
import { isBerthError, NotFoundError, UsageError } from '../core/errors.js';
import type {
  OpenedSessions,
  SessionSpec,
  SessionStatus,
  StartResult,
  StatusDetail,
  StopResult,
} from '../sessions/index.js';
import { act, type CliContext } from './context.js';
import { emit, reportError } from './output.js';
import { renderTable } from './table.js';

async function withSessions<T>(ctx: CliContext, fn: (s: OpenedSessions) => Promise<T>): Promise<T> {
  const { openSessions } = await import('../sessions/index.js');
  const s = await openSessions({ cwd: ctx.cwd, env: ctx.env });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

async function grace(value: string | undefined): Promise<number | undefined> {
  if (value === undefined) return undefined;
  const { parseSeconds } = await import('./args.js');
  return parseSeconds('--grace', value);
}

export async function register(program: Command, ctx: CliContext): Promise<void> {
  const session = program
    .command('session')
    .description(
      'long-lived tmux sessions from YAML specs: start, list, status, attach, logs, stop',
    );

  session
    .command('start')
    .description(
      'start sessions from spec files or by name (found in BERTH_SESSION_DIRS, ~/.config/berth/sessions)',
    )
    .argument('[specs...]', 'spec files (path or *.yaml) or session names')
    .option('--all', 'start every spec found in the session directories (running ones are skipped)')
    .option('--force', 'stop a running session first and start it again')
    .option(
      '--grace <seconds>',
      'with --force: how long a stopping command gets before it is killed',
    )
    .action(
      act(ctx, async (flags, specs, opts) => {
        const { loadSpecArg, discoverAll } = await import('../sessions/index.js');
        if (!opts.all && specs.length === 0) {
          throw new UsageError('name the sessions to start, or give --all', {
            hint: 'berth session start train.yaml | berth session start NAME | berth session start --all',
          });
        }
        const graceS = await grace(opts.grace);
        return withSessions(ctx, async ({ service }) => {
          const where = { cwd: ctx.cwd, env: ctx.env };
          // Every spec is checked before anything starts: a bad one starts nothing.
          const loaded = opts.all ? discoverAll(where) : [];
          for (const arg of specs) loaded.push(await specFor(service, arg, where, loadSpecArg));
          const results: Array<StartResult | { name: string; error: Record<string, unknown> }> = [];
          let code = 0;
          for (const spec of loaded) {
            try {
              results.push(
                await service.start(spec, {
                  force: opts.force === true,
                  skipRunning: opts.all === true && !opts.force,
                  ...(graceS === undefined ? {} : { graceS }),
                }),
              );
            } catch (e) {
              if (!isBerthError(e) || loaded.length === 1) throw e;
              code ||= reportError(ctx.io, { ...flags, json: false }, e);
              results.push({ name: spec.name, error: e.toJSON() });
            }
          }
          emit(ctx.io, flags, results, renderStarts);
          return code;
        });
      }),
    );

  session
    .command('list')
    .description('every session berth started, with its state (applies restart policies)')
    .option('--host <name>', 'only sessions on this host')
    .action(
      act(ctx, async (flags, opts) => {
        const { lookAt } = await import('../sessions/index.js');
        return withSessions(ctx, async ({ service }) => {
          const records = (await service.records()).filter(
            (r) => !opts.host || r.host === opts.host,
          );
          emit(ctx.io, flags, await lookAt(service, records), renderList);
          return 0;
        });
      }),
    );

  session
    .command('status')
    .description(
      'one session in detail: state, exit code, CPU and memory, runs (applies its restart policy)',
    )
    .argument('<name>', 'session name')
    .action(
      act(ctx, async (flags, name) => {
        const { statusOf } = await import('../sessions/index.js');
        return withSessions(ctx, async ({ service }) => {
          emit(ctx.io, flags, await statusOf(service, name), renderStatus);
          return 0;
        });
      }),
    );

  session
    .command('attach')
    .description('attach this terminal to the session (detach: the tmux prefix, then d)')
    .argument('<name>', 'session name')
    .option('--read-only', 'watch without typing into it')
    .action(
      act(ctx, async (flags, name, opts) => {
        if (!process.stdin.isTTY) {
          throw new UsageError('attach needs a terminal', {
            hint: `read the screen with berth session logs ${name} --screen instead`,
          });
        }
        return withSessions(ctx, async ({ service }) => {
          const exitCode = await service.attach(name, { readOnly: opts.readOnly === true });
          if (flags.json) emit(ctx.io, flags, { name, exitCode }, () => '');
          return exitCode;
        });
      }),
    );

  session
    .command('logs')
    .description("a session's output: the log of its newest run (or --run), or its screen")
    .argument('<name>', 'session name')
    .option('-n, --lines <n>', 'how many lines from the end', '100')
    .option('-f, --follow', 'keep printing until the command ends (Ctrl-C stops)')
    .option('--run <id>', 'a run id (berth session status lists them)')
    .option('--screen', 'print what is on the screen now (tmux capture-pane) instead')
    .action(
      act(ctx, async (flags, name, opts) => {
        const lines = Number(opts.lines);
        if (!Number.isInteger(lines) || lines < 0) {
          throw new UsageError(
            `-n expects a whole number of lines, got ${JSON.stringify(opts.lines)}`,
          );
        }
        return withSessions(ctx, async ({ service }) => {
          if (opts.screen) {
            const screen = await service.screen(name, lines);
            emit(ctx.io, flags, { name, screen }, (v) => v.screen.replace(/\n+$/, ''));
            return 0;
          }
          const ac = new AbortController();
          const stop = () => ac.abort();
          process.once('SIGINT', stop);
          const collected: string[] = [];
          try {
            const onLine = (line: string) => {
              if (!flags.json) ctx.io.out(line);
              else if (opts.follow) ctx.io.out(JSON.stringify({ line }));
              else collected.push(line);
            };
            const where = await service.logs(
              name,
              { lines, follow: opts.follow === true, runId: opts.run, signal: ac.signal },
              onLine,
            );
            if (flags.json && !opts.follow)
              ctx.io.out(JSON.stringify({ ...where, lines: collected }, null, 2));
          } finally {
            process.off('SIGINT', stop);
          }
          return 0;
        });
      }),
    );

  session
    .command('stop')
    .description('stop sessions: TERM to the command, then (after --grace) the tmux session ends')
    .argument('[names...]', 'session names')
    .option('--all', 'stop every session berth started (and nothing else)')
    .option('--grace <seconds>', 'how long the command gets to exit after TERM', '10')
    .action(
      act(ctx, async (flags, names, opts) => {
        if (!opts.all && names.length === 0) {
          throw new UsageError('name the sessions to stop, or give --all');
        }
        const { validateName } = await import('../core/names.js');
        for (const n of names) validateName('session', n);
        const graceS = await grace(opts.grace);
        return withSessions(ctx, async ({ service }) => {
          const stopped = await service.stop(opts.all ? 'all' : names, { graceS });
          emit(ctx.io, flags, stopped, renderStops);
          return 0;
        });
      }),
    );

  session
    .command('restart')
    .description('stop a session and start it again (its spec file is read again when it has one)')
    .argument('<name>', 'session name')
    .option('--grace <seconds>', 'how long the command gets to exit after TERM', '10')
    .action(
      act(ctx, async (flags, name, opts) => {
        const { loadSpecFile } = await import('../sessions/index.js');
        const { existsSync } = await import('node:fs');
        const graceS = await grace(opts.grace);
        return withSessions(ctx, async ({ service }) => {
          const rec = await service.record(name);
          const file = rec.spec.source;
          const spec = file && existsSync(file) ? loadSpecFile(file) : undefined;
          const started = await service.restart(name, spec?.name === name ? spec : undefined, {
            ...(graceS === undefined ? {} : { graceS }),
          });
          emit(ctx.io, flags, started, (r) => renderStarts([r]));
          return 0;
        });
      }),
    );
}

/** A spec argument: a file, a discovered name, or (failing those) the record's own spec. */
async function specFor(
  service: OpenedSessions['service'],
  arg: string,
  where: { cwd: string; env: NodeJS.ProcessEnv },
  loadSpecArg: (arg: string, o: { cwd: string; env: NodeJS.ProcessEnv }) => SessionSpec,
): Promise<SessionSpec> {
  try {
    return loadSpecArg(arg, where);
  } catch (e) {
    if (!(e instanceof NotFoundError) || arg.includes('/') || /\.ya?ml$/i.test(arg)) throw e;
    const { getSession } = await import('../sessions/records.js');
    const rec = await getSession(service.db, arg);
    if (!rec) throw e;
    return rec.spec;
  }
}

function ago(ms: number | null, now = Date.now()): string {
  if (ms === null) return '-';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  if (s < 172_800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}

function stateText(s: SessionStatus): string {
  if (s.state === 'running') return s.stale ? 'running (stale)' : 'running';
  if (s.state === 'exited' || s.state === 'stopped') return `${s.state} (${s.exitCode ?? '?'})`;
  return s.state;
}

function renderStarts(
  rows: Array<StartResult | { name: string; error: Record<string, unknown> }>,
): string {
  return renderTable(
    ['NAME', 'HOST', 'RESULT', 'RUN', 'LOG'],
    rows.map((r) =>
      'error' in r
        ? [r.name, '-', `failed: ${String(r.error.error)}`, '-', '-']
        : [
            r.name,
            r.host,
            !r.started
              ? (r.note ?? 'not started')
              : r.jobId
                ? `submitted (job ${r.jobId})`
                : `started (pid ${r.pid ?? '?'})`,
            r.runId ?? '-',
            r.log ?? '-',
          ],
    ),
  );
}

function renderList(rows: SessionStatus[]): string {
  if (rows.length === 0) return 'no sessions (start one with berth session start SPEC)';
  return renderTable(
    ['NAME', 'HOST', 'RUNTIME', 'STATE', 'STARTED', 'OUTPUT', 'CPU%', 'MEM'],
    rows.map((s) => [
      s.name,
      s.host,
      s.runtime,
      s.restarted ? `${stateText(s)} (restarted)` : stateText(s),
      ago(s.startedAt),
      ago(s.lastOutputAt),
      s.usage ? String(s.usage.cpuPercent) : '-',
      s.usage ? `${s.usage.rssMb}M` : '-',
    ]),
  );
}

function renderStatus(s: StatusDetail): string {
  const time = (ms: number | null) =>
    ms === null ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z');
  const rows: Array<[string, string]> = [
    ['session', s.name],
    ['host', `${s.host} (runtime ${s.runtime})`],
    ['state', stateText(s) + (s.error ? `: ${s.error}` : '')],
    ['wanted', s.desired],
    ['run', s.runId ?? '-'],
    ['started', time(s.startedAt)],
  ];
  if (s.endedAt !== null) rows.push(['ended', time(s.endedAt)]);
  if (s.jobId !== null) rows.push(['job', s.node ? `${s.jobId} on ${s.node}` : s.jobId]);
  if (s.pid !== null) rows.push(['pid', String(s.pid)]);
  if (s.usage) {
    rows.push(['processes', String(s.usage.processes)]);
    rows.push(['cpu', `${s.usage.cpuPercent}% (${s.usage.cpuSeconds} s of CPU time)`]);
    rows.push(['memory', `${s.usage.rssMb} MB resident`]);
  }
  rows.push(['last output', ago(s.lastOutputAt)]);
  if (s.heartbeat)
    rows.push(['heartbeat', `${ago(s.heartbeat.at)} (exit ${s.heartbeat.exitCode})`]);
  if (s.checkpoint) rows.push(['checkpoint', s.checkpoint]);
  rows.push(['restart', `${s.restartPolicy} (${s.restarts} by policy)`]);
  if (s.restarted)
    rows.push([
      'restarted now',
      `run ${s.restarted.previousRunId} ended (${s.restarted.previousExitCode ?? '?'}), new run ${s.restarted.runId}`,
    ]);
  rows.push(['tmux socket', s.socket]);
  if (s.source) rows.push(['spec', s.source]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  if (s.runs.length > 0) {
    lines.push(
      '',
      renderTable(
        ['RUN', 'REASON', 'JOB', 'STARTED', 'ENDED', 'EXIT'],
        s.runs.map((r) => [
          r.runId,
          r.reason,
          r.jobId ?? '-',
          time(r.startedAt),
          time(r.endedAt),
          r.exitCode === null ? '-' : String(r.exitCode),
        ]),
      ),
    );
  }
  return lines.join('\n');
}

function renderStops(rows: StopResult[]): string {
  if (rows.length === 0) return 'no sessions to stop';
  return renderTable(
    ['NAME', 'HOST', 'RUN', 'RESULT'],
    rows.map((r) => [
      r.name,
      r.host,
      r.runId ?? '-',
      r.ended
        ? `stopped (exit ${r.exitCode ?? '?'})`
        : `was not running (exit ${r.exitCode ?? '?'})`,
    ]),
  );
}
